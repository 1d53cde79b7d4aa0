#include "client/commands/arg_parser.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace ember::client {

ArgParser::ArgParser(std::string usage_name, std::string description)
    : usage_name_(std::move(usage_name)),
      description_(std::move(description)) {}

void ArgParser::AddBool(std::string name, bool* value, std::string help) {
  flags_.push_back(Flag{std::move(name), "", value, nullptr, std::move(help)});
}

void ArgParser::AddString(std::string name, std::string value_name,
                          std::string* value, std::string help) {
  flags_.push_back(Flag{std::move(name), std::move(value_name), nullptr, value,
                        std::move(help)});
}

void ArgParser::AddStringList(std::string name, std::string value_name,
                              std::vector<std::string>* values,
                              std::string help) {
  Flag flag{std::move(name), std::move(value_name), nullptr, nullptr,
            std::move(help)};
  flag.list_value = values;
  flags_.push_back(std::move(flag));
}

void ArgParser::AddShortName(char c, std::string long_name) {
  for (Flag& f : flags_) {
    if (f.name == long_name) f.short_name = c;
  }
}

void ArgParser::SetValue(const Flag& flag, std::string value) {
  if (flag.list_value != nullptr) {
    flag.list_value->push_back(std::move(value));
  } else {
    *flag.string_value = std::move(value);
  }
}

void ArgParser::AddPositional(std::string name, std::string* value,
                              std::string help) {
  positionals_.push_back(Positional{std::move(name), value, std::move(help)});
}

void ArgParser::AddExample(std::string command_line, std::string explanation) {
  examples_.emplace_back(std::move(command_line), std::move(explanation));
}

const ArgParser::Flag* ArgParser::FindFlag(absl::string_view name) const {
  for (const Flag& f : flags_) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

absl::Status ArgParser::Parse(const std::vector<std::string>& args) {
  size_t next_positional = 0;
  bool flags_done = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (!flags_done && (arg == "-h" || arg == "--help")) {
      help_requested_ = true;
      return absl::OkStatus();
    }
    if (!flags_done && arg == "--") {
      flags_done = true;
      continue;
    }
    if (!flags_done && absl::StartsWith(arg, "--")) {
      absl::string_view body = absl::string_view(arg).substr(2);
      absl::string_view name = body;
      absl::string_view inline_value;
      bool has_inline = false;
      const size_t eq = body.find('=');
      if (eq != absl::string_view::npos) {
        name = body.substr(0, eq);
        inline_value = body.substr(eq + 1);
        has_inline = true;
      }
      const Flag* flag = FindFlag(name);
      if (flag == nullptr) {
        return absl::InvalidArgumentError(
            absl::StrCat("unknown flag --", name));
      }
      if (flag->bool_value != nullptr) {
        if (!has_inline || inline_value == "true") {
          *flag->bool_value = true;
        } else if (inline_value == "false") {
          *flag->bool_value = false;
        } else {
          return absl::InvalidArgumentError(
              absl::StrCat("--", name, " takes no value (or =true / =false)"));
        }
        continue;
      }
      if (has_inline) {
        SetValue(*flag, std::string(inline_value));
      } else if (i + 1 < args.size()) {
        SetValue(*flag, args[++i]);
      } else {
        return absl::InvalidArgumentError(absl::StrCat(
            "--", name, " needs a value (", flag->value_name, ")"));
      }
      continue;
    }
    if (!flags_done && arg.size() == 2 && arg[0] == '-') {
      const Flag* flag = nullptr;
      for (const Flag& f : flags_) {
        if (f.short_name == arg[1] && f.short_name != 0) flag = &f;
      }
      if (flag != nullptr && flag->bool_value != nullptr) {
        *flag->bool_value = true;
        continue;
      }
      if (flag != nullptr) {
        if (i + 1 >= args.size()) {
          return absl::InvalidArgumentError(
              absl::StrCat(arg, " needs a value (", flag->value_name, ")"));
        }
        SetValue(*flag, args[++i]);
        continue;
      }
    }
    if (!flags_done && arg.size() > 1 && arg[0] == '-') {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag ", arg));
    }
    if (next_positional >= positionals_.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat("unexpected argument \"", arg, "\""));
    }
    *positionals_[next_positional++].value = arg;
  }
  if (next_positional < positionals_.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("missing argument ", positionals_[next_positional].name));
  }
  return absl::OkStatus();
}

std::string ArgParser::Help() const {
  std::string out = absl::StrCat("usage: ", usage_name_);
  for (const Positional& p : positionals_) absl::StrAppend(&out, " ", p.name);
  if (!flags_.empty()) absl::StrAppend(&out, " [flags]");
  absl::StrAppend(&out, "\n\n", description_, "\n");
  size_t width = 0;
  for (const Positional& p : positionals_)
    width = std::max(width, p.name.size());
  for (const Flag& f : flags_) {
    width = std::max(width,
                     f.name.size() + 2 + (f.short_name != 0 ? 4 : 0) +
                         (f.value_name.empty() ? 0 : f.value_name.size() + 1));
  }
  auto line = [&](const std::string& left, const std::string& help) {
    absl::StrAppend(&out, "  ", left, std::string(width + 2 - left.size(), ' '),
                    help, "\n");
  };
  if (!positionals_.empty()) {
    absl::StrAppend(&out, "\narguments:\n");
    for (const Positional& p : positionals_) line(p.name, p.help);
  }
  absl::StrAppend(&out, "\nflags:\n");
  for (const Flag& f : flags_) {
    line(absl::StrCat(
             f.short_name != 0
                 ? absl::StrCat("-", std::string(1, f.short_name), ", ")
                 : "",
             "--", f.name,
             f.value_name.empty() ? "" : absl::StrCat("=", f.value_name)),
         f.list_value != nullptr ? absl::StrCat(f.help, " (repeatable)")
                                 : f.help);
  }
  line("--help", "show this help");
  if (!examples_.empty()) {
    absl::StrAppend(&out, "\nexamples:\n");
    for (const auto& [cmd, what] : examples_) {
      absl::StrAppend(&out, "  ", cmd, "\n      ", what, "\n");
    }
  }
  return out;
}

}  // namespace ember::client
