#include "server/repository_watcher.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <utility>
#include <vector>

#include "glog/logging.h"

namespace ember::server {
namespace {

// Events that can change what the repository holds. IN_MODIFY only marks a
// file as being written; it does not cause a rescan.
constexpr uint32_t kWatchMask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM |
                                IN_CREATE | IN_DELETE | IN_DELETE_SELF |
                                IN_MOVE_SELF | IN_ATTRIB | IN_MODIFY;

}  // namespace

absl::StatusOr<std::unique_ptr<RepositoryWatcher>> RepositoryWatcher::Create(
    Options options, const RepositoryFs* fs, ModelManager* manager) {
  if (options.root.empty()) {
    return absl::InvalidArgumentError("no model repository given");
  }
  if (fs == nullptr || manager == nullptr) {
    return absl::InvalidArgumentError(
        "watcher needs a file system and manager");
  }
  if (options.poll_interval <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("poll interval must be positive");
  }
  std::unique_ptr<RepositoryWatcher> watcher(
      new RepositoryWatcher(std::move(options), fs, manager));
  if (pipe2(watcher->wake_fds_, O_CLOEXEC | O_NONBLOCK) != 0) {
    return absl::InternalError(
        absl::StrCat("cannot create a pipe: ", strerror(errno)));
  }
  if (watcher->options_.use_inotify) watcher->SetUpInotify();
  // The first look; a missing repository is reported, not fatal: the
  // daemon serves nothing until it appears.
  absl::Status first = watcher->RescanNow();
  if (!first.ok()) LOG(ERROR) << first.message();
  if (watcher->options_.start_thread) {
    RepositoryWatcher* self = watcher.get();
    watcher->thread_ = std::thread([self] { self->Run(); });
  }
  return watcher;
}

RepositoryWatcher::RepositoryWatcher(Options options, const RepositoryFs* fs,
                                     ModelManager* manager)
    : options_(std::move(options)), fs_(fs), manager_(manager) {}

RepositoryWatcher::~RepositoryWatcher() {
  {
    absl::MutexLock lock(&stop_mu_);
    stop_ = true;
  }
  if (wake_fds_[1] >= 0) {
    const char byte = 's';
    (void)!write(wake_fds_[1], &byte, 1);
  }
  if (thread_.joinable()) thread_.join();
  if (inotify_fd_ >= 0) close(inotify_fd_);
  for (int fd : wake_fds_) {
    if (fd >= 0) close(fd);
  }
}

void RepositoryWatcher::SetUpInotify() {
  inotify_fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (inotify_fd_ < 0) {
    LOG(WARNING) << "inotify unavailable (" << strerror(errno) << "); watching "
                 << options_.root << " by polling every "
                 << absl::FormatDuration(options_.poll_interval);
  }
}

void RepositoryWatcher::RequestRescan() {
  {
    absl::MutexLock lock(&stop_mu_);
    rescan_requested_ = true;
  }
  const char byte = 'r';
  (void)!write(wake_fds_[1], &byte, 1);
}

int64_t RepositoryWatcher::scan_count() const {
  absl::MutexLock lock(&scan_mu_);
  return scans_;
}

bool RepositoryWatcher::incomplete_pending() const {
  absl::MutexLock lock(&scan_mu_);
  return incomplete_pending_;
}

void RepositoryWatcher::Run() {
  absl::Time next_poll = absl::Now() + options_.poll_interval;
  while (true) {
    absl::Time wake_at = next_poll;
    {
      absl::MutexLock lock(&scan_mu_);
      if (incomplete_pending_) {
        wake_at = std::min(wake_at, absl::Now() + options_.settle_time);
      }
      if (follow_up_pending_) wake_at = absl::Now();
    }
    const int64_t timeout_ms = std::max<int64_t>(
        0, absl::ToInt64Milliseconds(wake_at - absl::Now()) + 1);
    struct pollfd fds[2] = {{wake_fds_[0], POLLIN, 0},
                            {inotify_fd_, POLLIN, 0}};
    const int nfds = inotify_fd_ >= 0 ? 2 : 1;
    const int ready = poll(fds, nfds, static_cast<int>(timeout_ms));
    if (ready < 0 && errno != EINTR) {
      PLOG(ERROR) << "poll on the repository watch failed";
    }

    bool rescan = absl::Now() >= wake_at;
    if (ready > 0 && (fds[0].revents & POLLIN)) {
      char buffer[64];
      while (read(wake_fds_[0], buffer, sizeof(buffer)) > 0) {
      }
    }
    {
      absl::MutexLock lock(&stop_mu_);
      if (stop_) return;
      rescan = rescan || rescan_requested_;
      rescan_requested_ = false;
    }
    if (ready > 0 && nfds == 2 && (fds[1].revents & POLLIN)) {
      rescan = DrainInotify() || rescan;
    }
    if (!rescan) continue;
    (void)RescanNow();
    if (absl::Now() >= next_poll)
      next_poll = absl::Now() + options_.poll_interval;
  }
}

bool RepositoryWatcher::DrainInotify() {
  alignas(struct inotify_event) char buffer[16384];
  bool rescan = false;
  absl::MutexLock lock(&scan_mu_);
  while (true) {
    const ssize_t n = read(inotify_fd_, buffer, sizeof(buffer));
    if (n <= 0) break;
    for (char* p = buffer; p < buffer + n;) {
      const auto* event = reinterpret_cast<const struct inotify_event*>(p);
      p += sizeof(struct inotify_event) + event->len;
      if (event->mask & IN_Q_OVERFLOW) {
        rescan = true;
        continue;
      }
      auto dir = watch_dirs_.find(event->wd);
      if (dir == watch_dirs_.end()) continue;
      if (event->mask & IN_IGNORED) {
        dir_watches_.erase(dir->second);
        watch_dirs_.erase(dir);
        rescan = true;
        continue;
      }
      const std::string path =
          event->len > 0 ? dir->second + "/" + event->name : dir->second;
      if (event->mask & IN_MODIFY) {
        writing_.insert(path);
        continue;
      }
      if (event->mask & (IN_CLOSE_WRITE | IN_MOVED_TO)) {
        writing_.erase(path);
        absl::StatusOr<FileInfo> info = fs_->Stat(path);
        if (info.ok()) confirmed_[path] = *info;
      }
      rescan = true;
    }
  }
  return rescan;
}

absl::Status RepositoryWatcher::RescanNow() {
  absl::MutexLock lock(&scan_mu_);
  ++scans_;
  absl::StatusOr<RepositorySnapshot> snapshot =
      ScanRepository(*fs_, options_.root);
  if (!snapshot.ok()) {
    if (last_status_ != snapshot.status()) {
      LOG(ERROR) << snapshot.status().message();
    }
    last_status_ = snapshot.status();
    manager_->ReportRepositoryError(snapshot.status());
    return snapshot.status();
  }
  last_status_ = absl::OkStatus();
  incomplete_pending_ = MarkCompleteness(*snapshot);
  // Changes inside a directory before its watch existed raised no event:
  // look once more right after adding watches.
  follow_up_pending_ = UpdateWatches(*snapshot) && scans_ > 1;
  manager_->Apply(*snapshot);
  return absl::OkStatus();
}

bool RepositoryWatcher::IsComplete(const std::string& path,
                                   const FileInfo& info,
                                   std::map<std::string, FileInfo>& seen_now) {
  seen_now[path] = info;
  if (writing_.count(path) > 0) return false;
  auto confirmed = confirmed_.find(path);
  if (confirmed != confirmed_.end() && confirmed->second.SameContent(info)) {
    return true;
  }
  auto last = last_seen_.find(path);
  if (last != last_seen_.end() && last->second.SameContent(info)) return true;
  // Untouched for longer than the settle time: as good as a second look.
  const int64_t now_ns = absl::ToUnixNanos(absl::Now());
  return now_ns - info.mtime_ns >
         absl::ToInt64Nanoseconds(options_.settle_time);
}

bool RepositoryWatcher::MarkCompleteness(RepositorySnapshot& snapshot) {
  std::map<std::string, FileInfo> seen_now;
  bool incomplete = false;
  for (auto& [name, model] : snapshot.models) {
    if (model.status.ok()) {
      model.config_complete =
          IsComplete(model.config_path, model.config_info, seen_now);
      incomplete = incomplete || !model.config_complete;
    }
    for (auto& [version, files] : model.versions) {
      files.complete =
          IsComplete(files.record_path, files.record_info, seen_now);
      if (!files.complete) {
        VLOG(1) << files.record_path << " not complete yet";
        incomplete = true;
      }
    }
  }
  last_seen_ = std::move(seen_now);
  for (auto it = confirmed_.begin(); it != confirmed_.end();) {
    it = last_seen_.count(it->first) > 0 ? std::next(it) : confirmed_.erase(it);
  }
  return incomplete;
}

bool RepositoryWatcher::UpdateWatches(const RepositorySnapshot& snapshot) {
  if (inotify_fd_ < 0) return false;
  bool added = false;
  std::set<std::string> wanted(snapshot.directories.begin(),
                               snapshot.directories.end());
  for (auto it = dir_watches_.begin(); it != dir_watches_.end();) {
    if (wanted.count(it->first) > 0) {
      ++it;
      continue;
    }
    inotify_rm_watch(inotify_fd_, it->second);
    watch_dirs_.erase(it->second);
    it = dir_watches_.erase(it);
  }
  for (const std::string& dir : wanted) {
    if (dir_watches_.count(dir) > 0) continue;
    const int wd = inotify_add_watch(inotify_fd_, dir.c_str(), kWatchMask);
    if (wd < 0) {
      LOG(WARNING) << "cannot watch " << dir << " (" << strerror(errno)
                   << "); changes there are seen by the periodic rescan";
      continue;
    }
    watch_dirs_[wd] = dir;
    dir_watches_[dir] = wd;
    added = true;
  }
  return added;
}

}  // namespace ember::server
