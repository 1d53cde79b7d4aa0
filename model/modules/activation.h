// Element-wise activations and Softmax, as Burn computes them.
//
// None of these has parameters: in a Burn record their fields are nil. The
// choice of activation and its settings (LeakyReLU's slope, Softmax's axis)
// come from the model definition.
//
//   Activation relu(Activation::Kind::kRelu);
//   EMBER_ASSIGN_OR_RETURN(Tensor y, relu.Forward({x}));

#ifndef EMBER_MODEL_MODULES_ACTIVATION_H_
#define EMBER_MODEL_MODULES_ACTIVATION_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "model/modules/module.h"

namespace ember::model {

// An element-wise function of FP32 tensors of any shape. Immutable;
// thread-safe.
class Activation : public Module {
 public:
  enum class Kind {
    kIdentity,   // also Dropout at inference
    kRelu,       // max(x, 0)
    kLeakyRelu,  // x >= 0 ? x : slope · x
    kGelu,       // exact: x/2 · (1 + erf(x / √2)), Burn's GELU
    kSigmoid,    // 1 / (1 + e^-x)
    kTanh,
    kSilu,  // x · sigmoid(x)
  };

  // Burn's `LeakyReluConfig` default slope.
  static constexpr float kDefaultLeakySlope = 0.01f;

  explicit Activation(Kind kind, float slope = kDefaultLeakySlope)
      : kind_(kind), slope_(slope) {}

  Kind kind() const { return kind_; }

  // Applies the function to `n` values in place.
  void Apply(float* data, int64_t n) const;

  absl::StatusOr<TensorType> OutputType(
      absl::Span<const TensorType> inputs) const override;
  absl::StatusOr<Tensor> Forward(
      absl::Span<const Tensor> inputs) const override;
  bool CanApplyInPlace() const override { return kind_ != Kind::kIdentity; }
  void ApplyInPlace(Tensor& t) const override {
    Apply(t.mutable_data<float>(), t.num_elements());
  }
  bool OutputAliasesInput() const override { return kind_ == Kind::kIdentity; }

 private:
  Kind kind_;
  float slope_;
};

// Softmax along one axis (negative counts from the end), computed stably
// (the maximum is subtracted first). Immutable; thread-safe.
class Softmax : public Module {
 public:
  explicit Softmax(int64_t axis) : axis_(axis) {}

  absl::StatusOr<TensorType> OutputType(
      absl::Span<const TensorType> inputs) const override;
  absl::StatusOr<Tensor> Forward(
      absl::Span<const Tensor> inputs) const override;

 private:
  int64_t axis_;
};

// Scalar helpers shared with compiled architectures.
float Sigmoid(float x);

}  // namespace ember::model

#endif  // EMBER_MODEL_MODULES_ACTIVATION_H_
