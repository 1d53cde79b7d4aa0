#include "model/modules/pool.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "model/modules/conv.h"

namespace ember::model {
namespace {

absl::Status CheckImageInput(const TensorType& in, absl::string_view what) {
  if (in.type == DataType::kFloat32 && in.shape.size() == 4) {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(
      absl::StrCat(what, " expects FP32 [batch, channels, height, width], got ",
                   TypeToString(in)));
}

}  // namespace

absl::StatusOr<std::unique_ptr<Pool2d>> Pool2d::Create(
    Kind kind, const PoolOptions& options) {
  auto bad = [](absl::string_view what) {
    return absl::InvalidArgumentError(absl::StrCat("pool: ", what));
  };
  if (options.kernel.size() != 2 || options.stride.size() != 2 ||
      options.dilation.size() != 2 || options.padding.size() != 4) {
    return bad("kernel, stride and dilation need 2 values, padding 4");
  }
  for (int a = 0; a < 2; ++a) {
    if (options.kernel[a] < 1 || options.stride[a] < 1 ||
        options.dilation[a] < 1) {
      return bad("kernel, stride and dilation must be >= 1");
    }
    for (int64_t p : {options.padding[a], options.padding[a + 2]}) {
      // A window made only of padding has no defined maximum.
      if (p < 0 || 2 * p > options.kernel[a]) {
        return bad(absl::StrCat("padding ", p,
                                " must be >= 0 and at most half the kernel ",
                                options.kernel[a]));
      }
    }
  }
  if (kind == Kind::kAvg &&
      (options.dilation[0] != 1 || options.dilation[1] != 1)) {
    return bad("average pooling has no dilation");
  }
  return std::unique_ptr<Pool2d>(new Pool2d(kind, options));
}

absl::StatusOr<int64_t> Pool2d::PoolOutputSize(int axis, int64_t in) const {
  const int64_t k = options_.kernel[axis], stride = options_.stride[axis];
  const int64_t d = options_.dilation[axis];
  const int64_t begin = options_.padding[axis],
                end = options_.padding[axis + 2];
  EMBER_ASSIGN_OR_RETURN(int64_t size,
                         WindowOutputSize(in, k, stride, d, begin, end));
  if (!options_.ceil_mode || size < 0) return size;
  // Rounding up adds a last, partial window when the division has a
  // remainder, unless that window would start beyond the input and the
  // leading padding.
  const int64_t span = in + begin + end - d * (k - 1) - 1;
  if (span % stride != 0) ++size;
  if ((size - 1) * stride >= in + begin) --size;
  return size;
}

absl::StatusOr<TensorType> Pool2d::OutputType(
    absl::Span<const TensorType> inputs) const {
  const TensorType& in = inputs[0];
  absl::string_view name = kind_ == Kind::kMax ? "max_pool2d" : "avg_pool2d";
  EMBER_RETURN_IF_ERROR(CheckImageInput(in, name));
  TensorType out = in;
  for (int a = 0; a < 2; ++a) {
    absl::StatusOr<int64_t> size = PoolOutputSize(a, in.shape[2 + a]);
    if (!size.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          name, " on input ", TypeToString(in), ": ", size.status().message()));
    }
    out.shape[2 + a] = *size;
  }
  return out;
}

absl::StatusOr<Tensor> Pool2d::Forward(absl::Span<const Tensor> inputs) const {
  EMBER_ASSIGN_OR_RETURN(TensorType out_type,
                         OutputType({TensorType::Of(inputs[0])}));
  const Tensor& x = inputs[0];
  Tensor y = Tensor::Uninitialized(DataType::kFloat32, out_type.shape);
  const int64_t planes = x.dim(0) * x.dim(1);
  const int64_t h = x.dim(2), w = x.dim(3);
  const int64_t oh = out_type.shape[2], ow = out_type.shape[3];
  const int64_t kh = options_.kernel[0], kw = options_.kernel[1];
  const int64_t sh = options_.stride[0], sw = options_.stride[1];
  const int64_t dh = options_.dilation[0], dw = options_.dilation[1];
  const int64_t pt = options_.padding[0], pl = options_.padding[1];
  // Where average windows end when padded cells count: at the padded
  // input's edge, which only a ceil_mode window crosses.
  const int64_t h_end = h + options_.padding[2],
                w_end = w + options_.padding[3];
  const float* in = x.data<float>();
  float* out = y.mutable_data<float>();
  const bool is_max = kind_ == Kind::kMax;

  for (int64_t p = 0; p < planes; ++p) {
    const float* plane = in + p * h * w;
    for (int64_t r = 0; r < oh; ++r) {
      for (int64_t s = 0; s < ow; ++s) {
        float acc = is_max ? -INFINITY : 0.0f;
        int64_t inside = 0;
        for (int64_t i = 0; i < kh; ++i) {
          int64_t ih = r * sh - pt + i * dh;
          if (ih < 0 || ih >= h) continue;
          for (int64_t j = 0; j < kw; ++j) {
            int64_t iw = s * sw - pl + j * dw;
            if (iw < 0 || iw >= w) continue;
            float v = plane[ih * w + iw];
            acc = is_max ? std::max(acc, v) : acc + v;
            ++inside;
          }
        }
        if (!is_max) {
          if (options_.count_include_pad) {
            const int64_t rows =
                std::min(r * sh - pt + kh, h_end) - (r * sh - pt);
            const int64_t cols =
                std::min(s * sw - pl + kw, w_end) - (s * sw - pl);
            acc /= rows * cols;
          } else {
            acc /= inside;
          }
        }
        out[(p * oh + r) * ow + s] = acc;
      }
    }
  }
  return y;
}

absl::StatusOr<std::unique_ptr<AdaptiveAvgPool2d>> AdaptiveAvgPool2d::Create(
    std::vector<int64_t> output_size) {
  if (output_size.size() != 2 || output_size[0] < 1 || output_size[1] < 1) {
    return absl::InvalidArgumentError(
        "adaptive_avg_pool2d: output size needs 2 values >= 1");
  }
  return std::unique_ptr<AdaptiveAvgPool2d>(
      new AdaptiveAvgPool2d(std::move(output_size)));
}

absl::StatusOr<TensorType> AdaptiveAvgPool2d::OutputType(
    absl::Span<const TensorType> inputs) const {
  const TensorType& in = inputs[0];
  EMBER_RETURN_IF_ERROR(CheckImageInput(in, "adaptive_avg_pool2d"));
  for (int a = 0; a < 2; ++a) {
    if (in.shape[2 + a] == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("adaptive_avg_pool2d: input ", TypeToString(in),
                       " has an empty spatial axis"));
    }
  }
  TensorType out = in;
  out.shape[2] = output_size_[0];
  out.shape[3] = output_size_[1];
  return out;
}

absl::StatusOr<Tensor> AdaptiveAvgPool2d::Forward(
    absl::Span<const Tensor> inputs) const {
  const Tensor& x = inputs[0];
  const int64_t planes = x.dim(0) * x.dim(1);
  const int64_t h = x.dim(2), w = x.dim(3);
  const int64_t oh = output_size_[0], ow = output_size_[1];
  Tensor y =
      Tensor::Uninitialized(DataType::kFloat32, {x.dim(0), x.dim(1), oh, ow});
  const float* in = x.data<float>();
  float* out = y.mutable_data<float>();
  for (int64_t p = 0; p < planes; ++p) {
    const float* plane = in + p * h * w;
    for (int64_t r = 0; r < oh; ++r) {
      int64_t h0 = r * h / oh, h1 = ((r + 1) * h + oh - 1) / oh;
      for (int64_t s = 0; s < ow; ++s) {
        int64_t w0 = s * w / ow, w1 = ((s + 1) * w + ow - 1) / ow;
        float sum = 0.0f;
        for (int64_t i = h0; i < h1; ++i) {
          for (int64_t j = w0; j < w1; ++j) sum += plane[i * w + j];
        }
        out[(p * oh + r) * ow + s] = sum / ((h1 - h0) * (w1 - w0));
      }
    }
  }
  return y;
}

}  // namespace ember::model
