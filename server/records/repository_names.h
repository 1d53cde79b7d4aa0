// Which model names and version numbers a client may ask the repository for.
//
// Names become directory names under the repository root, so anything that
// could leave the root, hide from the watcher or clash with a temp file is
// refused before a path is built:
//
//   EMBER_RETURN_IF_ERROR(ValidateModelName(request.model()));
//   EMBER_RETURN_IF_ERROR(ValidateVersion(request.version()));
//   std::string dir = absl::StrCat(repo, "/", request.model(), "/",
//                                  request.version());

#ifndef EMBER_SERVER_RECORDS_REPOSITORY_NAMES_H_
#define EMBER_SERVER_RECORDS_REPOSITORY_NAMES_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace ember::records {

// Longest model name accepted.
inline constexpr size_t kMaxModelNameLength = 128;
// Highest version accepted: 2^53, the largest integer every JSON reader
// and every double holds exactly, so versions survive any client.
inline constexpr int64_t kMaxVersion = int64_t{1} << 53;

// OK when `name` is 1..128 characters from [A-Za-z0-9_.-], starts with a
// letter or digit (so no hidden names) and holds no "..". Otherwise
// INVALID_ARGUMENT saying which rule it breaks.
absl::Status ValidateModelName(absl::string_view name);

// OK when 1 <= version <= kMaxVersion; INVALID_ARGUMENT otherwise.
absl::Status ValidateVersion(int64_t version);

// Parses a version directory name: decimal digits only, no sign, no
// leading zero, within ValidateVersion's range. -1 when `name` is not one.
int64_t ParseVersionDirectory(absl::string_view name);

}  // namespace ember::records

#endif  // EMBER_SERVER_RECORDS_REPOSITORY_NAMES_H_
