#include "model/modules/linear.h"

#include <optional>
#include <utility>

#include "Eigen/Core"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "model/modules/params.h"

namespace ember::model {
namespace {

using RowMatrix =
    Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

}  // namespace

absl::StatusOr<std::unique_ptr<Linear>> Linear::Create(
    const recorder::Value& record, absl::string_view path,
    LinearLayout layout) {
  EMBER_ASSIGN_OR_RETURN(Param weight, LoadParam(record, path, "weight", 2));
  if (layout == LinearLayout::kCol) {
    // Stored [d_output, d_input]: keep the row layout in memory.
    const int64_t rows = weight.dim(0), cols = weight.dim(1);
    if (!weight.shape_only) {
      std::vector<float> transposed(weight.values.size());
      for (int64_t r = 0; r < rows; ++r) {
        for (int64_t c = 0; c < cols; ++c) {
          transposed[c * rows + r] = weight.values[r * cols + c];
        }
      }
      weight.values = std::move(transposed);
    }
    weight.shape = {cols, rows};
  }
  EMBER_ASSIGN_OR_RETURN(std::optional<Param> bias,
                         LoadOptionalParam(record, path, "bias", 1));
  if (bias.has_value()) {
    EMBER_RETURN_IF_ERROR(CheckParamShape(
        *bias, {weight.dim(1)},
        absl::StrCat("weight ", ShapeToString(weight.shape), " (d_output)")));
  }
  std::unique_ptr<Linear> linear(new Linear());
  linear->path_ = std::string(path);
  linear->d_input_ = weight.dim(0);
  linear->d_output_ = weight.dim(1);
  linear->weight_ = std::move(weight.values);
  if (bias.has_value()) linear->bias_ = std::move(bias->values);
  return linear;
}

void Linear::Apply(const float* in, int64_t rows, float* out) const {
  Eigen::Map<const RowMatrix> x(in, rows, d_input_);
  Eigen::Map<const RowMatrix> w(weight_.data(), d_input_, d_output_);
  Eigen::Map<RowMatrix> y(out, rows, d_output_);
  if (bias_.empty()) {
    y.noalias() = x * w;
    return;
  }
  // Starting from the bias and accumulating the product costs one pass
  // less than adding the bias afterwards.
  y.rowwise() = Eigen::Map<const Eigen::RowVectorXf>(bias_.data(), d_output_);
  y.noalias() += x * w;
}

absl::StatusOr<TensorType> Linear::OutputType(
    absl::Span<const TensorType> inputs) const {
  const TensorType& in = inputs[0];
  if (in.type != DataType::kFloat32 || in.shape.empty() ||
      (in.shape.back() >= 0 && in.shape.back() != d_input_)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "input ", TypeToString(in), " does not fit weight '", path_,
        ".weight' [", d_input_, ", ", d_output_,
        "]: the last input axis must be FP32 of size d_input ", d_input_));
  }
  TensorType out = in;
  out.shape.back() = d_output_;
  return out;
}

absl::StatusOr<Tensor> Linear::Forward(absl::Span<const Tensor> inputs) const {
  const Tensor& x = inputs[0];
  std::vector<int64_t> shape = x.shape();
  shape.back() = d_output_;
  Tensor y = Tensor::Uninitialized(DataType::kFloat32, std::move(shape));
  int64_t rows = 1;
  for (int i = 0; i + 1 < x.rank(); ++i) rows *= x.dim(i);
  Apply(x.data<float>(), rows, y.mutable_data<float>());
  return y;
}

int64_t Linear::parameter_bytes() const {
  return (weight_.size() + bias_.size()) * sizeof(float);
}

}  // namespace ember::model
