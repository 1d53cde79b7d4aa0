// Burn's `Conv1d` and `Conv2d` (cross-correlation, as in PyTorch).
//
// The record holds `weight` [c_out, c_in / groups, k...] and an optional
// `bias` [c_out]; stride, dilation, groups and padding are not in the file
// and come from `ConvOptions`. The computation lowers each group of each
// sample to one matrix product (im2col + Eigen GEMM); a 1×1 kernel with
// stride 1 and no padding uses the input directly.
//
//   ConvOptions options;
//   options.padding = Padding::Explicit({2, 2, 2, 2});
//   EMBER_ASSIGN_OR_RETURN(std::unique_ptr<Conv> conv,
//                          Conv::Create2d(record, "conv1", options));
//   EMBER_ASSIGN_OR_RETURN(Tensor y, conv->Forward({x}));  // [B, C, H, W]

#ifndef EMBER_MODEL_MODULES_CONV_H_
#define EMBER_MODEL_MODULES_CONV_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "model/modules/module.h"
#include "recorder/record.h"

namespace ember::model {

// Burn's PaddingConfig: Valid (none), Same (output size = input size; only
// stride 1, dilation 1 and odd kernels, where every Burn release agrees) or
// Explicit amounts.
struct Padding {
  enum class Mode { kValid, kSame, kExplicit };
  Mode mode = Mode::kValid;
  // Explicit amounts per spatial axis: {begin, end} for 1-D,
  // {top, left, bottom, right} for 2-D (Burn 0.21's order).
  std::vector<int64_t> amounts;

  static Padding Valid() { return {}; }
  static Padding Same() { return {Mode::kSame, {}}; }
  static Padding Explicit(std::vector<int64_t> amounts) {
    return {Mode::kExplicit, std::move(amounts)};
  }
};

struct ConvOptions {
  // One value per spatial axis (1 or 2). Empty means 1 on every axis.
  std::vector<int64_t> stride;
  std::vector<int64_t> dilation;
  int64_t groups = 1;
  Padding padding;  // default Valid, Burn's default
};

// A 1-D or 2-D convolution. Immutable; thread-safe.
class Conv : public Module {
 public:
  static absl::StatusOr<std::unique_ptr<Conv>> Create1d(
      const recorder::Value& record, absl::string_view path,
      const ConvOptions& options);
  static absl::StatusOr<std::unique_ptr<Conv>> Create2d(
      const recorder::Value& record, absl::string_view path,
      const ConvOptions& options);

  int64_t out_channels() const { return c_out_; }

  // The output's spatial size along axis `axis` (0 = H, 1 = W) for an input
  // of size `in`; -1 when `in` is -1; an error when the kernel does not fit.
  absl::StatusOr<int64_t> OutputSize(int axis, int64_t in) const;

  absl::StatusOr<TensorType> OutputType(
      absl::Span<const TensorType> inputs) const override;
  absl::StatusOr<Tensor> Forward(
      absl::Span<const Tensor> inputs) const override;
  int64_t parameter_bytes() const override;

 private:
  Conv() = default;
  static absl::StatusOr<std::unique_ptr<Conv>> Create(
      const recorder::Value& record, absl::string_view path,
      const ConvOptions& options, int spatial_rank);

  std::string path_;
  int spatial_rank_ = 2;  // 1 for Conv1d; Conv1d is run as H = 1
  int64_t c_out_ = 0;
  int64_t c_in_ = 0;  // total input channels
  int64_t groups_ = 1;
  int64_t kernel_[2] = {1, 1};
  int64_t stride_[2] = {1, 1};
  int64_t dilation_[2] = {1, 1};
  int64_t pad_begin_[2] = {0, 0};
  int64_t pad_end_[2] = {0, 0};
  std::vector<float> weight_;  // [c_out, c_in / groups, kh, kw]
  std::vector<float> bias_;    // [c_out] or empty
};

// Spatial output size of a sliding window: floor((in + pad_begin + pad_end -
// dilation·(kernel-1) - 1) / stride) + 1, or an error when the window does
// not fit. `in` = -1 gives -1.
absl::StatusOr<int64_t> WindowOutputSize(int64_t in, int64_t kernel,
                                         int64_t stride, int64_t dilation,
                                         int64_t pad_begin, int64_t pad_end);

}  // namespace ember::model

#endif  // EMBER_MODEL_MODULES_CONV_H_
