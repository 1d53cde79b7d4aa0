#include "server/records/repository_names.h"

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace ember::records {

absl::Status ValidateModelName(absl::string_view name) {
  if (name.empty()) {
    return absl::InvalidArgumentError("model name is empty");
  }
  if (name.size() > kMaxModelNameLength) {
    return absl::InvalidArgumentError(
        absl::StrCat("model name has ", name.size(), " characters; at most ",
                     kMaxModelNameLength, " are allowed"));
  }
  if (!absl::ascii_isalnum(static_cast<unsigned char>(name[0]))) {
    return absl::InvalidArgumentError(
        absl::StrCat("model name \"", absl::CEscape(name),
                     "\" must start with a letter or digit"));
  }
  for (char c : name) {
    const bool ok = absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
                    c == '_' || c == '-' || c == '.';
    if (!ok) {
      return absl::InvalidArgumentError(
          absl::StrCat("model name \"", absl::CEscape(name),
                       "\" may only hold letters, digits, '_', '-' and '.'"));
    }
  }
  if (absl::StrContains(name, "..")) {
    return absl::InvalidArgumentError(absl::StrCat(
        "model name \"", absl::CEscape(name), "\" must not contain \"..\""));
  }
  return absl::OkStatus();
}

absl::Status ValidateVersion(int64_t version) {
  if (version < 1 || version > kMaxVersion) {
    return absl::InvalidArgumentError(
        absl::StrCat("version ", version, " is outside 1..", kMaxVersion));
  }
  return absl::OkStatus();
}

int64_t ParseVersionDirectory(absl::string_view name) {
  if (name.empty() || name.size() > 16 || name[0] == '0') return -1;
  int64_t value = 0;
  for (char c : name) {
    if (c < '0' || c > '9') return -1;
    value = value * 10 + (c - '0');
  }
  return ValidateVersion(value).ok() ? value : -1;
}

}  // namespace ember::records
