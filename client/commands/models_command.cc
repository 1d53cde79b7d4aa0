#include "client/commands/models_command.h"

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/json.h"
#include "common/status_macros.h"

namespace ember::client {

void ModelsCommand::DefineArgs(ArgParser& args) {
  args.AddBool("ready", &ready_only_, "list only READY versions");
  args.AddBool("json", &json_, "print a JSON array");
  server_.Define(args);
  args.AddExample("ember models", "a table of every model version");
  args.AddExample(
      "ember models --json | jq -r '.[] | select(.state != "
      "\"READY\") | .name'",
      "names of models with a version that is not serving");
}

absl::Status ModelsCommand::Run(std::ostream& out) {
  EMBER_ASSIGN_OR_RETURN(std::unique_ptr<EmberClient> client,
                         server_.Connect());
  absl::StatusOr<std::vector<ModelVersionState>> models =
      client->ListModels(ready_only_);
  if (!models.ok()) return ServerError(models.status());

  // Stored records per model and version, in one call. A server without
  // the records service (or a token without read access) still gets its
  // table.
  std::map<std::string, std::map<int64_t, RecordInfo>> records;
  absl::StatusOr<std::vector<RecordInfo>> list = client->ListRecords("");
  if (!list.ok() && IsConnectionFailure(list.status())) {
    return ServerError(list.status());
  }
  if (list.ok()) {
    for (RecordInfo& info : *list) {
      records[info.model()][info.version()] = std::move(info);
    }
  }

  std::vector<std::vector<std::string>> rows = {
      {"MODEL", "VERSION", "STATE", "PRECISION", "SIZE", "LAST ERROR"}};
  json::Value doc = json::Value::MakeArray();
  for (const ModelVersionState& m : *models) {
    const RecordInfo* info = nullptr;
    int64_t version = 0;
    if (absl::SimpleAtoi(m.version, &version)) {
      auto it = records[m.name].find(version);
      if (it != records[m.name].end()) info = &it->second;
    }
    // A listed record the server cannot decode has no precision or format
    // (0 on the wire, which in requests means "as stored").
    const std::string precision =
        info != nullptr && info->precision() != records::v1::PRECISION_KEEP
            ? std::string(PrecisionName(info->precision()))
            : "";
    rows.push_back({m.name, m.version.empty() ? "-" : m.version, m.state,
                    precision.empty() ? "-" : precision,
                    info != nullptr ? HumanBytes(info->size()) : "-",
                    m.reason});
    json::Value row = json::Value::MakeObject();
    row.Set("name", json::Value::String(m.name));
    row.Set("version", json::Value::String(m.version));
    row.Set("state", json::Value::String(m.state));
    row.Set("precision", json::Value::String(precision));
    row.Set("format",
            json::Value::String(
                info != nullptr && info->format() != records::v1::FORMAT_KEEP
                    ? std::string(RecordFormatName(info->format()))
                    : ""));
    row.Set("size", info != nullptr ? json::Value::Uint(info->size())
                                    : json::Value::Null());
    row.Set("sha256",
            json::Value::String(info != nullptr ? info->sha256() : ""));
    row.Set("error", json::Value::String(m.reason));
    doc.Append(std::move(row));
  }
  if (json_) {
    out << json::Write(doc, {.indent = 2}) << "\n";
  } else if (models->empty()) {
    out << "no models\n";
  } else {
    PrintTable(rows, out);
  }
  return absl::OkStatus();
}

std::unique_ptr<Command> MakeModelsCommand() {
  return std::make_unique<ModelsCommand>();
}

}  // namespace ember::client
