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
class BurnBookMlp : public Model {
 public:
  BurnBookMlp(std::unique_ptr<Linear> linear_in,
              std::unique_ptr<Linear> linear_out)
      : linear_in_(std::move(linear_in)),
        linear_out_(std::move(linear_out)),
        activation_(Activation::Kind::kRelu) {}

  absl::Status SetSpecs(const config::ModelConfig& config,
                        const std::string& config_path) {
    EMBER_ASSIGN_OR_RETURN(
        inputs_,
        ResolveSpecs(
            config.input(), "input", config_path,
            {{"input", DataType::kFloat32, {-1, linear_in_->d_input()}}}));
    EMBER_ASSIGN_OR_RETURN(
        outputs_,
        ResolveSpecs(
            config.output(), "output", config_path,
            {{"output", DataType::kFloat32, {-1, linear_out_->d_output()}}}));
    return absl::OkStatus();
  }

  const std::vector<TensorSpec>& inputs() const override { return inputs_; }
  const std::vector<TensorSpec>& outputs() const override { return outputs_; }

  absl::StatusOr<std::vector<Tensor>> Forward(
      absl::Span<const Tensor> inputs) const override {
    EMBER_RETURN_IF_ERROR(CheckInputs(inputs_, inputs));
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

 private:
  std::unique_ptr<Linear> linear_in_;
  std::unique_ptr<Linear> linear_out_;
  Activation activation_;
  std::vector<TensorSpec> inputs_;
  std::vector<TensorSpec> outputs_;
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
  EMBER_RETURN_IF_ERROR(model->SetSpecs(config, source.config_path));
  return std::shared_ptr<const Model>(std::move(model));
}

}  // namespace ember::model
