// The interface every `ember` subcommand implements, and the table entry
// that registers it. A command lives in its own file pair under
// client/commands/ and is listed once in client/ember_main.cc.
//
//   class HelloCommand : public Command {
//    public:
//     void DefineArgs(ArgParser& args) override {
//       args.AddPositional("NAME", &name_, "who to greet");
//     }
//     absl::Status Run(std::ostream& out) override {
//       out << "hello " << name_ << "\n";
//       return absl::OkStatus();
//     }
//    private:
//     std::string name_;
//   };
//
// Exit codes (set by the dispatcher): 0 when Run returns OK, 1 when it
// returns an error (printed as one line on stderr), 2 for usage errors,
// 3 for errors marked WithExitCode(..., kExitUnreachable).

#ifndef EMBER_CLIENT_COMMANDS_COMMAND_H_
#define EMBER_CLIENT_COMMANDS_COMMAND_H_

#include <memory>
#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/cord.h"
#include "absl/types/optional.h"
#include "client/commands/arg_parser.h"

namespace ember::client {

// Process exit codes shared by every command.
enum ExitCode {
  kExitOk = 0,
  kExitFailure = 1,      // bad input or a failed operation
  kExitUsage = 2,        // unknown command, flag or missing argument
  kExitUnreachable = 3,  // the server could not be reached at all
};

// Marks a Run error so the dispatcher exits with `code` instead of
// kExitFailure (the message is printed the same way).
inline absl::Status WithExitCode(absl::Status status, ExitCode code) {
  status.SetPayload("ember.cli/exit-code",
                    absl::Cord(std::string(1, static_cast<char>(code))));
  return status;
}

// The exit code a Run error asks for: the one set by WithExitCode, else
// kExitFailure.
inline int ExitCodeOf(const absl::Status& status) {
  const absl::optional<absl::Cord> code =
      status.GetPayload("ember.cli/exit-code");
  if (!code.has_value() || code->size() != 1) return kExitFailure;
  return static_cast<unsigned char>(std::string(*code)[0]);
}

// One subcommand. A fresh instance serves one invocation, so commands keep
// their parsed arguments as members; not thread-safe.
class Command {
 public:
  virtual ~Command() = default;
  // Declares flags, positionals and examples (called before parsing).
  virtual void DefineArgs(ArgParser& args) = 0;
  // Checks the parsed arguments' values (for example an enum flag); an
  // error here is a usage error. Default: nothing to check.
  virtual absl::Status Validate() { return absl::OkStatus(); }
  // Runs with the parsed arguments; normal output goes to `out`.
  virtual absl::Status Run(std::ostream& out) = 0;
};

// A row of the command table.
struct CommandEntry {
  const char* name;         // "inspect"
  const char* summary;      // one line for `ember help`
  const char* description;  // paragraph for `ember NAME --help`
  std::unique_ptr<Command> (*make)();
};

}  // namespace ember::client

#endif  // EMBER_CLIENT_COMMANDS_COMMAND_H_
