#include "model/config_specs.h"

#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace ember::model {
namespace {

absl::Status SpecError(absl::string_view config_path, absl::string_view kind,
                       absl::string_view name, absl::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat(config_path, ": ", kind, " '", name, "': ", what));
}

}  // namespace

absl::StatusOr<std::vector<TensorSpec>> SpecsFromConfig(
    const google::protobuf::RepeatedPtrField<config::TensorConfig>& entries,
    absl::string_view kind, absl::string_view config_path) {
  std::vector<TensorSpec> specs;
  std::set<std::string> names;
  for (const config::TensorConfig& entry : entries) {
    TensorSpec spec;
    spec.name = entry.name();
    if (spec.name.empty()) {
      return SpecError(config_path, kind, "", "has no name");
    }
    if (!names.insert(spec.name).second) {
      return SpecError(config_path, kind, spec.name, "is declared twice");
    }
    switch (entry.datatype()) {
      case config::FP32:
        spec.type = DataType::kFloat32;
        break;
      case config::INT64:
        spec.type = DataType::kInt64;
        break;
      default:
        return SpecError(config_path, kind, spec.name,
                         "datatype must be FP32 or INT64");
    }
    if (entry.shape().empty()) {
      return SpecError(config_path, kind, spec.name,
                       "shape needs at least one dimension");
    }
    for (int64_t d : entry.shape()) {
      if (d < -1 || d == 0) {
        return SpecError(
            config_path, kind, spec.name,
            absl::StrCat("shape ",
                         ShapeToString(std::vector<int64_t>(
                             entry.shape().begin(), entry.shape().end())),
                         ": every dimension must be -1 or >= 1"));
      }
      spec.shape.push_back(d);
    }
    specs.push_back(std::move(spec));
  }
  return specs;
}

bool TypeFitsSpec(const TensorType& actual, const TensorSpec& spec) {
  if (actual.type != spec.type || actual.shape.size() != spec.shape.size()) {
    return false;
  }
  for (size_t i = 0; i < spec.shape.size(); ++i) {
    if (spec.shape[i] >= 0 && actual.shape[i] >= 0 &&
        spec.shape[i] != actual.shape[i]) {
      return false;
    }
  }
  return true;
}

absl::StatusOr<std::vector<TensorSpec>> ResolveSpecs(
    const google::protobuf::RepeatedPtrField<config::TensorConfig>& entries,
    absl::string_view kind, absl::string_view config_path,
    const std::vector<TensorSpec>& defaults) {
  if (entries.empty()) return defaults;
  EMBER_ASSIGN_OR_RETURN(std::vector<TensorSpec> given,
                         SpecsFromConfig(entries, kind, config_path));
  if (given.size() != defaults.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat(config_path, ": the architecture has ", defaults.size(),
                     " ", kind, "(s), the config declares ", given.size()));
  }
  for (size_t i = 0; i < given.size(); ++i) {
    TensorSpec& spec = given[i];
    const TensorSpec& fixed = defaults[i];
    if (!TypeFitsSpec({spec.type, spec.shape}, fixed)) {
      return SpecError(
          config_path, kind, spec.name,
          absl::StrCat("declared ", DataTypeName(spec.type),
                       ShapeToString(spec.shape), " but the architecture's ",
                       kind, " '", fixed.name, "' is ",
                       DataTypeName(fixed.type), ShapeToString(fixed.shape)));
    }
    for (size_t d = 0; d < spec.shape.size(); ++d) {
      if (spec.shape[d] < 0) spec.shape[d] = fixed.shape[d];
    }
  }
  return given;
}

absl::Status CompiledModel::ResolveIo(
    const config::ModelConfig& config, absl::string_view config_path,
    const std::vector<TensorSpec>& default_inputs,
    const std::vector<TensorSpec>& default_outputs) {
  absl::StatusOr<std::vector<TensorSpec>> inputs =
      ResolveSpecs(config.input(), "input", config_path, default_inputs);
  if (!inputs.ok()) return inputs.status();
  absl::StatusOr<std::vector<TensorSpec>> outputs =
      ResolveSpecs(config.output(), "output", config_path, default_outputs);
  if (!outputs.ok()) return outputs.status();
  inputs_ = *std::move(inputs);
  outputs_ = *std::move(outputs);
  return absl::OkStatus();
}

}  // namespace ember::model
