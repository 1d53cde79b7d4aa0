#include "server/records/repository_files.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <system_error>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "glog/logging.h"
#include "server/records/repository_names.h"

namespace ember::records {
namespace {

// Closes a descriptor on scope exit unless released.
class ScopedFd {
 public:
  explicit ScopedFd(int fd) : fd_(fd) {}
  ~ScopedFd() {
    if (fd_ >= 0) close(fd_);
  }
  int get() const { return fd_; }
  // Closes now, reporting the error close gives (NFS reports late write
  // failures here).
  absl::Status Close(absl::string_view path) {
    const int fd = fd_;
    fd_ = -1;
    if (close(fd) != 0) return ErrnoToStatus(errno, "close", path);
    return absl::OkStatus();
  }

 private:
  int fd_;
};

std::string Parent(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

absl::Status FsyncPath(const std::string& path) {
  ScopedFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return ErrnoToStatus(errno, "open for fsync", path);
  if (fsync(fd.get()) != 0) return ErrnoToStatus(errno, "fsync", path);
  return fd.Close(path);
}

// Creates `path` exclusively and writes `data` durably.
absl::Status WriteNewFile(const std::string& path, absl::string_view data) {
  ScopedFd fd(
      open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (fd.get() < 0) return ErrnoToStatus(errno, "create", path);
  absl::Status written = WriteAll(fd.get(), data, path);
  if (written.ok() && fsync(fd.get()) != 0) {
    written = ErrnoToStatus(errno, "fsync", path);
  }
  absl::Status closed = fd.Close(path);
  return written.ok() ? closed : written;
}

void RemoveTree(const std::string& path) {
  std::error_code error;
  std::filesystem::remove_all(path, error);
  if (error) {
    LOG(WARNING) << "cannot remove temp " << path << ": " << error.message();
  }
}

// Entries of `dir` (without "." and ".."); empty when it cannot be read.
std::vector<std::string> DirectoryEntries(const std::string& dir) {
  std::vector<std::string> names;
  DIR* stream = opendir(dir.c_str());
  if (stream == nullptr) return names;
  while (dirent* entry = readdir(stream)) {
    const std::string name = entry->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  closedir(stream);
  return names;
}

bool IsDirectory(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// Marks a temp file or directory this process has just created as in use:
// an exclusive flock on `fd`, which CleanStaleTempFiles in any process
// (another daemon on the same repository, say) tests before removing a
// temp name. Fails with ABORTED when a cleanup removed the name before the
// lock was taken.
absl::Status LockFreshTemp(int fd, const std::string& path) {
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      return absl::AbortedError(absl::StrCat(
          path, " is being removed by a concurrent cleanup; retry"));
    }
    return ErrnoToStatus(errno, "lock", path);
  }
  struct stat st;
  if (fstat(fd, &st) != 0) return ErrnoToStatus(errno, "stat", path);
  if (st.st_nlink == 0) {
    return absl::AbortedError(
        absl::StrCat(path, " was removed by a concurrent cleanup; retry"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ErrnoToStatus(int error, absl::string_view operation,
                           absl::string_view path) {
  const std::string message =
      absl::StrCat(operation, " ", path, ": ", strerror(error));
  switch (error) {
    case ENOSPC:
    case EDQUOT:
    case EFBIG:
      return absl::ResourceExhaustedError(message);
    case ENOENT:
      return absl::NotFoundError(message);
    case EEXIST:
    case ENOTEMPTY:
      return absl::AlreadyExistsError(message);
    default:
      return absl::InternalError(message);
  }
}

absl::Status WriteAll(int fd, absl::string_view data, absl::string_view path) {
  while (!data.empty()) {
    const ssize_t n = write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoToStatus(errno, "write", path);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

bool PathExists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

absl::StatusOr<std::vector<int64_t>> ListVersions(
    const std::string& model_dir) {
  if (!IsDirectory(model_dir)) {
    return absl::NotFoundError(
        absl::StrCat("model directory ", model_dir, " does not exist"));
  }
  std::vector<int64_t> versions;
  for (const std::string& name : DirectoryEntries(model_dir)) {
    const int64_t version = ParseVersionDirectory(name);
    if (version > 0 && IsDirectory(model_dir + "/" + name)) {
      versions.push_back(version);
    }
  }
  std::sort(versions.begin(), versions.end());
  return versions;
}

absl::StatusOr<std::vector<std::string>> ListModelDirectories(
    const std::string& root) {
  if (!IsDirectory(root)) {
    return absl::NotFoundError(
        absl::StrCat("repository ", root, " does not exist"));
  }
  std::vector<std::string> models;
  for (std::string& name : DirectoryEntries(root)) {
    if (ValidateModelName(name).ok() && IsDirectory(root + "/" + name)) {
      models.push_back(std::move(name));
    }
  }
  std::sort(models.begin(), models.end());
  return models;
}

absl::Status WriteFileAtomically(const std::string& path,
                                 absl::string_view data) {
  const std::string dir = Parent(path);
  std::string temp = absl::StrCat(dir, "/", kTempPrefix, "XXXXXX");
  const int fd = mkstemp(temp.data());
  if (fd < 0) return ErrnoToStatus(errno, "create temp file in", dir);
  ScopedFd owned(fd);

  absl::Status status = LockFreshTemp(fd, temp);
  if (status.ok()) status = WriteAll(fd, data, temp);
  if (status.ok() && fchmod(fd, 0644) != 0) {
    status = ErrnoToStatus(errno, "chmod", temp);
  }
  if (status.ok() && fsync(fd) != 0)
    status = ErrnoToStatus(errno, "fsync", temp);
  // Renamed while still open (and locked), so no cleanup can take the
  // temp name in between.
  if (status.ok() && rename(temp.c_str(), path.c_str()) != 0) {
    status = ErrnoToStatus(errno, "rename into place", path);
  }
  absl::Status closed = owned.Close(temp);
  if (status.ok()) status = closed;
  if (!status.ok()) {
    unlink(temp.c_str());
    return status;
  }
  return FsyncPath(dir);
}

StagedFile::~StagedFile() {
  if (fd_ >= 0) close(fd_);
}

absl::Status StagedFile::Append(absl::string_view data) {
  absl::Status status = WriteAll(fd_, data, path_);
  if (!status.ok()) return status;
  size_ += data.size();
  // Start write-back every few MiB without waiting for it, so dirty pages
  // do not pile up for the final fsync.
  constexpr uint64_t kWriteBackStep = uint64_t{8} << 20;
  if (size_ - flushed_ >= kWriteBackStep) {
    sync_file_range(fd_, flushed_, size_ - flushed_, SYNC_FILE_RANGE_WRITE);
    flushed_ = size_;
  }
  return absl::OkStatus();
}

MappedFile::~MappedFile() {
  if (mapped()) munmap(data_, size_);
}

absl::StatusOr<std::shared_ptr<const MappedFile>> StagedFile::Map() const {
  if (fd_ < 0 || size_ == 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("map ", path_, ": file is closed or empty"));
  }
  void* data = mmap(nullptr, size_, PROT_READ, MAP_SHARED, fd_, 0);
  if (data == MAP_FAILED) {
    // Some FUSE and network file systems cannot map files.
    LOG(WARNING) << "cannot map " << path_ << " (" << strerror(errno)
                 << "); reading it into memory instead";
    return Read();
  }
  return std::shared_ptr<const MappedFile>(new MappedFile(data, size_));
}

absl::StatusOr<std::shared_ptr<const MappedFile>> StagedFile::Read() const {
  if (fd_ < 0 || size_ == 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("read ", path_, ": file is closed or empty"));
  }
  std::string copy(size_, '\0');
  for (uint64_t done = 0; done < size_;) {
    const ssize_t n = pread(fd_, copy.data() + done, size_ - done, done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoToStatus(errno, "read", path_);
    if (n == 0) {
      return absl::DataLossError(absl::StrCat(
          "read ", path_, ": ended at byte ", done, " of ", size_));
    }
    done += static_cast<uint64_t>(n);
  }
  return std::shared_ptr<const MappedFile>(new MappedFile(std::move(copy)));
}

absl::Status StagedFile::Finish() {
  if (fsync(fd_) != 0) return ErrnoToStatus(errno, "fsync", path_);
  const int fd = fd_;
  fd_ = -1;
  if (close(fd) != 0) return ErrnoToStatus(errno, "close", path_);
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<StagedFile>> StagedDirectory::CreateFile(
    const std::string& relative) {
  const std::string full = path_ + "/" + relative;
  const int fd =
      open(full.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoToStatus(errno, "create", full);
  return std::unique_ptr<StagedFile>(new StagedFile(fd, full));
}

absl::Status StagedDirectory::Rename(const std::string& from,
                                     const std::string& to) {
  const std::string source = path_ + "/" + from;
  const std::string target = path_ + "/" + to;
  if (rename(source.c_str(), target.c_str()) != 0) {
    return ErrnoToStatus(errno, "rename", target);
  }
  return absl::OkStatus();
}

absl::Status StagedDirectory::Remove(const std::string& relative) {
  const std::string full = path_ + "/" + relative;
  if (unlink(full.c_str()) != 0) return ErrnoToStatus(errno, "remove", full);
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<StagedDirectory>> StagedDirectory::Create(
    const std::string& parent) {
  std::string path = absl::StrCat(parent, "/", kTempPrefix, "XXXXXX");
  if (mkdtemp(path.data()) == nullptr) {
    return ErrnoToStatus(errno, "create temp directory in", parent);
  }
  std::unique_ptr<StagedDirectory> staged(new StagedDirectory(path));
  staged->lock_fd_ =
      open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  if (staged->lock_fd_ < 0) return ErrnoToStatus(errno, "open", path);
  absl::Status locked = LockFreshTemp(staged->lock_fd_, path);
  if (!locked.ok()) return locked;
  if (chmod(path.c_str(), 0755) != 0) {
    return ErrnoToStatus(errno, "chmod", path);
  }
  return staged;
}

StagedDirectory::~StagedDirectory() {
  if (!committed_) RemoveTree(path_);
  if (lock_fd_ >= 0) close(lock_fd_);
}

absl::Status StagedDirectory::MakeDirectory(const std::string& relative) {
  const std::string full = path_ + "/" + relative;
  if (mkdir(full.c_str(), 0755) != 0) {
    return ErrnoToStatus(errno, "mkdir", full);
  }
  directories_.push_back(relative);
  return absl::OkStatus();
}

absl::Status StagedDirectory::WriteFile(const std::string& relative,
                                        absl::string_view data) {
  return WriteNewFile(path_ + "/" + relative, data);
}

absl::Status StagedDirectory::Commit(const std::string& target) {
  for (const std::string& relative : directories_) {
    absl::Status synced = FsyncPath(path_ + "/" + relative);
    if (!synced.ok()) return synced;
  }
  absl::Status synced = FsyncPath(path_);
  if (!synced.ok()) return synced;
  // RENAME_NOREPLACE: an existing target (even an empty directory) is an
  // error, never silently replaced.
  if (renameat2(AT_FDCWD, path_.c_str(), AT_FDCWD, target.c_str(),
                RENAME_NOREPLACE) != 0) {
    return ErrnoToStatus(errno, "rename into place", target);
  }
  committed_ = true;
  close(lock_fd_);  // the directory is no longer a temp name
  lock_fd_ = -1;
  return FsyncPath(Parent(target));
}

absl::StatusOr<int> CleanStaleTempFiles(const std::string& repository) {
  if (!IsDirectory(repository)) {
    return absl::NotFoundError(
        absl::StrCat("model repository ", repository, " does not exist"));
  }
  int removed = 0;
  auto clean = [&removed](const std::string& dir) {
    for (const std::string& name : DirectoryEntries(dir)) {
      if (!absl::StartsWith(name, kTempPrefix)) continue;
      const std::string path = dir + "/" + name;
      // A temp name whose creator still runs is locked (LockFreshTemp);
      // it is another writer's work in progress, not a leftover.
      const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW |
                                            O_NONBLOCK | O_NOCTTY);
      if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) != 0 &&
          errno == EWOULDBLOCK) {
        LOG(INFO) << "leaving " << path << ": another writer is using it";
        close(fd);
        continue;
      }
      LOG(INFO) << "removing stale temp " << path;
      RemoveTree(path);
      if (fd >= 0) close(fd);
      ++removed;
    }
  };
  clean(repository);
  for (const std::string& name : DirectoryEntries(repository)) {
    const std::string path = repository + "/" + name;
    if (name[0] != '.' && IsDirectory(path)) clean(path);
  }
  return removed;
}

}  // namespace ember::records
