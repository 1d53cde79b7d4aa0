// Parameter-free graph operations: reshape, flatten, element-wise add and
// concatenation.
//
//   Flatten flatten(1, -1);               // [B, 64, 7, 7] -> [B, 3136]
//   Reshape reshape({-1, 1, 28, 28});     // [B, 28, 28] -> [B, 1, 28, 28]
//   Concat concat(-1);                    // [B, T, 32] ++ [B, T, 32]

#ifndef EMBER_MODEL_MODULES_SHAPE_OPS_H_
#define EMBER_MODEL_MODULES_SHAPE_OPS_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "model/modules/module.h"

namespace ember::model {

// Gives the input a new shape with the same elements in the same row-major
// order. In the target, 0 copies the input's dimension at that index and one
// -1 takes whatever is left. Immutable; thread-safe; shares the buffer.
class Reshape : public Module {
 public:
  explicit Reshape(std::vector<int64_t> target) : target_(std::move(target)) {}

  absl::StatusOr<TensorType> OutputType(
      absl::Span<const TensorType> inputs) const override;
  absl::StatusOr<Tensor> Forward(
      absl::Span<const Tensor> inputs) const override;
  bool OutputAliasesInput() const override { return true; }

 private:
  std::vector<int64_t> target_;
};

// Merges axes start..end (inclusive; negative counts from the end) into one,
// like Burn's `Tensor::flatten`. Immutable; thread-safe; shares the buffer.
class Flatten : public Module {
 public:
  Flatten(int64_t start, int64_t end) : start_(start), end_(end) {}

  absl::StatusOr<TensorType> OutputType(
      absl::Span<const TensorType> inputs) const override;
  absl::StatusOr<Tensor> Forward(
      absl::Span<const Tensor> inputs) const override;
  bool OutputAliasesInput() const override { return true; }

 private:
  int64_t start_;
  int64_t end_;
};

// Element-wise sum of two or more FP32 tensors of the same shape (residual
// connections). Immutable; thread-safe.
class Add : public Module {
 public:
  int num_inputs() const override { return -1; }
  absl::StatusOr<TensorType> OutputType(
      absl::Span<const TensorType> inputs) const override;
  absl::StatusOr<Tensor> Forward(
      absl::Span<const Tensor> inputs) const override;
};

// Concatenates two or more tensors of one type along `axis` (negative counts
// from the end); every other dimension must agree. Immutable; thread-safe.
class Concat : public Module {
 public:
  explicit Concat(int64_t axis) : axis_(axis) {}

  int num_inputs() const override { return -1; }
  absl::StatusOr<TensorType> OutputType(
      absl::Span<const TensorType> inputs) const override;
  absl::StatusOr<Tensor> Forward(
      absl::Span<const Tensor> inputs) const override;

 private:
  int64_t axis_;
};

}  // namespace ember::model

#endif  // EMBER_MODEL_MODULES_SHAPE_OPS_H_
