// Burn's 2-D pooling modules: MaxPool2d, AvgPool2d and AdaptiveAvgPool2d.
//
// Pools have no parameters (their record field is nil); everything comes
// from `PoolOptions`. Inputs are FP32 [batch, channels, height, width].
//
//   PoolOptions options;
//   options.kernel = {2, 2};
//   options.stride = {2, 2};  // Burn >= 0.18 default: the kernel size
//   Pool2d pool(Pool2d::Kind::kMax, options);

#ifndef EMBER_MODEL_MODULES_POOL_H_
#define EMBER_MODEL_MODULES_POOL_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "model/modules/module.h"

namespace ember::model {

struct PoolOptions {
  std::vector<int64_t> kernel = {2, 2};  // {kh, kw}
  std::vector<int64_t> stride = {2, 2};  // {sh, sw}
  // {top, left, bottom, right}. Max pooling pads with -inf, average pooling
  // with zeros.
  std::vector<int64_t> padding = {0, 0, 0, 0};
  std::vector<int64_t> dilation = {1, 1};  // max pooling only
  // Average pooling: divide by the whole window including padded cells
  // (Burn's default, true) or only by the cells inside the input.
  bool count_include_pad = true;
  // Output size rounds up instead of down (Burn >= 0.21's `ceil_mode`,
  // with PyTorch's rule that the last window must start inside the input
  // or its leading padding). Average windows that cross the padded edge
  // count only the cells up to it.
  bool ceil_mode = false;
};

// Max or average pooling over sliding windows. Immutable; thread-safe.
class Pool2d : public Module {
 public:
  enum class Kind { kMax, kAvg };

  // Validates `options` (positive kernel, stride and dilation, padding >= 0
  // and smaller than the kernel, as Burn requires).
  static absl::StatusOr<std::unique_ptr<Pool2d>> Create(
      Kind kind, const PoolOptions& options);

  absl::StatusOr<TensorType> OutputType(
      absl::Span<const TensorType> inputs) const override;
  absl::StatusOr<Tensor> Forward(
      absl::Span<const Tensor> inputs) const override;

 private:
  Pool2d(Kind kind, const PoolOptions& options)
      : kind_(kind), options_(options) {}
  // Output size along `axis` (0 = H, 1 = W) for an input of size `in`.
  absl::StatusOr<int64_t> PoolOutputSize(int axis, int64_t in) const;

  Kind kind_;
  PoolOptions options_;
};

// Average pooling to a fixed output size: output cell i along an axis of
// input length n and output length m averages input indices
// floor(i·n/m) .. ceil((i+1)·n/m) - 1. Immutable; thread-safe.
class AdaptiveAvgPool2d : public Module {
 public:
  static absl::StatusOr<std::unique_ptr<AdaptiveAvgPool2d>> Create(
      std::vector<int64_t> output_size);

  absl::StatusOr<TensorType> OutputType(
      absl::Span<const TensorType> inputs) const override;
  absl::StatusOr<Tensor> Forward(
      absl::Span<const Tensor> inputs) const override;

 private:
  explicit AdaptiveAvgPool2d(std::vector<int64_t> output_size)
      : output_size_(std::move(output_size)) {}

  std::vector<int64_t> output_size_;  // {oh, ow}
};

}  // namespace ember::model

#endif  // EMBER_MODEL_MODULES_POOL_H_
