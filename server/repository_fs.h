// File access for the model repository, behind one small interface.
//
// Everything the daemon learns about a repository (directory listings, file
// identities, config text) comes through a RepositoryFs, so other storage
// backends and fault injection in tests plug in without touching the
// watcher or the manager.
//
//   LocalRepositoryFs fs;
//   EMBER_ASSIGN_OR_RETURN(std::vector<std::string> names,
//                          fs.ListDir("/models"));
//   EMBER_ASSIGN_OR_RETURN(FileInfo info, fs.Stat("/models/a/1/model.mpk"));

#ifndef EMBER_SERVER_REPOSITORY_FS_H_
#define EMBER_SERVER_REPOSITORY_FS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace ember::server {

// What a Stat call reports. Two looks at a file with equal FileInfo (inode,
// size and modification time) are taken to see the same, unchanged content.
struct FileInfo {
  bool is_directory = false;
  bool is_regular = false;
  int64_t size = 0;
  int64_t mtime_ns = 0;
  uint64_t inode = 0;
  uint64_t device = 0;

  // True when both describe the same file content (kind ignored).
  bool SameContent(const FileInfo& other) const {
    return size == other.size && mtime_ns == other.mtime_ns &&
           inode == other.inode && device == other.device;
  }
};

// Read-only view of a file tree. Implementations are thread-safe.
class RepositoryFs {
 public:
  virtual ~RepositoryFs() = default;

  // Names of the entries of directory `path` (no "." or ".."), unsorted.
  // NOT_FOUND when `path` does not exist; another error when it cannot be
  // read.
  virtual absl::StatusOr<std::vector<std::string>> ListDir(
      const std::string& path) const = 0;

  // Information about `path`, following symbolic links. NOT_FOUND when it
  // (or the link's target) does not exist.
  virtual absl::StatusOr<FileInfo> Stat(const std::string& path) const = 0;

  // The whole content of the regular file `path`.
  virtual absl::StatusOr<std::string> ReadFile(
      const std::string& path) const = 0;
};

// RepositoryFs over the local (POSIX) file system. Thread-safe, stateless.
class LocalRepositoryFs : public RepositoryFs {
 public:
  absl::StatusOr<std::vector<std::string>> ListDir(
      const std::string& path) const override;
  absl::StatusOr<FileInfo> Stat(const std::string& path) const override;
  absl::StatusOr<std::string> ReadFile(const std::string& path) const override;
};

}  // namespace ember::server

#endif  // EMBER_SERVER_REPOSITORY_FS_H_
