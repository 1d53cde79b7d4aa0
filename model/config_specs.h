// Turning the `input` and `output` entries of a ModelConfig into validated
// TensorSpecs, shared by declarative graphs and compiled architectures.
//
//   EMBER_ASSIGN_OR_RETURN(std::vector<TensorSpec> inputs,
//                          SpecsFromConfig(config.input(), "input", path));

#ifndef EMBER_MODEL_CONFIG_SPECS_H_
#define EMBER_MODEL_CONFIG_SPECS_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "google/protobuf/repeated_field.h"
#include "model/model.h"
#include "model/modules/module.h"
#include "proto/model_config.pb.h"

namespace ember::model {

// Validates each entry (non-empty unique name, FP32 or INT64, at least one
// dimension, every dimension -1 or >= 1) and converts it. `kind` ("input"
// or "output") and `config_path` appear in errors.
absl::StatusOr<std::vector<TensorSpec>> SpecsFromConfig(
    const google::protobuf::RepeatedPtrField<config::TensorConfig>& entries,
    absl::string_view kind, absl::string_view config_path);

// True when a value of type `actual` can satisfy `spec`: same element type
// and rank, and equal sizes wherever both are known.
bool TypeFitsSpec(const TensorType& actual, const TensorSpec& spec);

// For compiled architectures: the specs the model will publish. With no
// entries in the config, `defaults`; otherwise the config's entries, which
// must be as many as `defaults`, of the same types and of compatible shapes
// (where both give a size, they agree). The config's names are used, and
// the more specific size of each dimension.
absl::StatusOr<std::vector<TensorSpec>> ResolveSpecs(
    const google::protobuf::RepeatedPtrField<config::TensorConfig>& entries,
    absl::string_view kind, absl::string_view config_path,
    const std::vector<TensorSpec>& defaults);

// Base of compiled architectures: publishes the input and output specs
// resolved once, at construction, from the config against the
// architecture's own defaults (see ResolveSpecs). Subclasses implement
// Forward and parameter_bytes; immutable after ResolveIo.
class CompiledModel : public Model {
 public:
  const std::vector<TensorSpec>& inputs() const override { return inputs_; }
  const std::vector<TensorSpec>& outputs() const override { return outputs_; }

  // Call once, before the model is shared.
  absl::Status ResolveIo(const config::ModelConfig& config,
                         absl::string_view config_path,
                         const std::vector<TensorSpec>& default_inputs,
                         const std::vector<TensorSpec>& default_outputs);

 private:
  std::vector<TensorSpec> inputs_;
  std::vector<TensorSpec> outputs_;
};

}  // namespace ember::model

#endif  // EMBER_MODEL_CONFIG_SPECS_H_
