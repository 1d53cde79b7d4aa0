// The model manager: the lifecycle of every model version, and the map
// requests are routed through.
//
// The watcher hands the manager each look at the repository
// (`Apply(snapshot)`); the manager works out which versions to serve (the
// config's version policy over the complete records), loads new and changed
// ones on its load threads, swaps each finished load in atomically, and
// retires what is no longer wanted. Requests call `Acquire` and hold the
// returned `std::shared_ptr<const ServableVersion>` for one call only, so a
// replaced or removed version finishes its in-flight requests and is freed
// when the last one ends.
//
// Hot swap is availability first: a version keeps serving its old record
// until the new one is loaded and validated. With `unload_first` (global
// option or per model in config.pbtxt) the old instance is taken out of
// service and released before the new one is built, for containers that
// cannot hold both. A load that fails leaves the previous record serving and
// reports the failure (log and state reason); the same bytes are not retried
// until the record or the config changes.
//
//   ModelManager::Options options;
//   options.load_threads = 2;
//   EMBER_ASSIGN_OR_RETURN(std::unique_ptr<ModelManager> manager,
//                          ModelManager::Create(std::move(options)));
//   manager->Apply(snapshot);
//   EMBER_ASSIGN_OR_RETURN(std::shared_ptr<const ServableVersion> v,
//                          manager->Acquire("connect4", ""));

#ifndef EMBER_SERVER_MODEL_MANAGER_H_
#define EMBER_SERVER_MODEL_MANAGER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "model/model.h"
#include "proto/model_config.pb.h"
#include "server/repository_fs.h"
#include "server/repository_scanner.h"
#include "server/servable.h"
#include "server/thread_pool.h"

namespace ember::server {

// Builds a model from its config and record file (model::LoadModel in the
// daemon). Must be thread-safe; it runs on the load threads.
using ModelLoader =
    std::function<absl::StatusOr<std::shared_ptr<const model::Model>>(
        const config::ModelConfig& config, const std::string& config_path,
        const std::string& record_path)>;

// Parses config.pbtxt text (model::ParseModelConfig in the daemon); `path`
// is for error messages.
using ConfigParser = std::function<absl::StatusOr<config::ModelConfig>(
    absl::string_view text, absl::string_view path)>;

// State of one model version as RepositoryIndex reports it.
struct VersionStatus {
  std::string model;
  int64_t version = 0;  // 0: the model has no version to report
  VersionState state = VersionState::kUnavailable;
  std::string reason;
};

// The counters of one known version (ready or not).
struct VersionStatsEntry {
  std::string model;
  int64_t version = 0;
  std::shared_ptr<VersionStats> stats;
  int64_t memory_bytes = 0;  // parameters held while it serves, else 0
};

// Thread-safe. Loads run on the manager's own threads; `Acquire` never
// blocks on a load.
class ModelManager {
 public:
  struct Options {
    // Threads that build models. Default 2.
    int load_threads = 2;
    // Unload a version before loading its replacement, for every model.
    // Default false (availability first); config.pbtxt can set it per
    // model.
    bool unload_first = false;
    // Required.
    ModelLoader loader;
    // Required.
    ConfigParser config_parser;
    // Used to check that a record did not change while it was loading
    // (such a load is discarded and the new content loaded instead).
    // Optional; not owned; must outlive the manager.
    const RepositoryFs* fs = nullptr;
    // Called (without any manager lock held) after every change of what is
    // served or of a version's state, possibly from several threads at
    // once; never once the manager's destruction has begun. Optional.
    std::function<void()> on_change;
  };

  static absl::StatusOr<std::unique_ptr<ModelManager>> Create(Options options);
  // Discards loads in progress and waits for the load threads.
  ~ModelManager();

  ModelManager(const ModelManager&) = delete;
  ModelManager& operator=(const ModelManager&) = delete;

  // Reconciles with one look at the repository: loads, reloads and retires
  // versions. Returns at once; loads continue on the load threads.
  // Incomplete records and configs (see VersionFiles::complete) count as
  // "not there yet": a new one is not loaded, a changed one keeps the
  // previous content serving.
  void Apply(const RepositorySnapshot& snapshot);

  // Records that the repository could not be scanned. Nothing is unloaded;
  // the error appears in every model's reason until the next Apply.
  void ReportRepositoryError(const absl::Status& error);

  // The version a request should use: `version` as a decimal string, or
  // empty for the highest ready version. NOT_FOUND for an unknown model or
  // version, UNAVAILABLE for one that is known but not serving (loading,
  // failed, unloading), INVALID_ARGUMENT for a malformed version string.
  absl::StatusOr<std::shared_ptr<const ServableVersion>> Acquire(
      absl::string_view model, absl::string_view version) const;

  // Every ready version of `model` (all models when empty), ascending.
  std::vector<std::shared_ptr<const ServableVersion>> ReadyVersions(
      absl::string_view model) const;

  // Counters of every known version of `model` (all models when empty),
  // by model and version; failed and loading versions included.
  std::vector<VersionStatsEntry> StatsIndex(absl::string_view model) const;

  // Names of all models the manager knows, sorted.
  std::vector<std::string> ModelNames() const;

  // The config `model` is served with now (a version keeps the config it
  // was built with when only the version policy or unload_first changed
  // since). NOT_FOUND for an unknown model or one without a valid config.
  absl::StatusOr<config::ModelConfig> CurrentConfig(
      const std::string& model) const;

  // The state of every known version (and of models that have none).
  std::vector<VersionStatus> Index() const;

  // Takes every version of `model` out of service and keeps it out,
  // whatever the repository holds, until `AllowModel`. NOT_FOUND when the
  // model is unknown.
  absl::Status DisallowModel(absl::string_view model);
  // Lets the next Apply load `model` again.
  void AllowModel(absl::string_view model);

  // Waits until no version of `model` is loading (or `timeout` passes) and
  // returns OK when at least one version is ready, otherwise the reason.
  absl::Status AwaitModelSettled(absl::string_view model,
                                 absl::Duration timeout) const;

  // Waits until `version` of `model` serves. OK then; FAILED_PRECONDITION
  // when it failed to load or the version policy does not select it (the
  // message says which); DEADLINE_EXCEEDED when `deadline` passes first
  // (for instance because the repository has not shown it yet).
  absl::Status WaitUntilServing(absl::string_view model, int64_t version,
                                absl::Time deadline) const;

  // Makes every WaitUntilServing call, current and future, return
  // UNAVAILABLE at once (the server is stopping).
  void StopWaiting();

  // Waits until `version` of `model` has `state` (as Index reports it).
  // False on timeout.
  bool AwaitVersionState(absl::string_view model, int64_t version,
                         VersionState state, absl::Duration timeout) const;

 private:
  struct Slot;
  struct ModelState;
  struct ServingMap;
  struct LoadJob;
  // Holds the instances and maps released while mu_ was held, so they are
  // destroyed after it is released (a destructor may run model teardown).
  using Garbage = std::vector<std::shared_ptr<const void>>;

  explicit ModelManager(Options options);

  void ApplyModel(const ModelFiles& files) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool UpdateConfig(ModelState& model, const ModelFiles& files)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void EnsureLoaded(ModelState& model, int64_t version,
                    const std::string& record_path, const FileInfo& info)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void StartLoad(ModelState& model, Slot& slot, const std::string& record_path,
                 const FileInfo& info) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Retire(ModelState& model, Slot& slot, const std::string& why)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Takes out of service the versions the policy no longer selects, once
  // the selected ones serve (at once with unload-first).
  void RetireUnwanted(ModelState& model) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RunLoad(const LoadJob& job) ABSL_LOCKS_EXCLUDED(mu_);
  void FinishLoad(const LoadJob& job,
                  absl::StatusOr<std::shared_ptr<const model::Model>> result,
                  bool record_changed, absl::Duration took)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void CollectIdle() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void PublishLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  VersionStatus StatusOf(const ModelState& model, const Slot& slot) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Waits until generation_ moves or `deadline` passes.
  void WaitForChangeLocked(absl::Time deadline) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::vector<VersionStatus> IndexLocked() const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Releases mu_-protected garbage and notifies on_change; call with mu_
  // not held.
  void AfterChange(Garbage garbage) ABSL_LOCKS_EXCLUDED(mu_);
  std::shared_ptr<const ServableVersion> MakeServable(
      const ModelState& model, const Slot& slot, const std::string& path,
      std::shared_ptr<const model::Model> built) const;

  const Options options_;

  // Guards the lifecycle state. Held for bookkeeping only: never across a
  // load, a file read or a callback.
  mutable absl::Mutex mu_;
  std::map<std::string, std::unique_ptr<ModelState>> models_
      ABSL_GUARDED_BY(mu_);
  uint64_t next_load_id_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Status repository_error_ ABSL_GUARDED_BY(mu_);
  Garbage garbage_ ABSL_GUARDED_BY(mu_);
  bool shutting_down_ ABSL_GUARDED_BY(mu_) = false;
  bool stop_waiting_ ABSL_GUARDED_BY(mu_) = false;
  // Bumped on every published change; waiters watch it.
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;

  // The routing table: rebuilt under mu_ on every change and published
  // with an atomic store; readers take it with an atomic load, without
  // locking.
  std::shared_ptr<const ServingMap> serving_;

  // Declared last: destroyed (joined) first, while the state above lives.
  std::unique_ptr<ThreadPool> load_pool_;
};

}  // namespace ember::server

#endif  // EMBER_SERVER_MODEL_MANAGER_H_
