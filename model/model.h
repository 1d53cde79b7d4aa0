// A servable model: named, typed inputs in, named outputs out.
//
// A Model is built once from a model directory's config and its Burn record
// (see model_builder.h), validated end to end at construction, and then
// never changes. `Forward` is const and safe to call from many threads at
// once; the daemon shares one instance between all requests of a version
// and releases it when the last request holding it finishes.

#ifndef EMBER_MODEL_MODEL_H_
#define EMBER_MODEL_MODEL_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "model/tensor.h"

namespace ember::model {

// What a model accepts or produces. A -1 dimension accepts any size; the
// first dimension is the batch when the model is batched.
struct TensorSpec {
  std::string name;
  DataType type = DataType::kFloat32;
  std::vector<int64_t> shape;
};

class Model {
 public:
  virtual ~Model() = default;

  virtual const std::vector<TensorSpec>& inputs() const = 0;
  virtual const std::vector<TensorSpec>& outputs() const = 0;

  // Runs inference. `inputs` are given in the order of `inputs()` and must
  // match their specs (the caller checks names, types and shapes with
  // `CheckInputs`); the result holds one tensor per `outputs()` entry, in
  // that order. Thread-safe.
  virtual absl::StatusOr<std::vector<Tensor>> Forward(
      absl::Span<const Tensor> inputs) const = 0;

  // Bytes held by the model's parameters (reported in statistics).
  virtual int64_t parameter_bytes() const = 0;
};

// Checks `inputs` against `specs`: count, type, rank and every fixed
// dimension. The error names the input and both shapes.
absl::Status CheckInputs(absl::Span<const TensorSpec> specs,
                         absl::Span<const Tensor> inputs);

// Runs `model` once on zeros shaped by its input specs, every -1 dimension
// 1, and returns the inference's error (naming the shapes) or OK. A new
// version warmed this way does not make its first request pay for
// first-touch costs (scratch buffers, cold caches: up to 1.35x a steady
// call in a running process, 1.5-3x in a fresh one).
absl::Status WarmUp(const Model& model);

// True when no input has a dynamic (-1) dimension after its first one:
// then WarmUp's zeros are a request the specs accept, and its failure is
// the model's. With a later dynamic dimension, size 1 may be no valid
// input (a convolution needs at least its kernel's size).
bool OnlyLeadingDimensionsDynamic(absl::Span<const TensorSpec> specs);

}  // namespace ember::model

#endif  // EMBER_MODEL_MODEL_H_
