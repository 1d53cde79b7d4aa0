// `ember health [--model NAME] [--json]`: whether a server is live, ready
// and SERVING (grpc.health.v1), and optionally whether one model is.
//
//   $ ember health
//   server  localhost:8001
//   live    true
//   ready   true
//   health  SERVING
//
// Exits 0 when everything asked about is up, 1 when the server answered
// but something is not (so `ember health && deploy` works), 3 when the
// server cannot be reached.

#ifndef EMBER_CLIENT_COMMANDS_HEALTH_COMMAND_H_
#define EMBER_CLIENT_COMMANDS_HEALTH_COMMAND_H_

#include <memory>
#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "client/commands/arg_parser.h"
#include "client/commands/command.h"
#include "client/commands/server_command.h"

namespace ember::client {

// One invocation of `ember health`; not thread-safe.
class HealthCommand : public Command {
 public:
  static constexpr const char* kName = "health";
  static constexpr const char* kSummary =
      "check that a server (or one model) is live, ready and serving";
  static constexpr const char* kDescription =
      "Asks the server whether it is live and ready (Open Inference "
      "Protocol) and\nfor its grpc.health.v1 status; with --model, also "
      "whether that model has a\nready version. Exits 0 when all are up, 1 "
      "when the server answers but\nsomething is not, 3 when the server "
      "cannot be reached.";

  void DefineArgs(ArgParser& args) override;
  absl::Status Validate() override { return server_.Validate(); }
  // JSON keys: server, live, ready, health, and with --model: model,
  // model_ready, model_health.
  absl::Status Run(std::ostream& out) override;

 private:
  ServerFlags server_;
  std::string model_;
  bool json_ = false;
};

std::unique_ptr<Command> MakeHealthCommand();

}  // namespace ember::client

#endif  // EMBER_CLIENT_COMMANDS_HEALTH_COMMAND_H_
