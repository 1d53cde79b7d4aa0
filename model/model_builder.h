// Turns a model's configuration and its Burn record into a servable Model.
//
// This is the one place where a record becomes a model, shared by the
// daemon's loader and by `ember predict`. Everything is validated here, once:
// the config against its schema, the record against the architecture (every
// parameter present with the rank and shape the layers need), and the input
// and output shapes end to end. Errors name the config file, the layer and
// the record path, and give both shapes where they disagree.
//
//   EMBER_ASSIGN_OR_RETURN(config::ModelConfig config,
//                          LoadModelConfigFile(dir + "/config.pbtxt"));
//   EMBER_ASSIGN_OR_RETURN(recorder::Record record,
//                          recorder::DecodeRecordFile(dir + "/1/model.mpk"));
//   EMBER_ASSIGN_OR_RETURN(std::shared_ptr<const Model> model,
//                          BuildModel(config, record, {...}));

#ifndef EMBER_MODEL_MODEL_BUILDER_H_
#define EMBER_MODEL_MODEL_BUILDER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "model/model.h"
#include "proto/model_config.pb.h"
#include "recorder/record.h"

namespace ember::model {

// Parses config.pbtxt text; `path` is only used in error messages.
absl::StatusOr<config::ModelConfig> ParseModelConfig(absl::string_view text,
                                                     absl::string_view path);
absl::StatusOr<config::ModelConfig> LoadModelConfigFile(
    const std::string& path);

// Where the inputs came from, for error messages.
struct BuildSource {
  std::string config_path;  // ".../connect4/config.pbtxt"
  std::string record_path;  // ".../connect4/3/model.mpk"
};

// Builds and validates the model `config` describes from `record`. The
// result shares nothing mutable with `record`.
absl::StatusOr<std::shared_ptr<const Model>> BuildModel(
    const config::ModelConfig& config, const recorder::Record& record,
    const BuildSource& source);

// Runs every check BuildModel runs on the same inputs without converting or
// copying a single weight (see ShapeOnlyScope in model/modules/params.h):
// OK exactly when BuildModel would succeed, else BuildModel's error. For
// validating a record before storing it; costs microseconds where a build
// costs a pass over the whole record.
absl::Status CheckModel(const config::ModelConfig& config,
                        const recorder::Record& record,
                        const BuildSource& source);

// Reads and decodes `record_path` and builds it with `config`: what
// `ember predict` does offline.
absl::StatusOr<std::shared_ptr<const Model>> LoadModel(
    const config::ModelConfig& config, const std::string& config_path,
    const std::string& record_path);

// LoadModel, then one WarmUp inference: what the daemon does for each
// version before it serves. A warm-up failure fails the load when the
// zeros were a request the specs accept (OnlyLeadingDimensionsDynamic);
// otherwise it is logged and the model is returned.
absl::StatusOr<std::shared_ptr<const Model>> LoadWarmModel(
    const config::ModelConfig& config, const std::string& config_path,
    const std::string& record_path);

}  // namespace ember::model

#endif  // EMBER_MODEL_MODEL_BUILDER_H_
