#include "server/triton_config.h"

#include <vector>

#include "gtest/gtest.h"
#include "model/model.h"

namespace ember::server {
namespace {

using model::DataType;
using model::TensorSpec;

// Only the specs matter here; the model never runs.
class SpecsOnly : public model::Model {
 public:
  SpecsOnly(std::vector<TensorSpec> inputs, std::vector<TensorSpec> outputs)
      : inputs_(std::move(inputs)), outputs_(std::move(outputs)) {}
  const std::vector<TensorSpec>& inputs() const override { return inputs_; }
  const std::vector<TensorSpec>& outputs() const override { return outputs_; }
  absl::StatusOr<std::vector<model::Tensor>> Forward(
      absl::Span<const model::Tensor>) const override {
    return absl::UnimplementedError("not run");
  }
  int64_t parameter_bytes() const override { return 0; }

 private:
  std::vector<TensorSpec> inputs_, outputs_;
};

std::vector<int64_t> Dims(const google::protobuf::RepeatedField<int64_t>& d) {
  return std::vector<int64_t>(d.begin(), d.end());
}

TEST(TritonConfigTest, BatchedModelLeavesTheBatchDimensionOut) {
  SpecsOnly model({{"board", DataType::kFloat32, {-1, 42}},
                   {"ids", DataType::kInt64, {-1, 7}}},
                  {{"q", DataType::kFloat32, {-1, 7}}});
  config::ModelConfig config;
  config.set_max_batch_size(64);
  inference::ModelConfig out = ToTritonConfig("connect4", config, model);
  EXPECT_EQ(out.name(), "connect4");
  EXPECT_EQ(out.platform(), "ember_burn");
  EXPECT_EQ(out.backend(), "ember");
  EXPECT_EQ(out.max_batch_size(), 64);
  ASSERT_EQ(out.input_size(), 2);
  EXPECT_EQ(out.input(0).name(), "board");
  EXPECT_EQ(out.input(0).data_type(), inference::TYPE_FP32);
  EXPECT_EQ(Dims(out.input(0).dims()), (std::vector<int64_t>{42}));
  EXPECT_EQ(out.input(1).data_type(), inference::TYPE_INT64);
  ASSERT_EQ(out.output_size(), 1);
  EXPECT_EQ(Dims(out.output(0).dims()), (std::vector<int64_t>{7}));
  // No policy in the config: the newest version, as the daemon serves.
  EXPECT_EQ(out.version_policy().latest().num_versions(), 1u);
}

TEST(TritonConfigTest, WithoutALimitOrABatchAxisShapesAreWhole) {
  SpecsOnly model({{"x", DataType::kFloat32, {-1, 3}}},
                  {{"y", DataType::kFloat32, {-1, 2}}});
  config::ModelConfig unlimited;  // max_batch_size 0: no limit in Ember
  inference::ModelConfig out = ToTritonConfig("m", unlimited, model);
  EXPECT_EQ(out.max_batch_size(), 0);
  EXPECT_EQ(Dims(out.input(0).dims()), (std::vector<int64_t>{-1, 3}));

  // A fixed first dimension is not a batch axis, limit or not.
  SpecsOnly fixed({{"x", DataType::kFloat32, {1, 3}}},
                  {{"y", DataType::kFloat32, {-1, 2}}});
  config::ModelConfig limited;
  limited.set_max_batch_size(8);
  out = ToTritonConfig("m", limited, fixed);
  EXPECT_EQ(out.max_batch_size(), 0);
  EXPECT_EQ(Dims(out.input(0).dims()), (std::vector<int64_t>{1, 3}));
  EXPECT_EQ(Dims(out.output(0).dims()), (std::vector<int64_t>{-1, 2}));
}

TEST(TritonConfigTest, VersionPoliciesCarryOver) {
  SpecsOnly model({{"x", DataType::kFloat32, {-1, 3}}},
                  {{"y", DataType::kFloat32, {-1, 2}}});
  config::ModelConfig config;
  config.mutable_version_policy()->mutable_specific()->add_versions(3);
  config.mutable_version_policy()->mutable_specific()->add_versions(5);
  inference::ModelConfig out = ToTritonConfig("m", config, model);
  EXPECT_EQ(Dims(out.version_policy().specific().versions()),
            (std::vector<int64_t>{3, 5}));
  config.mutable_version_policy()->mutable_all();
  EXPECT_TRUE(ToTritonConfig("m", config, model).version_policy().has_all());
  config.mutable_version_policy()->mutable_latest()->set_num_versions(2);
  EXPECT_EQ(ToTritonConfig("m", config, model)
                .version_policy()
                .latest()
                .num_versions(),
            2u);
}

}  // namespace
}  // namespace ember::server
