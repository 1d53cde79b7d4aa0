#include "model/modules/conv.h"

#include <algorithm>
#include <cstring>
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

absl::Status BadOption(absl::string_view path, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("conv '", path, "': ", what));
}

// Reads a per-axis option: empty gives 1 on every axis.
absl::Status AxisValues(const std::vector<int64_t>& given, int spatial_rank,
                        absl::string_view name, absl::string_view path,
                        int64_t out[2]) {
  out[0] = out[1] = 1;
  if (given.empty()) return absl::OkStatus();
  if (static_cast<int>(given.size()) != spatial_rank) {
    return BadOption(path, absl::StrCat(name, " needs ", spatial_rank,
                                        " value(s), got ", given.size()));
  }
  for (int i = 0; i < spatial_rank; ++i) {
    if (given[i] < 1) {
      return BadOption(path,
                       absl::StrCat(name, " must be >= 1, got ", given[i]));
    }
    // Conv1d runs as a 2-D convolution over [C, 1, L]: its axis is W.
    out[spatial_rank == 1 ? 1 : i] = given[i];
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<int64_t> WindowOutputSize(int64_t in, int64_t kernel,
                                         int64_t stride, int64_t dilation,
                                         int64_t pad_begin, int64_t pad_end) {
  if (in < 0) return -1;
  int64_t span = dilation * (kernel - 1) + 1;
  int64_t padded = in + pad_begin + pad_end;
  if (padded < span) {
    return absl::InvalidArgumentError(
        absl::StrCat("input size ", in, " with padding ", pad_begin, "+",
                     pad_end, " is smaller than the window (kernel ", kernel,
                     ", dilation ", dilation, ")"));
  }
  return (padded - span) / stride + 1;
}

absl::StatusOr<std::unique_ptr<Conv>> Conv::Create1d(
    const recorder::Value& record, absl::string_view path,
    const ConvOptions& options) {
  return Create(record, path, options, 1);
}

absl::StatusOr<std::unique_ptr<Conv>> Conv::Create2d(
    const recorder::Value& record, absl::string_view path,
    const ConvOptions& options) {
  return Create(record, path, options, 2);
}

absl::StatusOr<std::unique_ptr<Conv>> Conv::Create(
    const recorder::Value& record, absl::string_view path,
    const ConvOptions& options, int spatial_rank) {
  EMBER_ASSIGN_OR_RETURN(Param weight,
                         LoadParam(record, path, "weight", 2 + spatial_rank));
  EMBER_ASSIGN_OR_RETURN(std::optional<Param> bias,
                         LoadOptionalParam(record, path, "bias", 1));
  if (bias.has_value()) {
    EMBER_RETURN_IF_ERROR(CheckParamShape(
        *bias, {weight.dim(0)},
        absl::StrCat("weight ", ShapeToString(weight.shape), " (c_out)")));
  }
  std::unique_ptr<Conv> conv(new Conv());
  conv->path_ = std::string(path);
  conv->spatial_rank_ = spatial_rank;
  conv->groups_ = options.groups;
  if (options.groups < 1 || weight.dim(0) % options.groups != 0) {
    return BadOption(
        path, absl::StrCat("groups ", options.groups,
                           " must be >= 1 and divide c_out ", weight.dim(0),
                           " of weight ", ShapeToString(weight.shape)));
  }
  conv->c_out_ = weight.dim(0);
  conv->c_in_ = weight.dim(1) * options.groups;
  if (spatial_rank == 1) {
    conv->kernel_[1] = weight.dim(2);
  } else {
    conv->kernel_[0] = weight.dim(2);
    conv->kernel_[1] = weight.dim(3);
  }
  EMBER_RETURN_IF_ERROR(
      AxisValues(options.stride, spatial_rank, "stride", path, conv->stride_));
  EMBER_RETURN_IF_ERROR(AxisValues(options.dilation, spatial_rank, "dilation",
                                   path, conv->dilation_));

  const Padding& padding = options.padding;
  int first_axis = spatial_rank == 1 ? 1 : 0;
  switch (padding.mode) {
    case Padding::Mode::kValid:
      break;
    case Padding::Mode::kSame:
      // With stride 1, dilation 1 and an odd kernel every Burn release
      // pads (k - 1) / 2 on both sides. Other combinations were computed
      // differently across releases (or refused), so they are rejected
      // rather than guessed: use explicit padding for them.
      for (int a = first_axis; a < 2; ++a) {
        if (conv->stride_[a] != 1 || conv->dilation_[a] != 1 ||
            conv->kernel_[a] % 2 == 0) {
          return BadOption(
              path, absl::StrCat("padding 'same' needs stride 1, dilation 1 "
                                 "and an odd kernel; weight is ",
                                 ShapeToString(weight.shape),
                                 " (use explicit padding instead)"));
        }
        conv->pad_begin_[a] = conv->pad_end_[a] = (conv->kernel_[a] - 1) / 2;
      }
      break;
    case Padding::Mode::kExplicit: {
      const std::vector<int64_t>& p = padding.amounts;
      if (static_cast<int>(p.size()) != 2 * spatial_rank) {
        return BadOption(
            path, absl::StrCat("explicit padding needs ", 2 * spatial_rank,
                               " values, got ", p.size()));
      }
      for (int64_t v : p) {
        if (v < 0) return BadOption(path, "padding must be >= 0");
      }
      if (spatial_rank == 1) {
        conv->pad_begin_[1] = p[0];
        conv->pad_end_[1] = p[1];
      } else {
        conv->pad_begin_[0] = p[0];
        conv->pad_begin_[1] = p[1];
        conv->pad_end_[0] = p[2];
        conv->pad_end_[1] = p[3];
      }
      break;
    }
  }
  conv->weight_ = std::move(weight.values);
  if (bias.has_value()) conv->bias_ = std::move(bias->values);
  return conv;
}

absl::StatusOr<int64_t> Conv::OutputSize(int axis, int64_t in) const {
  return WindowOutputSize(in, kernel_[axis], stride_[axis], dilation_[axis],
                          pad_begin_[axis], pad_end_[axis]);
}

absl::StatusOr<TensorType> Conv::OutputType(
    absl::Span<const TensorType> inputs) const {
  const TensorType& in = inputs[0];
  int rank = 2 + spatial_rank_;
  int64_t channels = rank == static_cast<int>(in.shape.size())
                         ? in.shape[1]
                         : -2;  // -2: wrong rank
  if (in.type != DataType::kFloat32 || channels == -2 ||
      (channels >= 0 && channels != c_in_)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "input ", TypeToString(in), " does not fit weight '", path_,
        ".weight' (", c_out_, " out, ", c_in_ / groups_, " in per group, ",
        groups_, " group(s)): expected FP32 [batch, ", c_in_,
        spatial_rank_ == 1 ? ", length]" : ", height, width]"));
  }
  TensorType out = in;
  out.shape[1] = c_out_;
  for (int i = 0; i < spatial_rank_; ++i) {
    int axis = spatial_rank_ == 1 ? 1 : i;
    absl::StatusOr<int64_t> size = OutputSize(axis, in.shape[2 + i]);
    if (!size.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("conv '", path_, "' on input ", TypeToString(in), ": ",
                       size.status().message()));
    }
    out.shape[2 + i] = *size;
  }
  return out;
}

absl::StatusOr<Tensor> Conv::Forward(absl::Span<const Tensor> inputs) const {
  const Tensor& x = inputs[0];
  const int64_t batch = x.dim(0);
  const int64_t h = spatial_rank_ == 1 ? 1 : x.dim(2);
  const int64_t w = spatial_rank_ == 1 ? x.dim(2) : x.dim(3);
  EMBER_ASSIGN_OR_RETURN(int64_t oh, OutputSize(0, h));
  EMBER_ASSIGN_OR_RETURN(int64_t ow, OutputSize(1, w));
  std::vector<int64_t> shape = {batch, c_out_};
  if (spatial_rank_ == 2) shape.push_back(oh);
  shape.push_back(ow);
  Tensor y = Tensor::Uninitialized(DataType::kFloat32, std::move(shape));

  const int64_t cg = c_in_ / groups_;
  const int64_t og = c_out_ / groups_;
  const int64_t kh = kernel_[0], kw = kernel_[1];
  const int64_t k = cg * kh * kw;
  const int64_t n = oh * ow;
  const bool direct = kh == 1 && kw == 1 && stride_[0] == 1 &&
                      stride_[1] == 1 && pad_begin_[0] == 0 &&
                      pad_begin_[1] == 0 && pad_end_[0] == 0 &&
                      pad_end_[1] == 0;
  std::vector<float> cols(direct ? 0 : k * n);
  const float* in = x.data<float>();
  float* out = y.mutable_data<float>();

  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t g = 0; g < groups_; ++g) {
      const float* src = in + (b * c_in_ + g * cg) * h * w;
      const float* lowered = src;
      if (!direct) {
        // cols[(c·kh + i)·kw + j][r·ow + s] = src[c][r·sh - pt + i·dh]
        //                                         [s·sw - pl + j·dw]
        float* row = cols.data();
        for (int64_t c = 0; c < cg; ++c) {
          for (int64_t i = 0; i < kh; ++i) {
            for (int64_t j = 0; j < kw; ++j, row += n) {
              for (int64_t r = 0; r < oh; ++r) {
                int64_t ih = r * stride_[0] - pad_begin_[0] + i * dilation_[0];
                float* dst = row + r * ow;
                if (ih < 0 || ih >= h) {
                  std::fill(dst, dst + ow, 0.0f);
                  continue;
                }
                const float* line = src + (c * h + ih) * w;
                // Output columns [s0, s1) read inside the row; the rest
                // read padding.
                const int64_t offset = j * dilation_[1] - pad_begin_[1];
                const int64_t sw = stride_[1];
                const int64_t s0 =
                    std::min(ow, offset >= 0 ? 0 : (-offset + sw - 1) / sw);
                const int64_t s1 = std::max(
                    s0,
                    std::min(ow,
                             w - offset <= 0 ? 0 : (w - offset + sw - 1) / sw));
                std::fill(dst, dst + s0, 0.0f);
                if (sw == 1) {
                  std::copy(line + s0 + offset, line + s1 + offset, dst + s0);
                } else {
                  for (int64_t s = s0; s < s1; ++s) {
                    dst[s] = line[s * sw + offset];
                  }
                }
                std::fill(dst + s1, dst + ow, 0.0f);
              }
            }
          }
        }
        lowered = cols.data();
      }
      Eigen::Map<const RowMatrix> weight(weight_.data() + g * og * k, og, k);
      Eigen::Map<const RowMatrix> patches(lowered, k, n);
      float* block = out + (b * c_out_ + g * og) * n;
      Eigen::Map<RowMatrix> result(block, og, n);
      if (bias_.empty()) {
        result.noalias() = weight * patches;
        continue;
      }
      // Start from the bias and accumulate: one pass less than adding it
      // afterwards.
      for (int64_t o = 0; o < og; ++o) {
        std::fill(block + o * n, block + (o + 1) * n, bias_[g * og + o]);
      }
      result.noalias() += weight * patches;
    }
  }
  return y;
}

int64_t Conv::parameter_bytes() const {
  return (weight_.size() + bias_.size()) * sizeof(float);
}

}  // namespace ember::model
