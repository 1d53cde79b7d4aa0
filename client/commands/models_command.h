// `ember models [--ready] [--json]`: every model version the server knows,
// with its state, the stored record's precision and size, and why a
// version is not serving.
//
//   $ ember models
//   MODEL     VERSION  STATE  PRECISION  SIZE      LAST ERROR
//   connect4  1        READY  full       19.8 KiB
//   lenet     1        READY  half       889.3 KiB
//
// Precision and size come from the records service; they show as "-"
// when the server does not offer it or the token may not read records.

#ifndef EMBER_CLIENT_COMMANDS_MODELS_COMMAND_H_
#define EMBER_CLIENT_COMMANDS_MODELS_COMMAND_H_

#include <memory>
#include <ostream>

#include "absl/status/status.h"
#include "client/commands/arg_parser.h"
#include "client/commands/command.h"
#include "client/commands/server_command.h"

namespace ember::client {

// One invocation of `ember models`; not thread-safe.
class ModelsCommand : public Command {
 public:
  static constexpr const char* kName = "models";
  static constexpr const char* kSummary =
      "list the server's models and versions with their state";
  static constexpr const char* kDescription =
      "Lists every model version in the server's repository: its state "
      "(READY,\nLOADING, UNAVAILABLE, ...), the stored record's precision and "
      "size, and the\nlast error of a version that is not serving.";

  void DefineArgs(ArgParser& args) override;
  absl::Status Validate() override { return server_.Validate(); }
  // JSON: an array of {name, version, state, precision, format, size,
  // sha256, error}; precision/format/sha256 empty and size null when the
  // records service could not say.
  absl::Status Run(std::ostream& out) override;

 private:
  ServerFlags server_;
  bool ready_only_ = false;
  bool json_ = false;
};

std::unique_ptr<Command> MakeModelsCommand();

}  // namespace ember::client

#endif  // EMBER_CLIENT_COMMANDS_MODELS_COMMAND_H_
