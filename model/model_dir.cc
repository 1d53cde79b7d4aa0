#include "model/model_dir.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace ember::model {
namespace {

bool IsRegularFile(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// The first of `names` that exists in `dir`, or "".
std::string FindIn(const std::string& dir,
                   const std::vector<std::string>& names) {
  for (const std::string& name : names) {
    std::string path = absl::StrCat(dir, "/", name);
    if (IsRegularFile(path)) return path;
  }
  return "";
}

}  // namespace

absl::StatusOr<std::string> FindServedRecord(
    const std::string& dir, const config::ModelConfig& config) {
  std::vector<std::string> names;
  if (!config.record_file().empty()) {
    names.push_back(config.record_file());
  } else {
    names = {"model.mpk", "model.mpk.gz"};
  }
  DIR* handle = opendir(dir.c_str());
  if (handle == nullptr) {
    return absl::NotFoundError(absl::StrCat(dir, ": not a readable directory"));
  }
  // Version directories are named like the daemon's repository expects:
  // a positive decimal integer without sign or leading zeros.
  std::vector<std::pair<int64_t, std::string>> versions;
  while (const dirent* entry = readdir(handle)) {
    int64_t version;
    const std::string name = entry->d_name;
    if (!name.empty() && name.size() <= 18 && name[0] != '0' &&
        std::all_of(name.begin(), name.end(), ::isdigit) &&
        absl::SimpleAtoi(name, &version) && version > 0) {
      versions.emplace_back(version, name);
    }
  }
  closedir(handle);
  std::sort(versions.rbegin(), versions.rend());
  for (const auto& [version, name] : versions) {
    std::string path = FindIn(absl::StrCat(dir, "/", name), names);
    if (!path.empty()) return path;
  }
  std::string direct = FindIn(dir, names);
  if (!direct.empty()) return direct;
  return absl::NotFoundError(absl::StrCat(
      dir, ": no record named ", absl::StrJoin(names, " or "),
      " in a version directory (", dir, "/<N>/) or in the directory itself"));
}

}  // namespace ember::model
