// A loaded, immutable model version and its inference counters.
//
// The manager builds one ServableVersion per successful load and never
// changes it afterwards; requests hold a `std::shared_ptr<const
// ServableVersion>` for the duration of one call. When the manager swaps in
// a replacement or unloads the version, the instance lives on until the last
// request holding it finishes, and then its memory is released.
//
//   std::shared_ptr<const ServableVersion> v = ...;  // from ModelManager
//   absl::StatusOr<std::vector<model::Tensor>> out = v->model->Forward(in);
//   v->stats->RecordSuccess(...);

#ifndef EMBER_SERVER_SERVABLE_H_
#define EMBER_SERVER_SERVABLE_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "model/model.h"
#include "proto/model_config.pb.h"

namespace ember::server {

// A count and a cumulative duration.
struct DurationStat {
  uint64_t count = 0;
  uint64_t ns = 0;
};

// Time spent in each phase of one request, in nanoseconds.
struct RequestTimings {
  uint64_t queue_ns = 0;
  uint64_t input_ns = 0;
  uint64_t infer_ns = 0;
  uint64_t output_ns = 0;
  uint64_t total_ns = 0;
};

// Cumulative inference and load counters of one model version. They survive
// reloads of the same version number (a replaced record keeps counting) and are
// dropped when the version leaves the repository. Thread-safe.
class VersionStats {
 public:
  struct Snapshot {
    DurationStat success, fail, queue, compute_input, compute_infer,
        compute_output;
    uint64_t inference_count = 0;  // batch elements of successful requests
    uint64_t execution_count = 0;  // model executions
    uint64_t last_inference_ms = 0;
    DurationStat load_success, load_fail;  // model builds of this version
    std::string last_load_error;           // empty after a success
    std::map<uint64_t, DurationStat> batch_infer;  // by batch size
  };

  // A request that ran the model over `batch_size` elements.
  void RecordSuccess(uint64_t batch_size, const RequestTimings& timings,
                     absl::Time now);
  // A request that failed after it had been routed to this version.
  void RecordFailure(uint64_t total_ns, absl::Time now);
  // A finished load of this version; `error` is OK on success.
  void RecordLoad(absl::Duration took, const absl::Status& error);

  Snapshot Get() const;

 private:
  mutable absl::Mutex mu_;  // held only to copy or add a few counters
  Snapshot stats_ ABSL_GUARDED_BY(mu_);
};

// One loaded model version. Immutable; shared by every request routed to it.
struct ServableVersion {
  std::string model_name;
  int64_t version = 0;
  std::string record_path;
  config::ModelConfig config;
  std::shared_ptr<const model::Model> model;
  std::shared_ptr<VersionStats> stats;
  absl::Time loaded_at;
};

// Lifecycle states of a model version, with the names RepositoryIndex uses.
enum class VersionState {
  kLoading,      // "LOADING": being built; nothing older serves
  kReady,        // "READY": serving
  kUnloading,    // "UNLOADING": out of service, requests still running
  kUnavailable,  // "UNAVAILABLE": not serving; the reason says why
};

const char* VersionStateName(VersionState state);

}  // namespace ember::server

#endif  // EMBER_SERVER_SERVABLE_H_
