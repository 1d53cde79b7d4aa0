#include "server/repository_scanner.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "google/protobuf/text_format.h"
#include "proto/model_config.pb.h"

namespace ember::server {
namespace {

constexpr char kConfigName[] = "config.pbtxt";

// The configured record file name, or "" when the config does not parse
// (the manager reports the parse error; the scan just uses the defaults).
std::string ConfiguredRecordFile(const std::string& config_text) {
  config::ModelConfig config;
  google::protobuf::TextFormat::Parser parser;
  parser.AllowUnknownField(true);
  if (!parser.ParseFromString(config_text, &config)) return "";
  return config.record_file();
}

// Fills `version` from the directory `dir` (version directory `entry` of
// its model); a version directory without a record file yields false.
// Record names listed but impossible to open are added to `unusable`.
absl::StatusOr<bool> ScanVersionDir(const RepositoryFs& fs,
                                    const std::string& dir,
                                    const std::string& entry,
                                    const std::string& record_file,
                                    VersionFiles* version,
                                    std::vector<std::string>* unusable) {
  EMBER_ASSIGN_OR_RETURN(std::vector<std::string> names, fs.ListDir(dir));
  std::map<std::string, FileInfo> files;
  for (const std::string& name : names) {
    if (IsIgnoredName(name)) continue;
    if (name != record_file && name != "model.mpk" && name != "model.mpk.gz") {
      continue;
    }
    absl::StatusOr<FileInfo> info = fs.Stat(dir + "/" + name);
    if (absl::IsNotFound(info.status())) {
      // Listed a moment ago: a symbolic link to a missing file (or a
      // record removed in between, which the next scan no longer lists).
      unusable->push_back(absl::StrCat(entry, "/", name, ": ",
                                       info.status().message(),
                                       " (a symbolic link to a missing "
                                       "file?)"));
      continue;
    }
    if (!info.ok()) return info.status();
    if (info->is_regular) files[name] = *info;
  }
  const std::string chosen = ChooseRecordFile(record_file, files);
  if (chosen.empty()) return false;
  version->record_path = dir + "/" + chosen;
  version->record_info = files[chosen];
  return true;
}

ModelFiles ScanModelDir(const RepositoryFs& fs, const std::string& name,
                        const std::string& dir,
                        std::vector<std::string>* directories) {
  ModelFiles model;
  model.name = name;
  model.dir = dir;
  model.config_path = dir + "/" + kConfigName;
  directories->push_back(dir);

  absl::StatusOr<FileInfo> config_info = fs.Stat(model.config_path);
  if (!config_info.ok()) {
    model.status = config_info.status();
    return model;
  }
  model.config_info = *config_info;
  absl::StatusOr<std::string> text = fs.ReadFile(model.config_path);
  if (!text.ok()) {
    model.status = text.status();
    return model;
  }
  model.config_text = *std::move(text);
  const std::string record_file = ConfiguredRecordFile(model.config_text);

  absl::StatusOr<std::vector<std::string>> names = fs.ListDir(dir);
  if (!names.ok()) {
    model.status = names.status();
    return model;
  }
  for (const std::string& entry : *names) {
    std::optional<int64_t> number = ParseVersionDirName(entry);
    if (!number.has_value()) continue;
    const std::string version_dir = dir + "/" + entry;
    absl::StatusOr<FileInfo> info = fs.Stat(version_dir);
    if (!info.ok() || !info->is_directory) continue;
    directories->push_back(version_dir);
    VersionFiles version;
    version.version = *number;
    absl::StatusOr<bool> found = ScanVersionDir(
        fs, version_dir, entry, record_file, &version, &model.unusable_records);
    if (!found.ok()) {
      // Keep scanning the other versions; the model reports the problem
      // and the manager leaves this model's versions as they are.
      if (model.status.ok()) model.status = found.status();
      continue;
    }
    if (*found) model.versions[*number] = std::move(version);
  }
  return model;
}

}  // namespace

bool IsIgnoredName(absl::string_view name) {
  return name.empty() || absl::StartsWith(name, ".") ||
         absl::EndsWith(name, "~") || absl::EndsWith(name, ".tmp");
}

std::optional<int64_t> ParseVersionDirName(absl::string_view name) {
  if (name.empty() || name.size() > 18 || name[0] == '0') return std::nullopt;
  for (char c : name) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) {
      return std::nullopt;
    }
  }
  int64_t value = 0;
  if (!absl::SimpleAtoi(name, &value) || value <= 0) return std::nullopt;
  return value;
}

std::string ChooseRecordFile(absl::string_view configured_name,
                             const std::map<std::string, FileInfo>& files) {
  if (!configured_name.empty()) {
    return files.count(std::string(configured_name)) > 0
               ? std::string(configured_name)
               : "";
  }
  if (files.count("model.mpk") > 0) return "model.mpk";
  if (files.count("model.mpk.gz") > 0) return "model.mpk.gz";
  return "";
}

absl::StatusOr<RepositorySnapshot> ScanRepository(const RepositoryFs& fs,
                                                  const std::string& root) {
  absl::StatusOr<std::vector<std::string>> names = fs.ListDir(root);
  if (!names.ok()) {
    return absl::Status(names.status().code(),
                        absl::StrCat("model repository unreadable: ",
                                     names.status().message()));
  }
  RepositorySnapshot snapshot;
  snapshot.root = root;
  snapshot.directories.push_back(root);
  for (const std::string& name : *names) {
    if (IsIgnoredName(name)) continue;
    const std::string dir = root + "/" + name;
    absl::StatusOr<FileInfo> info = fs.Stat(dir);
    if (!info.ok() || !info->is_directory) continue;
    snapshot.models[name] = ScanModelDir(fs, name, dir, &snapshot.directories);
  }
  return snapshot;
}

}  // namespace ember::server
