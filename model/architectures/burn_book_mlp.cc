#include "model/architectures/burn_book_mlp.h"

#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "model/config_specs.h"
#include "model/modules/activation.h"
#include "model/modules/linear.h"
#include "model/modules/params.h"

namespace ember::model {
namespace {

// Immutable after construction; Forward is thread-safe.
class BurnBookMlp : public CompiledModel {
 public:
  BurnBookMlp(std::unique_ptr<Linear> linear_in,
              std::unique_ptr<Linear> linear_out)
      : linear_in_(std::move(linear_in)),
        linear_out_(std::move(linear_out)),
        activation_(Activation::Kind::kRelu) {}

  absl::StatusOr<std::vector<Tensor>> Forward(
      absl::Span<const Tensor> inputs) const override {
    EMBER_RETURN_IF_ERROR(CheckInputs(this->inputs(), inputs));
    const Tensor& x = inputs[0];
    const int64_t batch = x.dim(0);
    std::vector<float> hidden(batch * linear_in_->d_output());
    linear_in_->Apply(x.data<float>(), batch, hidden.data());
    activation_.Apply(hidden.data(), hidden.size());
    Tensor y = Tensor::Uninitialized(DataType::kFloat32,
                                     {batch, linear_out_->d_output()});
    linear_out_->Apply(hidden.data(), batch, y.mutable_data<float>());
    return std::vector<Tensor>{y};
  }

  int64_t parameter_bytes() const override {
    return linear_in_->parameter_bytes() + linear_out_->parameter_bytes();
  }

  int64_t d_input() const { return linear_in_->d_input(); }
  int64_t d_output() const { return linear_out_->d_output(); }

 private:
  std::unique_ptr<Linear> linear_in_;
  std::unique_ptr<Linear> linear_out_;
  Activation activation_;
};

}  // namespace

absl::StatusOr<std::shared_ptr<const Model>> BuildBurnBookMlp(
    const config::ModelConfig& config, const recorder::Record& record,
    const BuildSource& source) {
  const std::string where =
      absl::StrCat(source.config_path, ": architecture 'burn_book_mlp' on ",
                   source.record_path);
  auto fail = [&](const absl::Status& s) {
    return absl::Status(s.code(), absl::StrCat(where, ": ", s.message()));
  };
  const recorder::Value& item = record.item();
  std::unique_ptr<Linear> layers[2];
  const char* keys[2] = {"linear_in", "linear_out"};
  for (int i = 0; i < 2; ++i) {
    absl::StatusOr<const recorder::Value*> sub =
        FindSubModule(item, "", keys[i]);
    if (!sub.ok()) return fail(sub.status());
    absl::StatusOr<std::unique_ptr<Linear>> linear =
        Linear::Create(**sub, keys[i]);
    if (!linear.ok()) return fail(linear.status());
    layers[i] = std::move(*linear);
  }
  if (layers[0]->d_output() != layers[1]->d_input()) {
    return fail(absl::InvalidArgumentError(absl::StrCat(
        "record path 'linear_in.weight' [", layers[0]->d_input(), ", ",
        layers[0]->d_output(), "] feeds 'linear_out.weight' [",
        layers[1]->d_input(), ", ", layers[1]->d_output(),
        "]: d_output and d_input must agree")));
  }
  auto model =
      std::make_shared<BurnBookMlp>(std::move(layers[0]), std::move(layers[1]));
  EMBER_RETURN_IF_ERROR(model->ResolveIo(
      config, source.config_path,
      {{"input", DataType::kFloat32, {-1, model->d_input()}}},
      {{"output", DataType::kFloat32, {-1, model->d_output()}}}));
  return std::shared_ptr<const Model>(std::move(model));
}

}  // namespace ember::model
