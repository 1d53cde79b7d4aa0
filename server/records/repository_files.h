// Crash-safe writes into an Ember model repository, and the cleanup that
// goes with them.
//
// The daemon's watcher reloads whatever appears under
// `<repo>/<model>/<version>/`, so nothing may appear there half written.
// Every write here is built under a temp name that starts with
// `kTempPrefix` (the watcher ignores names starting with '.'), made durable
// with fsync, then renamed into place and the parent directory fsynced. A
// failure at any step removes what was built; a process killed midway
// leaves only temp names, which `CleanStaleTempFiles` removes at the next
// start.
//
//   EMBER_ASSIGN_OR_RETURN(std::unique_ptr<StagedDirectory> staged,
//                          StagedDirectory::Create(repo + "/connect4"));
//   EMBER_RETURN_IF_ERROR(staged->WriteFile("model.mpk", bytes));
//   EMBER_RETURN_IF_ERROR(staged->Commit(repo + "/connect4/4"));

#ifndef EMBER_SERVER_RECORDS_REPOSITORY_FILES_H_
#define EMBER_SERVER_RECORDS_REPOSITORY_FILES_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ember::records {

// Prefix of every temp file and directory this library creates.
inline constexpr absl::string_view kTempPrefix = ".ember-tmp-";

// Status for a failed system call: RESOURCE_EXHAUSTED for ENOSPC, EDQUOT
// and EFBIG (the disk, the quota or the file size limit is full), NOT_FOUND
// for ENOENT, ALREADY_EXISTS for EEXIST/ENOTEMPTY, INTERNAL otherwise. The
// message names the operation, the path and the system's reason.
absl::Status ErrnoToStatus(int error, absl::string_view operation,
                           absl::string_view path);

// Writes all of `data` to `fd`, retrying short writes and EINTR.
absl::Status WriteAll(int fd, absl::string_view data, absl::string_view path);

// The version directories of `model_dir` (names ParseVersionDirectory
// accepts), ascending. NOT_FOUND when `model_dir` does not exist.
absl::StatusOr<std::vector<int64_t>> ListVersions(const std::string& model_dir);

// The model directories of repository `root`: subdirectories whose names
// ValidateModelName accepts (so no temp or hidden names), sorted. NOT_FOUND
// when `root` does not exist.
absl::StatusOr<std::vector<std::string>> ListModelDirectories(
    const std::string& root);

// True when `path` exists (any type).
bool PathExists(const std::string& path);

// Replaces (or creates) the file at `path` with `data` atomically: temp
// file in the same directory, fsync, rename, fsync of the directory.
absl::Status WriteFileAtomically(const std::string& path,
                                 absl::string_view data);

// A file's bytes, mapped read-only (unmapped when destroyed) or, where the
// file system cannot map files, read into memory. Mapped bytes are the
// page cache's, so reading them copies nothing. Whoever maps a file must
// own it: truncating a mapped file makes reads past the new end fault.
class MappedFile {
 public:
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  absl::string_view bytes() const {
    return absl::string_view(static_cast<const char*>(data_), size_);
  }
  // False when the bytes were read into memory instead.
  bool mapped() const { return copy_.empty(); }

 private:
  friend class StagedFile;
  MappedFile(void* data, uint64_t size) : data_(data), size_(size) {}
  explicit MappedFile(std::string copy)
      : copy_(std::move(copy)), data_(copy_.data()), size_(copy_.size()) {}

  std::string copy_;  // the bytes, when not mapped
  void* data_;
  uint64_t size_;
};

// A new file being written piece by piece (inside a StagedDirectory).
// Write-back to disk starts as data arrives, so the final fsync has little
// left to flush. Not thread-safe. Closed (not removed) when destroyed.
class StagedFile {
 public:
  ~StagedFile();
  StagedFile(const StagedFile&) = delete;
  StagedFile& operator=(const StagedFile&) = delete;

  // Appends `data`; errors as ErrnoToStatus.
  absl::Status Append(absl::string_view data);
  // Maps what was appended so far (at least one byte), for reading it back
  // without a copy; falls back to Read where the file system cannot map.
  // Call before Finish. The result outlives the file object.
  absl::StatusOr<std::shared_ptr<const MappedFile>> Map() const;
  // Reads what was appended so far into memory. Call before Finish.
  absl::StatusOr<std::shared_ptr<const MappedFile>> Read() const;
  // Fsyncs and closes. Call once, after the last Append.
  absl::Status Finish();
  uint64_t size() const { return size_; }

 private:
  friend class StagedDirectory;
  StagedFile(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}

  int fd_;
  std::string path_;
  uint64_t size_ = 0;
  uint64_t flushed_ = 0;  // bytes whose write-back has been started
};

// A directory built under a temp name inside `parent`, then renamed into
// place whole. Removed with everything in it when destroyed uncommitted.
// Not thread-safe.
class StagedDirectory {
 public:
  static absl::StatusOr<std::unique_ptr<StagedDirectory>> Create(
      const std::string& parent);
  ~StagedDirectory();

  StagedDirectory(const StagedDirectory&) = delete;
  StagedDirectory& operator=(const StagedDirectory&) = delete;

  // The temp directory's path.
  const std::string& path() const { return path_; }

  // Creates `relative` (one level, e.g. "3") inside the directory.
  absl::Status MakeDirectory(const std::string& relative);
  // Writes a new file `relative` (e.g. "3/model.mpk") and fsyncs it.
  absl::Status WriteFile(const std::string& relative, absl::string_view data);
  // Creates a new file `relative` to be written piece by piece.
  absl::StatusOr<std::unique_ptr<StagedFile>> CreateFile(
      const std::string& relative);
  // Renames `from` to `to`, both relative, inside the directory.
  absl::Status Rename(const std::string& from, const std::string& to);
  // Removes the file `relative`.
  absl::Status Remove(const std::string& relative);

  // Fsyncs every directory made, renames the temp directory to `target`
  // (which must not exist: ALREADY_EXISTS otherwise, never replaced) and
  // fsyncs `target`'s parent. After an error the directory is still
  // staged and is removed on destruction.
  absl::Status Commit(const std::string& target);

 private:
  explicit StagedDirectory(std::string path) : path_(std::move(path)) {}

  std::string path_;
  // Holds the flock that marks the directory as in use until committed.
  int lock_fd_ = -1;
  std::vector<std::string> directories_;  // made inside, relative
  bool committed_ = false;
};

// Removes everything whose name starts with kTempPrefix directly under
// `repository` and directly under each of its model directories: what a
// process killed during a write leaves. Call before the watcher starts.
// Temp names a running writer holds (every writer here keeps an exclusive
// flock on its temp file or directory until it is renamed into place) are
// left alone, so a daemon starting beside another on the same repository
// never removes the other's upload in progress. Returns how many entries
// were removed.
absl::StatusOr<int> CleanStaleTempFiles(const std::string& repository);

}  // namespace ember::records

#endif  // EMBER_SERVER_RECORDS_REPOSITORY_FILES_H_
