#include "model/modules/norm.h"

#include <cmath>
#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "model/modules/params.h"

namespace ember::model {
namespace {

absl::Status CheckEpsilon(double epsilon, absl::string_view path) {
  if (epsilon > 0 && std::isfinite(epsilon)) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      "norm '", path, "': epsilon must be a positive number, got ", epsilon));
}

// Fails unless `in` is FP32 with rank >= `min_rank` and `channels` at
// `axis` (when known).
absl::Status CheckChannels(const TensorType& in, int min_rank, int axis,
                           int64_t channels, absl::string_view what) {
  bool fits = in.type == DataType::kFloat32 &&
              static_cast<int>(in.shape.size()) >= min_rank;
  if (fits) {
    int a = axis < 0 ? in.shape.size() + axis : axis;
    fits = channels < 0 || in.shape[a] < 0 || in.shape[a] == channels;
  }
  if (fits) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("input ", TypeToString(in), " does not fit ", what));
}

}  // namespace

absl::StatusOr<std::unique_ptr<BatchNorm>> BatchNorm::Create(
    const recorder::Value& record, absl::string_view path,
    const NormOptions& options) {
  EMBER_RETURN_IF_ERROR(CheckEpsilon(options.epsilon, path));
  EMBER_ASSIGN_OR_RETURN(Param gamma, LoadParam(record, path, "gamma", 1));
  std::string reference =
      absl::StrCat("'", gamma.path, "' ", ShapeToString(gamma.shape));
  Param others[3];
  const char* keys[3] = {"beta", "running_mean", "running_var"};
  for (int i = 0; i < 3; ++i) {
    EMBER_ASSIGN_OR_RETURN(others[i], LoadParam(record, path, keys[i], 1));
    EMBER_RETURN_IF_ERROR(
        CheckParamShape(others[i], {gamma.dim(0)}, reference));
  }
  std::unique_ptr<BatchNorm> norm(new BatchNorm());
  norm->path_ = std::string(path);
  const int64_t c = gamma.dim(0);
  norm->channels_ = c;
  norm->recorded_bytes_ = 4 * c * sizeof(float);
  if (gamma.shape_only) return norm;
  norm->scale_.resize(c);
  norm->shift_.resize(c);
  for (int64_t i = 0; i < c; ++i) {
    double scale =
        gamma.values[i] /
        std::sqrt(static_cast<double>(others[2].values[i]) + options.epsilon);
    norm->scale_[i] = static_cast<float>(scale);
    norm->shift_[i] =
        static_cast<float>(others[0].values[i] - others[1].values[i] * scale);
  }
  return norm;
}

absl::StatusOr<TensorType> BatchNorm::OutputType(
    absl::Span<const TensorType> inputs) const {
  EMBER_RETURN_IF_ERROR(CheckChannels(
      inputs[0], 2, 1, channels_,
      absl::StrCat("batch_norm '", path_, "' (gamma [", channels_,
                   "]): expected FP32 [batch, ", channels_, ", ...]")));
  return inputs[0];
}

absl::StatusOr<Tensor> BatchNorm::Forward(
    absl::Span<const Tensor> inputs) const {
  const Tensor& x = inputs[0];
  Tensor y = Tensor::Uninitialized(DataType::kFloat32, x.shape());
  const int64_t channels = channels_;
  int64_t inner = 1;
  for (int i = 2; i < x.rank(); ++i) inner *= x.dim(i);
  const float* in = x.data<float>();
  float* out = y.mutable_data<float>();
  for (int64_t b = 0; b < x.dim(0); ++b) {
    for (int64_t c = 0; c < channels; ++c) {
      const int64_t base = (b * channels + c) * inner;
      for (int64_t i = 0; i < inner; ++i) {
        out[base + i] = in[base + i] * scale_[c] + shift_[c];
      }
    }
  }
  return y;
}

int64_t BatchNorm::parameter_bytes() const { return recorded_bytes_; }

absl::StatusOr<std::unique_ptr<LayerNorm>> LayerNorm::Create(
    const recorder::Value& record, absl::string_view path,
    const NormOptions& options) {
  EMBER_RETURN_IF_ERROR(CheckEpsilon(options.epsilon, path));
  EMBER_ASSIGN_OR_RETURN(Param gamma, LoadParam(record, path, "gamma", 1));
  EMBER_ASSIGN_OR_RETURN(std::optional<Param> beta,
                         LoadOptionalParam(record, path, "beta", 1));
  if (beta.has_value()) {
    EMBER_RETURN_IF_ERROR(CheckParamShape(
        *beta, gamma.shape,
        absl::StrCat("'", gamma.path, "' ", ShapeToString(gamma.shape))));
  }
  std::unique_ptr<LayerNorm> norm(new LayerNorm());
  norm->path_ = std::string(path);
  norm->epsilon_ = options.epsilon;
  norm->size_ = gamma.dim(0);
  norm->gamma_ = std::move(gamma.values);
  if (beta.has_value()) norm->beta_ = std::move(beta->values);
  return norm;
}

void LayerNorm::ApplyRows(float* data, int64_t rows) const {
  const int64_t d = size_;
  if (d == 0) return;
  for (int64_t r = 0; r < rows; ++r) {
    float* row = data + r * d;
    double mean = 0;
    for (int64_t i = 0; i < d; ++i) mean += row[i];
    mean /= d;
    double var = 0;
    for (int64_t i = 0; i < d; ++i) var += (row[i] - mean) * (row[i] - mean);
    var /= d;
    const double inv = 1.0 / std::sqrt(var + epsilon_);
    for (int64_t i = 0; i < d; ++i) {
      float v = static_cast<float>((row[i] - mean) * inv) * gamma_[i];
      row[i] = beta_.empty() ? v : v + beta_[i];
    }
  }
}

absl::StatusOr<TensorType> LayerNorm::OutputType(
    absl::Span<const TensorType> inputs) const {
  EMBER_RETURN_IF_ERROR(
      CheckChannels(inputs[0], 1, -1, size_,
                    absl::StrCat("layer_norm '", path_, "' (gamma [", size_,
                                 "]): the last axis must have size ", size_)));
  return inputs[0];
}

absl::StatusOr<Tensor> LayerNorm::Forward(
    absl::Span<const Tensor> inputs) const {
  const Tensor& x = inputs[0];
  Tensor y = Tensor::Uninitialized(DataType::kFloat32, x.shape());
  if (x.num_elements() == 0) return y;
  std::copy(x.data<float>(), x.data<float>() + x.num_elements(),
            y.mutable_data<float>());
  ApplyRows(y.mutable_data<float>(), x.num_elements() / size_);
  return y;
}

int64_t LayerNorm::parameter_bytes() const {
  return (gamma_.size() + beta_.size()) * sizeof(float);
}

absl::StatusOr<std::unique_ptr<GroupNorm>> GroupNorm::Create(
    const recorder::Value& record, absl::string_view path,
    const NormOptions& options) {
  EMBER_RETURN_IF_ERROR(CheckEpsilon(options.epsilon, path));
  if (options.num_groups < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "group_norm '", path, "': num_groups must be set and >= 1"));
  }
  EMBER_ASSIGN_OR_RETURN(std::optional<Param> gamma,
                         LoadOptionalParam(record, path, "gamma", 1));
  EMBER_ASSIGN_OR_RETURN(std::optional<Param> beta,
                         LoadOptionalParam(record, path, "beta", 1));
  if (gamma.has_value() != beta.has_value()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "record path '", path,
        "': gamma and beta must both be present (affine) or both nil"));
  }
  std::unique_ptr<GroupNorm> norm(new GroupNorm());
  norm->path_ = std::string(path);
  norm->epsilon_ = options.epsilon;
  norm->num_groups_ = options.num_groups;
  if (gamma.has_value()) {
    EMBER_RETURN_IF_ERROR(CheckParamShape(
        *beta, gamma->shape,
        absl::StrCat("'", gamma->path, "' ", ShapeToString(gamma->shape))));
    if (gamma->dim(0) % options.num_groups != 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "record path '", gamma->path, "': ", gamma->dim(0),
          " channels are not divisible into num_groups ", options.num_groups));
    }
    norm->channels_ = gamma->dim(0);
    norm->gamma_ = std::move(gamma->values);
    norm->beta_ = std::move(beta->values);
  }
  return norm;
}

absl::StatusOr<TensorType> GroupNorm::OutputType(
    absl::Span<const TensorType> inputs) const {
  const TensorType& in = inputs[0];
  const int64_t channels = channels_;
  std::string what =
      absl::StrCat("group_norm '", path_, "' (", num_groups_, " groups");
  if (channels >= 0) absl::StrAppend(&what, ", gamma [", channels, "]");
  absl::StrAppend(&what, "): expected FP32 [batch, channels, ...]");
  EMBER_RETURN_IF_ERROR(CheckChannels(in, 2, 1, channels, what));
  if (in.shape[1] >= 0 && in.shape[1] % num_groups_ != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("input ", TypeToString(in), ": ", in.shape[1],
                     " channels are not divisible into ", num_groups_,
                     " groups of group_norm '", path_, "'"));
  }
  return in;
}

absl::StatusOr<Tensor> GroupNorm::Forward(
    absl::Span<const Tensor> inputs) const {
  const Tensor& x = inputs[0];
  Tensor y = Tensor::Uninitialized(DataType::kFloat32, x.shape());
  const int64_t channels = x.dim(1);
  const int64_t per_group = channels / num_groups_;
  int64_t inner = 1;
  for (int i = 2; i < x.rank(); ++i) inner *= x.dim(i);
  const int64_t group_size = per_group * inner;
  const float* in = x.data<float>();
  float* out = y.mutable_data<float>();
  for (int64_t b = 0; b < x.dim(0); ++b) {
    for (int64_t g = 0; g < num_groups_; ++g) {
      const int64_t base = (b * num_groups_ + g) * group_size;
      double mean = 0, var = 0;
      for (int64_t i = 0; i < group_size; ++i) mean += in[base + i];
      mean /= group_size > 0 ? group_size : 1;
      for (int64_t i = 0; i < group_size; ++i) {
        var += (in[base + i] - mean) * (in[base + i] - mean);
      }
      var /= group_size > 0 ? group_size : 1;
      const double inv = 1.0 / std::sqrt(var + epsilon_);
      for (int64_t c = 0; c < per_group; ++c) {
        const int64_t channel = g * per_group + c;
        for (int64_t i = 0; i < inner; ++i) {
          const int64_t at = base + c * inner + i;
          float v = static_cast<float>((in[at] - mean) * inv);
          if (!gamma_.empty()) v = v * gamma_[channel] + beta_[channel];
          out[at] = v;
        }
      }
    }
  }
  return y;
}

int64_t GroupNorm::parameter_bytes() const {
  return (gamma_.size() + beta_.size()) * sizeof(float);
}

}  // namespace ember::model
