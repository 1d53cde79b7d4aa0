// `ember load MODEL` and `ember unload MODEL`: ask the server to (re)load
// a model from its repository, or to stop serving it.
//
//   $ ember unload connect4
//   unloaded connect4

#ifndef EMBER_CLIENT_COMMANDS_REPOSITORY_COMMAND_H_
#define EMBER_CLIENT_COMMANDS_REPOSITORY_COMMAND_H_

#include <memory>
#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "client/commands/arg_parser.h"
#include "client/commands/command.h"
#include "client/commands/server_command.h"

namespace ember::client {

// One invocation of `ember load` (load = true) or `ember unload`; not
// thread-safe.
class RepositoryCommand : public Command {
 public:
  static constexpr const char* kLoadName = "load";
  static constexpr const char* kLoadSummary =
      "load (or reload) a model from the server's repository";
  static constexpr const char* kLoadDescription =
      "Asks the server to load MODEL's versions from its repository now "
      "(reloading\nthem when already served) and to serve it again after an "
      "unload.";
  static constexpr const char* kUnloadName = "unload";
  static constexpr const char* kUnloadSummary = "stop serving a model";
  static constexpr const char* kUnloadDescription =
      "Asks the server to unload every version of MODEL; its files stay in "
      "the\nrepository and `ember load` serves it again.";

  explicit RepositoryCommand(bool load) : load_(load) {}

  void DefineArgs(ArgParser& args) override;
  absl::Status Validate() override { return server_.Validate(); }
  absl::Status Run(std::ostream& out) override;

 private:
  const bool load_;
  ServerFlags server_;
  std::string model_;
};

std::unique_ptr<Command> MakeLoadCommand();
std::unique_ptr<Command> MakeUnloadCommand();

}  // namespace ember::client

#endif  // EMBER_CLIENT_COMMANDS_REPOSITORY_COMMAND_H_
