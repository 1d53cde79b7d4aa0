#include "model/model_builder.h"

#include <fstream>
#include <set>
#include <sstream>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "glog/logging.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"
#include "model/architecture_registry.h"
#include "model/config_specs.h"
#include "model/graph_model.h"
#include "model/modules/params.h"
#include "recorder/codec.h"

namespace ember::model {
namespace {

// Collects the parser's complaints with their line and column (1-based).
class ErrorCollector : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, int column, const std::string& message) override {
    errors_.push_back(absl::StrCat(line + 1, ":", column + 1, ": ", message));
  }
  void AddWarning(int line, int column, const std::string& message) override {
    AddError(line, column, message);
  }
  std::string Joined() const { return absl::StrJoin(errors_, "; "); }

 private:
  std::vector<std::string> errors_;
};

// Checks the parts of the schema protobuf cannot express.
absl::Status ValidateConfig(const config::ModelConfig& config,
                            absl::string_view path) {
  auto bad = [&](absl::string_view what) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", what));
  };
  if (!config.architecture().empty() && !config.layers().empty()) {
    return bad("set either 'architecture' or 'layers', not both");
  }
  if (config.architecture().empty() && config.layers().empty()) {
    return bad("set 'architecture' (a compiled model) or 'layers' (a graph)");
  }
  if (config.max_batch_size() < 0) {
    return bad(absl::StrCat("max_batch_size must be >= 0, got ",
                            config.max_batch_size()));
  }
  const std::string& file = config.record_file();
  if (file.find('/') != std::string::npos || file == "." || file == "..") {
    return bad(
        absl::StrCat("record_file '", file, "' must be a plain file name"));
  }
  if (config.version_policy().has_specific()) {
    for (int64_t v : config.version_policy().specific().versions()) {
      if (v < 0) return bad(absl::StrCat("version ", v, " is negative"));
    }
  }
  EMBER_RETURN_IF_ERROR(
      SpecsFromConfig(config.input(), "input", path).status());
  EMBER_RETURN_IF_ERROR(
      SpecsFromConfig(config.output(), "output", path).status());
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<config::ModelConfig> ParseModelConfig(absl::string_view text,
                                                     absl::string_view path) {
  config::ModelConfig config;
  google::protobuf::TextFormat::Parser parser;
  ErrorCollector errors;
  parser.RecordErrorsTo(&errors);
  if (!parser.ParseFromString(std::string(text), &config)) {
    return absl::InvalidArgumentError(absl::StrCat(path, ":", errors.Joined()));
  }
  EMBER_RETURN_IF_ERROR(ValidateConfig(config, path));
  return config;
}

absl::StatusOr<config::ModelConfig> LoadModelConfigFile(
    const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(absl::StrCat(path, ": cannot open"));
  }
  std::stringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    return absl::DataLossError(absl::StrCat(path, ": read failed"));
  }
  return ParseModelConfig(text.str(), path);
}

absl::StatusOr<std::shared_ptr<const Model>> BuildModel(
    const config::ModelConfig& config, const recorder::Record& record,
    const BuildSource& source) {
  EMBER_RETURN_IF_ERROR(ValidateConfig(config, source.config_path));
  if (!config.architecture().empty()) {
    absl::StatusOr<ArchitectureFactory> factory =
        FindArchitecture(config.architecture());
    if (!factory.ok()) {
      return absl::Status(
          factory.status().code(),
          absl::StrCat(source.config_path, ": ", factory.status().message()));
    }
    return (*factory)(config, record, source);
  }
  EMBER_ASSIGN_OR_RETURN(std::unique_ptr<GraphModel> graph,
                         GraphModel::Create(config, record, source));
  return std::shared_ptr<const Model>(std::move(graph));
}

absl::Status CheckModel(const config::ModelConfig& config,
                        const recorder::Record& record,
                        const BuildSource& source) {
  // What is built here has dimensions but no weights; it never leaves this
  // function.
  ShapeOnlyScope shape_only;
  return BuildModel(config, record, source).status();
}

absl::StatusOr<std::shared_ptr<const Model>> LoadModel(
    const config::ModelConfig& config, const std::string& config_path,
    const std::string& record_path) {
  EMBER_ASSIGN_OR_RETURN(recorder::Record record,
                         recorder::DecodeRecordFile(record_path));
  return BuildModel(config, record, BuildSource{config_path, record_path});
}

absl::StatusOr<std::shared_ptr<const Model>> LoadWarmModel(
    const config::ModelConfig& config, const std::string& config_path,
    const std::string& record_path) {
  EMBER_ASSIGN_OR_RETURN(std::shared_ptr<const Model> model,
                         LoadModel(config, config_path, record_path));
  const absl::Status warm = WarmUp(*model);
  if (warm.ok()) return model;
  if (OnlyLeadingDimensionsDynamic(model->inputs())) {
    return absl::Status(warm.code(),
                        absl::StrCat(record_path, ": ", warm.message()));
  }
  LOG(WARNING) << record_path << ": " << warm.message()
               << "; its inputs have dynamic dimensions that size 1 may not "
                  "fit, so it serves unwarmed";
  return model;
}

}  // namespace ember::model
