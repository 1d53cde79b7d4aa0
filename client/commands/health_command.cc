#include "client/commands/health_command.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/json.h"
#include "common/status_macros.h"

namespace ember::client {

void HealthCommand::DefineArgs(ArgParser& args) {
  args.AddString("model", "NAME", &model_,
                 "also check that this model has a ready version");
  args.AddBool("json", &json_, "print one JSON object");
  server_.Define(args);
  args.AddExample("ember health", "is the server at localhost:8001 up?");
  args.AddExample("ember health --server 10.0.0.5:8001 --model connect4",
                  "is connect4 being served there?");
}

absl::Status HealthCommand::Run(std::ostream& out) {
  EMBER_ASSIGN_OR_RETURN(std::unique_ptr<EmberClient> client,
                         server_.Connect());
  absl::StatusOr<bool> live = client->ServerLive();
  if (!live.ok()) return ServerError(live.status());
  absl::StatusOr<bool> ready = client->ServerReady();
  if (!ready.ok()) return ServerError(ready.status());
  absl::StatusOr<HealthState> health = client->HealthCheck();
  if (!health.ok()) return ServerError(health.status());

  std::vector<std::vector<std::string>> rows = {
      {"server", server_.server()},
      {"live", *live ? "true" : "false"},
      {"ready", *ready ? "true" : "false"},
      {"health", std::string(HealthStateName(*health))},
  };
  json::Value doc = json::Value::MakeObject();
  doc.Set("server", json::Value::String(server_.server()));
  doc.Set("live", json::Value::Bool(*live));
  doc.Set("ready", json::Value::Bool(*ready));
  doc.Set("health", json::Value::String(std::string(HealthStateName(*health))));
  bool up = *live && *ready && *health == HealthState::kServing;
  std::string problem = up ? "" : "the server is not ready";

  if (!model_.empty()) {
    absl::StatusOr<bool> model_ready = client->ModelReady(model_);
    if (!model_ready.ok() &&
        model_ready.status().code() != absl::StatusCode::kNotFound) {
      return ServerError(model_ready.status());
    }
    absl::StatusOr<HealthState> model_health = client->HealthCheck(model_);
    if (!model_health.ok()) return ServerError(model_health.status());
    const bool is_ready = model_ready.ok() && *model_ready;
    rows.push_back({"model", model_});
    rows.push_back({"model ready", is_ready ? "true" : "false"});
    rows.push_back(
        {"model health", std::string(HealthStateName(*model_health))});
    doc.Set("model", json::Value::String(model_));
    doc.Set("model_ready", json::Value::Bool(is_ready));
    doc.Set("model_health",
            json::Value::String(std::string(HealthStateName(*model_health))));
    if (up && !is_ready) {
      up = false;
      problem = model_ready.ok()
                    ? absl::StrCat("model ", model_, " has no ready version")
                    : std::string(model_ready.status().message());
    }
  }

  if (json_) {
    out << json::Write(doc, {.indent = 2}) << "\n";
  } else {
    PrintTable(rows, out);
  }
  if (!up) return absl::UnavailableError(problem);
  return absl::OkStatus();
}

std::unique_ptr<Command> MakeHealthCommand() {
  return std::make_unique<HealthCommand>();
}

}  // namespace ember::client
