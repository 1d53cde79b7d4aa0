// Keeps the model manager in step with the repository on disk.
//
// Two sources of change: inotify (prompt: a record renamed into place or
// closed after writing is picked up at once) and a periodic full rescan
// (every `poll_interval`), which also covers file systems without inotify
// such as network volumes and Kubernetes' symlink-swapped volumes.
//
// A record or config is handed to the manager as complete only when it is
// whole: renamed into place or closed after writing (seen by inotify), or,
// for rescans, unchanged (same inode, size and mtime) across two looks; a
// file that inotify saw being written and not yet closed is never complete.
// When a look finds an incomplete file, the next look follows after
// `settle_time` rather than a full poll interval.
//
// A repository that cannot be listed is reported to the manager and nothing
// is unloaded.
//
//   RepositoryWatcher::Options options;
//   options.root = "/models";
//   EMBER_ASSIGN_OR_RETURN(
//       std::unique_ptr<RepositoryWatcher> watcher,
//       RepositoryWatcher::Create(options, &fs, manager.get()));

#ifndef EMBER_SERVER_REPOSITORY_WATCHER_H_
#define EMBER_SERVER_REPOSITORY_WATCHER_H_

#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/model_manager.h"
#include "server/repository_fs.h"
#include "server/repository_scanner.h"

namespace ember::server {

// Thread-safe.
class RepositoryWatcher {
 public:
  struct Options {
    // Repository root. Required.
    std::string root;
    // Full rescan period. Default 2 s.
    absl::Duration poll_interval = absl::Seconds(2);
    // Delay before looking again at a file seen incomplete. Default 500 ms.
    absl::Duration settle_time = absl::Milliseconds(500);
    // Watch with inotify in addition to polling. Default true; when inotify
    // cannot be set up the watcher logs a warning and polls only.
    bool use_inotify = true;
    // Run the background thread. Default true. Tests switch it off and
    // drive the watcher with RescanNow.
    bool start_thread = true;
  };

  // Does the first scan before returning (records found then are complete
  // only after the second look, `settle_time` later, or at once when they
  // are older than that). `fs` and `manager` are not owned and must outlive
  // the watcher.
  static absl::StatusOr<std::unique_ptr<RepositoryWatcher>> Create(
      Options options, const RepositoryFs* fs, ModelManager* manager);
  // Stops the thread.
  ~RepositoryWatcher();

  RepositoryWatcher(const RepositoryWatcher&) = delete;
  RepositoryWatcher& operator=(const RepositoryWatcher&) = delete;

  // Scans and applies the result now, on the calling thread. Returns the
  // scan's status (an error when the repository cannot be listed).
  absl::Status RescanNow() ABSL_LOCKS_EXCLUDED(scan_mu_);

  // Asks the background thread for a rescan as soon as possible.
  void RequestRescan();

  // Number of completed scans (successful or not).
  int64_t scan_count() const;

  // True when the latest scan saw a record or config still being written.
  bool incomplete_pending() const;

  // How long a file must stay unchanged to count as complete.
  absl::Duration settle_time() const { return options_.settle_time; }

 private:
  RepositoryWatcher(Options options, const RepositoryFs* fs,
                    ModelManager* manager);

  void SetUpInotify();
  void Run();
  // Reads pending inotify events; true when one calls for a rescan.
  bool DrainInotify() ABSL_LOCKS_EXCLUDED(scan_mu_);
  // Sets `complete` on every record and config of `snapshot`; true when
  // any is incomplete.
  bool MarkCompleteness(RepositorySnapshot& snapshot)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(scan_mu_);
  bool IsComplete(const std::string& path, const FileInfo& info,
                  std::map<std::string, FileInfo>& seen_now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(scan_mu_);
  // Watches every directory of `snapshot`; true when a watch was added.
  bool UpdateWatches(const RepositorySnapshot& snapshot)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(scan_mu_);

  const Options options_;
  const RepositoryFs* const fs_;
  ModelManager* const manager_;

  // Serialises scans and guards the completeness bookkeeping. Held for a
  // whole scan (directory listings and config reads, no model loads).
  mutable absl::Mutex scan_mu_;
  // Identity of each file at the previous look.
  std::map<std::string, FileInfo> last_seen_ ABSL_GUARDED_BY(scan_mu_);
  // Identities inotify saw closed after writing or renamed into place.
  std::map<std::string, FileInfo> confirmed_ ABSL_GUARDED_BY(scan_mu_);
  // Files inotify saw modified and not yet closed.
  std::set<std::string> writing_ ABSL_GUARDED_BY(scan_mu_);
  // inotify watch descriptors and their directories.
  std::map<int, std::string> watch_dirs_ ABSL_GUARDED_BY(scan_mu_);
  std::map<std::string, int> dir_watches_ ABSL_GUARDED_BY(scan_mu_);
  bool incomplete_pending_ ABSL_GUARDED_BY(scan_mu_) = false;
  bool follow_up_pending_ ABSL_GUARDED_BY(scan_mu_) = false;
  int64_t scans_ ABSL_GUARDED_BY(scan_mu_) = 0;
  absl::Status last_status_ ABSL_GUARDED_BY(scan_mu_);

  int inotify_fd_ = -1;
  int wake_fds_[2] = {-1, -1};  // self-pipe: stop and rescan requests
  std::thread thread_;
  absl::Mutex stop_mu_;
  bool stop_ ABSL_GUARDED_BY(stop_mu_) = false;
  bool rescan_requested_ ABSL_GUARDED_BY(stop_mu_) = false;
};

}  // namespace ember::server

#endif  // EMBER_SERVER_REPOSITORY_WATCHER_H_
