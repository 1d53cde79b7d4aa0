// One look at a model repository: which models, configs, versions and
// record files are there right now.
//
// Layout:
//
//   <repository>/<model>/config.pbtxt
//   <repository>/<model>/<version>/model.mpk   (or model.mpk.gz, or the
//                                               config's record_file)
//
// Versions are positive decimal integers without leading zeros. Dot-files,
// `~` files and `.tmp` files are never part of the repository (editors and
// writers use them for work in progress). A scan only reports what it sees
// with each file's identity; deciding whether a file is complete, and what
// to load, is the watcher's and the manager's job.
//
//   LocalRepositoryFs fs;
//   absl::StatusOr<RepositorySnapshot> snapshot =
//       ScanRepository(fs, "/models");

#ifndef EMBER_SERVER_REPOSITORY_SCANNER_H_
#define EMBER_SERVER_REPOSITORY_SCANNER_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/repository_fs.h"

namespace ember::server {

// The record file of one version directory.
struct VersionFiles {
  int64_t version = 0;
  std::string record_path;  // full path
  FileInfo record_info;
  // Set by the watcher: the record is whole (renamed into place, closed
  // after writing, or unchanged across two looks).
  bool complete = false;
};

// What one model directory holds.
struct ModelFiles {
  std::string name;
  std::string dir;          // full path of the model directory
  std::string config_path;  // dir + "/config.pbtxt"
  // Not OK when the model directory, its config or a version directory
  // could not be read; the rest of the fields are then partial.
  absl::Status status;
  // The config's text and identity; empty text and NOT_FOUND status when
  // there is no config.pbtxt.
  std::string config_text;
  FileInfo config_info;
  bool config_complete = false;  // set by the watcher, as for records
  // Versions with a record file, by version number.
  std::map<int64_t, VersionFiles> versions;
  // Record names a version directory lists but that cannot be opened
  // (typically a symbolic link to a missing file), as "<version>/<name>:
  // <why>"; those versions are left out of `versions`.
  std::vector<std::string> unusable_records;
};

struct RepositorySnapshot {
  std::string root;
  std::map<std::string, ModelFiles> models;  // by model name
  // Every directory the scan listed (root, model and version directories),
  // for the watcher to watch.
  std::vector<std::string> directories;
};

// True for names the repository ignores: dot-files, "~" and ".tmp" files.
bool IsIgnoredName(absl::string_view name);

// Parses a version directory name; nullopt unless it is a positive decimal
// integer without sign or leading zeros.
std::optional<int64_t> ParseVersionDirName(absl::string_view name);

// Record file name used for `configured_name` (the config's record_file,
// possibly empty) among the names present in a version directory: the
// configured name, else "model.mpk", else "model.mpk.gz"; empty when none
// is present.
std::string ChooseRecordFile(absl::string_view configured_name,
                             const std::map<std::string, FileInfo>& files);

// Scans `root`. An error (NOT_FOUND, PERMISSION_DENIED, ...) means the
// repository itself could not be listed: callers must then keep their
// state, never read it as "no models". Problems inside one model are
// reported in that model's `status` and do not fail the scan.
// The record file name comes from the config's `record_file` when the
// config parses; otherwise the defaults apply.
absl::StatusOr<RepositorySnapshot> ScanRepository(const RepositoryFs& fs,
                                                  const std::string& root);

}  // namespace ember::server

#endif  // EMBER_SERVER_REPOSITORY_SCANNER_H_
