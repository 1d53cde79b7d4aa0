#include "client/commands/dispatch.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "client/commands/arg_parser.h"
#include "client/commands/command.h"

namespace ember::client {
namespace {

const CommandEntry* Find(absl::Span<const CommandEntry> commands,
                         const std::string& name) {
  for (const CommandEntry& c : commands) {
    if (name == c.name) return &c;
  }
  return nullptr;
}

void PrintOverview(absl::Span<const CommandEntry> commands, std::ostream& out) {
  out << "usage: ember COMMAND [arguments] [flags]\n\n"
         "Works with Burn model records and Ember servers.\n\ncommands:\n";
  size_t width = 4;
  for (const CommandEntry& c : commands) {
    width = std::max(width, std::strlen(c.name));
  }
  for (const CommandEntry& c : commands) {
    out << "  " << c.name << std::string(width + 2 - std::strlen(c.name), ' ')
        << c.summary << "\n";
  }
  out << "  help" << std::string(width - 2, ' ')
      << "this overview, or `ember help COMMAND` for one command\n"
      << "\nRun `ember COMMAND --help` for a command's flags and examples.\n";
}

// Builds the command's parser (declaring its arguments).
ArgParser MakeParser(const CommandEntry& entry, Command& command) {
  ArgParser parser(std::string("ember ") + entry.name, entry.description);
  command.DefineArgs(parser);
  return parser;
}

}  // namespace

int RunCli(absl::Span<const CommandEntry> commands,
           const std::vector<std::string>& args, std::ostream& out,
           std::ostream& err) {
  if (args.empty()) {
    PrintOverview(commands, err);
    return kExitUsage;
  }
  const std::string& name = args[0];
  if (name == "help" || name == "--help" || name == "-h") {
    if (args.size() == 1) {
      PrintOverview(commands, out);
      return kExitOk;
    }
    const CommandEntry* entry = Find(commands, args[1]);
    if (entry == nullptr || args.size() > 2) {
      err << "ember help: unknown command \"" << args[1]
          << "\" (run `ember help`)\n";
      return kExitUsage;
    }
    std::unique_ptr<Command> command = entry->make();
    out << MakeParser(*entry, *command).Help();
    return kExitOk;
  }
  const CommandEntry* entry = Find(commands, name);
  if (entry == nullptr) {
    err << "ember: unknown command \"" << name << "\" (run `ember help`)\n";
    return kExitUsage;
  }
  std::unique_ptr<Command> command = entry->make();
  ArgParser parser = MakeParser(*entry, *command);
  const absl::Status parsed =
      parser.Parse(std::vector<std::string>(args.begin() + 1, args.end()));
  if (parser.help_requested()) {
    out << parser.Help();
    return kExitOk;
  }
  const absl::Status valid = parsed.ok() ? command->Validate() : parsed;
  if (!valid.ok()) {
    err << "ember " << name << ": " << valid.message() << " (run `ember "
        << name << " --help`)\n";
    return kExitUsage;
  }
  const absl::Status ran = command->Run(out);
  out.flush();
  if (!ran.ok()) {
    std::string message(ran.message());
    std::replace(message.begin(), message.end(), '\n', ' ');
    err << "ember " << name << ": " << message << "\n";
    return ExitCodeOf(ran);
  }
  return kExitOk;
}

}  // namespace ember::client
