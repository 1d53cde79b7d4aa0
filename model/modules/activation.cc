#include "model/modules/activation.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace ember::model {
namespace {

absl::Status RequireFloat(const TensorType& in) {
  if (in.type == DataType::kFloat32) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("expected an FP32 input, got ", TypeToString(in)));
}

// A copy of `x` the caller may write into.
Tensor CopyOf(const Tensor& x) {
  Tensor y = Tensor::Uninitialized(DataType::kFloat32, x.shape());
  if (x.num_elements() > 0) {
    std::memcpy(y.mutable_data<float>(), x.data<float>(), x.byte_size());
  }
  return y;
}

}  // namespace

float Sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }

void Activation::Apply(float* data, int64_t n) const {
  switch (kind_) {
    case Kind::kIdentity:
      return;
    case Kind::kRelu:
      for (int64_t i = 0; i < n; ++i) data[i] = std::max(data[i], 0.0f);
      return;
    case Kind::kLeakyRelu:
      for (int64_t i = 0; i < n; ++i) {
        if (data[i] < 0) data[i] *= slope_;
      }
      return;
    case Kind::kGelu:
      for (int64_t i = 0; i < n; ++i) {
        data[i] = 0.5f * data[i] * (1.0f + std::erf(data[i] * M_SQRT1_2));
      }
      return;
    case Kind::kSigmoid:
      for (int64_t i = 0; i < n; ++i) data[i] = Sigmoid(data[i]);
      return;
    case Kind::kTanh:
      for (int64_t i = 0; i < n; ++i) data[i] = std::tanh(data[i]);
      return;
    case Kind::kSilu:
      for (int64_t i = 0; i < n; ++i) data[i] *= Sigmoid(data[i]);
      return;
  }
}

absl::StatusOr<TensorType> Activation::OutputType(
    absl::Span<const TensorType> inputs) const {
  if (absl::Status s = RequireFloat(inputs[0]); !s.ok()) return s;
  return inputs[0];
}

absl::StatusOr<Tensor> Activation::Forward(
    absl::Span<const Tensor> inputs) const {
  // Tensors are shared and immutable once handed over, so the result is a
  // new buffer even for in-place functions; identity shares the input.
  if (kind_ == Kind::kIdentity) return inputs[0];
  Tensor y = CopyOf(inputs[0]);
  Apply(y.mutable_data<float>(), y.num_elements());
  return y;
}

absl::StatusOr<TensorType> Softmax::OutputType(
    absl::Span<const TensorType> inputs) const {
  if (absl::Status s = RequireFloat(inputs[0]); !s.ok()) return s;
  int64_t rank = inputs[0].shape.size();
  if (axis_ >= rank || axis_ < -rank) {
    return absl::InvalidArgumentError(
        absl::StrCat("softmax axis ", axis_, " is out of range for input ",
                     TypeToString(inputs[0])));
  }
  return inputs[0];
}

absl::StatusOr<Tensor> Softmax::Forward(absl::Span<const Tensor> inputs) const {
  const Tensor& x = inputs[0];
  int axis = axis_ < 0 ? x.rank() + axis_ : axis_;
  int64_t outer = 1, inner = 1, n = x.dim(axis);
  for (int i = 0; i < axis; ++i) outer *= x.dim(i);
  for (int i = axis + 1; i < x.rank(); ++i) inner *= x.dim(i);
  Tensor y = CopyOf(x);
  float* data = y.mutable_data<float>();
  std::vector<float> max(inner), sum(inner);
  for (int64_t o = 0; o < outer; ++o) {
    float* block = data + o * n * inner;
    std::fill(max.begin(), max.end(), -INFINITY);
    std::fill(sum.begin(), sum.end(), 0.0f);
    for (int64_t k = 0; k < n; ++k) {
      for (int64_t i = 0; i < inner; ++i) {
        max[i] = std::max(max[i], block[k * inner + i]);
      }
    }
    for (int64_t k = 0; k < n; ++k) {
      for (int64_t i = 0; i < inner; ++i) {
        float e = std::exp(block[k * inner + i] - max[i]);
        block[k * inner + i] = e;
        sum[i] += e;
      }
    }
    for (int64_t k = 0; k < n; ++k) {
      for (int64_t i = 0; i < inner; ++i) block[k * inner + i] /= sum[i];
    }
  }
  return y;
}

}  // namespace ember::model
