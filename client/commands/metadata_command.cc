#include "client/commands/metadata_command.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/json.h"
#include "common/status_macros.h"

namespace ember::client {
namespace {

using TensorMetadata = inference::ModelMetadataResponse::TensorMetadata;

json::Value TensorsJson(
    const google::protobuf::RepeatedPtrField<TensorMetadata>& tensors) {
  json::Value list = json::Value::MakeArray();
  for (const TensorMetadata& t : tensors) {
    json::Value item = json::Value::MakeObject();
    item.Set("name", json::Value::String(t.name()));
    item.Set("datatype", json::Value::String(t.datatype()));
    json::Value shape = json::Value::MakeArray();
    for (int64_t dim : t.shape()) shape.Append(json::Value::Int(dim));
    item.Set("shape", std::move(shape));
    list.Append(std::move(item));
  }
  return list;
}

void PrintTensors(
    const char* title,
    const google::protobuf::RepeatedPtrField<TensorMetadata>& tensors,
    std::ostream& out) {
  std::vector<std::vector<std::string>> rows = {{title, "DATATYPE", "SHAPE"}};
  for (const TensorMetadata& t : tensors) {
    rows.push_back({t.name(), t.datatype(),
                    absl::StrCat("[", absl::StrJoin(t.shape(), ", "), "]")});
  }
  out << "\n";
  PrintTable(rows, out);
}

// "latest 2", "all", "specific 1, 3", or "-" when unset.
std::string PolicyText(const inference::ModelVersionPolicy& policy) {
  switch (policy.policy_choice_case()) {
    case inference::ModelVersionPolicy::kLatest:
      return absl::StrCat("latest ", policy.latest().num_versions());
    case inference::ModelVersionPolicy::kAll:
      return "all";
    case inference::ModelVersionPolicy::kSpecific:
      return absl::StrCat("specific ",
                          absl::StrJoin(policy.specific().versions(), ", "));
    default:
      return "-";
  }
}

}  // namespace

void MetadataCommand::DefineArgs(ArgParser& args) {
  args.AddPositional("MODEL", &model_, "model name");
  args.AddString("version", "N", &version_,
                 "model version (default: the highest ready one)");
  args.AddBool("json", &json_, "print one JSON object");
  server_.Define(args);
  args.AddExample("ember metadata connect4", "inputs and outputs of connect4");
  args.AddExample("ember metadata lenet --json | jq '.inputs[0].shape'",
                  "the shape lenet expects");
}

absl::Status MetadataCommand::Run(std::ostream& out) {
  EMBER_ASSIGN_OR_RETURN(std::unique_ptr<EmberClient> client,
                         server_.Connect());
  absl::StatusOr<inference::ModelMetadataResponse> metadata =
      client->ModelMetadata(model_, version_);
  if (!metadata.ok()) return ServerError(metadata.status());
  // Batching and version policy come from Triton's ModelConfig extension;
  // a server without it (UNIMPLEMENTED) just leaves them out.
  absl::StatusOr<inference::ModelConfig> config =
      client->ModelConfig(model_, version_);
  if (!config.ok() &&
      config.status().code() != absl::StatusCode::kUnimplemented) {
    return ServerError(config.status());
  }

  if (json_) {
    json::Value doc = json::Value::MakeObject();
    doc.Set("name", json::Value::String(metadata->name()));
    json::Value versions = json::Value::MakeArray();
    for (const std::string& v : metadata->versions()) {
      versions.Append(json::Value::String(v));
    }
    doc.Set("versions", std::move(versions));
    doc.Set("platform", json::Value::String(metadata->platform()));
    if (config.ok()) {
      doc.Set("max_batch_size", json::Value::Int(config->max_batch_size()));
      doc.Set("version_policy",
              json::Value::String(PolicyText(config->version_policy())));
    }
    doc.Set("inputs", TensorsJson(metadata->inputs()));
    doc.Set("outputs", TensorsJson(metadata->outputs()));
    out << json::Write(doc, {.indent = 2}) << "\n";
    return absl::OkStatus();
  }
  std::vector<std::vector<std::string>> facts = {
      {"model", metadata->name()},
      {"versions", absl::StrJoin(metadata->versions(), ", ")},
      {"platform", metadata->platform()}};
  if (config.ok()) {
    facts.push_back(
        {"max batch size", config->max_batch_size() > 0
                               ? absl::StrCat(config->max_batch_size())
                               : "0 (not batched)"});
    facts.push_back({"version policy", PolicyText(config->version_policy())});
  }
  PrintTable(facts, out);
  PrintTensors("INPUT", metadata->inputs(), out);
  PrintTensors("OUTPUT", metadata->outputs(), out);
  return absl::OkStatus();
}

std::unique_ptr<Command> MakeMetadataCommand() {
  return std::make_unique<MetadataCommand>();
}

}  // namespace ember::client
