// A per-command argument parser for the `ember` CLI. Abseil flags are
// process-global; each command instead declares its own flags and
// positional arguments here, which also generates its `--help` text.
//
//   ArgParser args("ember convert", "Converts a Burn record.");
//   args.AddPositional("IN", &in, "record to read (.mpk or .mpk.gz)");
//   args.AddString("precision", "full|half|double", &precision,
//                  "precision to store");
//   args.AddExample("ember convert a.mpk b.mpk.gz --precision half",
//                   "half-precision gzip copy");
//   absl::Status s = args.Parse({"a.mpk", "b.mpk", "--precision=half"});
//
// Accepted syntax: `--name=value`, `--name value`, `--flag` for booleans,
// `-c value` for flags given a short name, `-h`/`--help`, and `--` to end
// flags. Flags and positionals may mix; a lone `-` is a positional (stdin).
// Not thread-safe; one parser per invocation.

#ifndef EMBER_CLIENT_COMMANDS_ARG_PARSER_H_
#define EMBER_CLIENT_COMMANDS_ARG_PARSER_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace ember::client {

class ArgParser {
 public:
  // `usage_name` is how the command is invoked ("ember inspect");
  // `description` is the paragraph at the top of its help.
  ArgParser(std::string usage_name, std::string description);

  // A boolean flag, false unless given as `--name` (or `--name=true`).
  void AddBool(std::string name, bool* value, std::string help);
  // A flag taking a value; `*value` keeps its default when not given.
  void AddString(std::string name, std::string value_name, std::string* value,
                 std::string help);
  // A flag that may be given several times; each value is appended.
  void AddStringList(std::string name, std::string value_name,
                     std::vector<std::string>* values, std::string help);
  // Makes `-c VALUE` (one letter, one dash) mean `--long_name VALUE`; the
  // long flag must be declared first.
  void AddShortName(char c, std::string long_name);
  // A required positional argument, filled in declaration order.
  void AddPositional(std::string name, std::string* value, std::string help);
  // An example invocation and what it does, shown in the help.
  void AddExample(std::string command_line, std::string explanation);

  // Fills the declared variables. InvalidArgument (a usage error) names the
  // unknown flag, the missing value or the missing/extra positional. After
  // `--help` it returns OK at once with help_requested() true.
  absl::Status Parse(const std::vector<std::string>& args);
  bool help_requested() const { return help_requested_; }

  // The full help: usage line, description, arguments, flags, examples.
  std::string Help() const;

 private:
  struct Flag {
    std::string name;
    std::string value_name;  // empty for booleans
    bool* bool_value = nullptr;
    std::string* string_value = nullptr;
    std::string help;
    std::vector<std::string>* list_value = nullptr;
    char short_name = 0;
  };
  struct Positional {
    std::string name;
    std::string* value;
    std::string help;
  };

  const Flag* FindFlag(absl::string_view name) const;
  // Stores `value` in the flag (appending for list flags).
  static void SetValue(const Flag& flag, std::string value);

  std::string usage_name_;
  std::string description_;
  std::vector<Flag> flags_;
  std::vector<Positional> positionals_;
  std::vector<std::pair<std::string, std::string>> examples_;
  bool help_requested_ = false;
};

}  // namespace ember::client

#endif  // EMBER_CLIENT_COMMANDS_ARG_PARSER_H_
