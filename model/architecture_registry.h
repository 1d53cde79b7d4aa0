// Compiled architectures: C++ model classes built from a record, selected by
// the `architecture` field of config.pbtxt.
//
// A compiled architecture is the C++ counterpart of a Burn model struct and
// its `init_with(record)`: a class whose constructor reads its sub-records
// and whose Forward is written by hand. Use one when a model's forward pass
// is more than a graph of standard layers (custom recurrent cells, state
// juggling). Ember ships "burn_book_mlp" and "modern_lstm"; more can be
// added at startup:
//
//   EMBER_RETURN_IF_ERROR(RegisterArchitecture("my_net", &BuildMyNet));
//
// With no input/output entries in the config, a compiled model publishes
// its own specs; entries in the config rename them and may fix unknown
// dimensions (see ResolveSpecs in config_specs.h).

#ifndef EMBER_MODEL_ARCHITECTURE_REGISTRY_H_
#define EMBER_MODEL_ARCHITECTURE_REGISTRY_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "model/model.h"
#include "model/model_builder.h"
#include "proto/model_config.pb.h"
#include "recorder/record.h"

namespace ember::model {

// Builds a model from the whole record. Errors name `source` paths and the
// record path that does not fit.
using ArchitectureFactory =
    std::function<absl::StatusOr<std::shared_ptr<const Model>>(
        const config::ModelConfig& config, const recorder::Record& record,
        const BuildSource& source)>;

// Adds `factory` under `name`. AlreadyExists when the name is taken,
// InvalidArgument for an empty name or factory. Thread-safe.
absl::Status RegisterArchitecture(const std::string& name,
                                  ArchitectureFactory factory);

// The factory registered as `name`, or NotFound listing the known names.
// Thread-safe.
absl::StatusOr<ArchitectureFactory> FindArchitecture(absl::string_view name);

// Every registered name, sorted (the built-in ones included).
std::vector<std::string> ArchitectureNames();

}  // namespace ember::model

#endif  // EMBER_MODEL_ARCHITECTURE_REGISTRY_H_
