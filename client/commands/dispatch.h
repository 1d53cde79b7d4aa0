// Runs an `ember` command line against a table of commands: `ember help`,
// `ember help NAME`, `ember NAME --help`, and `ember NAME ARGS...`.
//
//   const CommandEntry kCommands[] = {{"inspect", ..., &MakeInspectCommand}};
//   return RunCli(kCommands, args, std::cout, std::cerr);
//
// Thread-compatible: one call per invocation.

#ifndef EMBER_CLIENT_COMMANDS_DISPATCH_H_
#define EMBER_CLIENT_COMMANDS_DISPATCH_H_

#include <ostream>
#include <string>
#include <vector>

#include "absl/types/span.h"
#include "client/commands/command.h"

namespace ember::client {

// `args` excludes the program name. Returns the process exit code (see
// ExitCode); errors are one line on `err`, prefixed "ember NAME: ".
int RunCli(absl::Span<const CommandEntry> commands,
           const std::vector<std::string>& args, std::ostream& out,
           std::ostream& err);

}  // namespace ember::client

#endif  // EMBER_CLIENT_COMMANDS_DISPATCH_H_
