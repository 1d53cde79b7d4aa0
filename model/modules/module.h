// The building block of every model: a module built from its sub-record that
// maps input tensors to one output tensor.
//
// Modules are what Burn's `init_with(record)` produces: their dimensions come
// from the record, their non-recorded settings (stride, epsilon, ...) from
// the caller, and nothing is initialised at random. A module checks the
// types and shapes it is given once, in `OutputType`, so a model can be
// validated end to end before it serves anything:
//
//   EMBER_ASSIGN_OR_RETURN(TensorType out, linear.OutputType({in_type}));
//   ...
//   EMBER_ASSIGN_OR_RETURN(Tensor y, linear.Forward({x}));

#ifndef EMBER_MODEL_MODULES_MODULE_H_
#define EMBER_MODEL_MODULES_MODULE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "model/tensor.h"

namespace ember::model {

// The static type of a value in a model: element type and shape, where -1
// marks a dimension only known at run time (the batch, a sequence length).
struct TensorType {
  DataType type = DataType::kFloat32;
  std::vector<int64_t> shape;

  static TensorType Of(const Tensor& t) { return {t.type(), t.shape()}; }
};

// "FP32[-1, 784]".
std::string TypeToString(const TensorType& type);

// Immutable after construction; `OutputType` and `Forward` are const and
// safe to call from many threads at once (scratch memory is per call).
class Module {
 public:
  virtual ~Module() = default;

  // How many inputs the module takes; -1 means two or more (add, concat).
  virtual int num_inputs() const { return 1; }

  // The type of the output for inputs of the given types, or an error that
  // names what does not fit (the parameter's record path and both shapes).
  // Unknown (-1) input dimensions propagate to the output. Also called on
  // concrete shapes before `Forward`, which therefore may assume its
  // inputs passed this check.
  virtual absl::StatusOr<TensorType> OutputType(
      absl::Span<const TensorType> inputs) const = 0;

  // Computes the output. REQUIRES: `OutputType` accepts the inputs' types.
  virtual absl::StatusOr<Tensor> Forward(
      absl::Span<const Tensor> inputs) const = 0;

  // Bytes held by parameters.
  virtual int64_t parameter_bytes() const { return 0; }

  // True when the module can overwrite its single input with its output
  // (ApplyInPlace); a graph uses that when nothing else reads the buffer.
  virtual bool CanApplyInPlace() const { return false; }
  // Overwrites `t` with the output. REQUIRES: CanApplyInPlace(), `t`'s
  // buffer is not shared with anything still read, and OutputType accepts
  // its type.
  virtual void ApplyInPlace(Tensor& t) const {}

  // True when Forward returns a view sharing the input's buffer (reshape,
  // flatten, identity), so writing one writes the other.
  virtual bool OutputAliasesInput() const { return false; }
};

}  // namespace ember::model

#endif  // EMBER_MODEL_MODULES_MODULE_H_
