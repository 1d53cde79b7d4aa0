#include "client/commands/repository_command.h"

#include <memory>

#include "common/status_macros.h"

namespace ember::client {

void RepositoryCommand::DefineArgs(ArgParser& args) {
  args.AddPositional("MODEL", &model_, "model name");
  server_.Define(args);
  if (load_) {
    args.AddExample("ember load connect4", "serve connect4 (again)");
  } else {
    args.AddExample("ember unload connect4 --token-file ~/.ember/write",
                    "stop serving connect4 (needs the write token when the "
                    "server has tokens)");
  }
}

absl::Status RepositoryCommand::Run(std::ostream& out) {
  EMBER_ASSIGN_OR_RETURN(std::unique_ptr<EmberClient> client,
                         server_.Connect());
  const absl::Status status =
      load_ ? client->LoadModel(model_) : client->UnloadModel(model_);
  if (!status.ok()) return ServerError(status);
  out << (load_ ? "loaded " : "unloaded ") << model_ << "\n";
  return absl::OkStatus();
}

std::unique_ptr<Command> MakeLoadCommand() {
  return std::make_unique<RepositoryCommand>(true);
}

std::unique_ptr<Command> MakeUnloadCommand() {
  return std::make_unique<RepositoryCommand>(false);
}

}  // namespace ember::client
