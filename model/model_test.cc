#include "model/model.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "model/tensor.h"

namespace ember::model {
namespace {

// Records the inputs of each Forward and answers with `answer`.
class RecordingModel : public Model {
 public:
  RecordingModel(std::vector<TensorSpec> inputs, absl::Status answer)
      : inputs_(std::move(inputs)), answer_(std::move(answer)) {}

  const std::vector<TensorSpec>& inputs() const override { return inputs_; }
  const std::vector<TensorSpec>& outputs() const override { return outputs_; }
  absl::StatusOr<std::vector<Tensor>> Forward(
      absl::Span<const Tensor> inputs) const override {
    seen_.assign(inputs.begin(), inputs.end());
    ++calls_;
    if (!answer_.ok()) return answer_;
    return std::vector<Tensor>{};
  }
  int64_t parameter_bytes() const override { return 0; }

  mutable std::vector<Tensor> seen_;
  mutable int calls_ = 0;

 private:
  std::vector<TensorSpec> inputs_;
  std::vector<TensorSpec> outputs_;
  absl::Status answer_;
};

TEST(WarmUpTest, RunsOnceOnZerosWithEveryDynamicDimensionOne) {
  RecordingModel model({{"image", DataType::kFloat32, {-1, 1, 28, 28}},
                        {"ids", DataType::kInt64, {-1, -1}}},
                       absl::OkStatus());
  ASSERT_TRUE(WarmUp(model).ok());
  EXPECT_EQ(model.calls_, 1);
  ASSERT_EQ(model.seen_.size(), 2u);
  EXPECT_EQ(model.seen_[0].shape(), (std::vector<int64_t>{1, 1, 28, 28}));
  EXPECT_EQ(model.seen_[0].type(), DataType::kFloat32);
  EXPECT_EQ(model.seen_[1].shape(), (std::vector<int64_t>{1, 1}));
  EXPECT_EQ(model.seen_[1].type(), DataType::kInt64);
  for (int i = 0; i < model.seen_[0].num_elements(); ++i) {
    ASSERT_EQ(model.seen_[0].data<float>()[i], 0.0f);
  }
  EXPECT_TRUE(CheckInputs(model.inputs(), model.seen_).ok());
}

TEST(WarmUpTest, FailureKeepsTheCodeAndNamesTheShapes) {
  RecordingModel model({{"x", DataType::kFloat32, {-1, 3}}},
                       absl::InvalidArgumentError("kernel larger than input"));
  const absl::Status status = WarmUp(model);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(),
            "warm-up inference on zeros (x [1, 3]) failed: kernel larger than "
            "input");
}

TEST(WarmUpTest, OnlyLeadingDimensionsDynamic) {
  EXPECT_TRUE(
      OnlyLeadingDimensionsDynamic({{"a", DataType::kFloat32, {-1, 1, 28, 28}},
                                    {"b", DataType::kFloat32, {4}},
                                    {"c", DataType::kFloat32, {}}}));
  EXPECT_FALSE(
      OnlyLeadingDimensionsDynamic({{"a", DataType::kFloat32, {-1, 4}},
                                    {"seq", DataType::kFloat32, {-1, -1, 1}}}));
}

}  // namespace
}  // namespace ember::model
