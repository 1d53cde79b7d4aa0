#include "server/servable.h"

namespace ember::server {

void VersionStats::RecordSuccess(uint64_t batch_size,
                                 const RequestTimings& timings,
                                 absl::Time now) {
  absl::MutexLock lock(&mu_);
  auto add = [](DurationStat& stat, uint64_t ns) {
    ++stat.count;
    stat.ns += ns;
  };
  add(stats_.success, timings.total_ns);
  add(stats_.queue, timings.queue_ns);
  add(stats_.compute_input, timings.input_ns);
  add(stats_.compute_infer, timings.infer_ns);
  add(stats_.compute_output, timings.output_ns);
  add(stats_.batch_infer[batch_size], timings.infer_ns);
  stats_.inference_count += batch_size;
  ++stats_.execution_count;
  stats_.last_inference_ms = static_cast<uint64_t>(absl::ToUnixMillis(now));
}

void VersionStats::RecordFailure(uint64_t total_ns, absl::Time now) {
  absl::MutexLock lock(&mu_);
  ++stats_.fail.count;
  stats_.fail.ns += total_ns;
  stats_.last_inference_ms = static_cast<uint64_t>(absl::ToUnixMillis(now));
}

void VersionStats::RecordLoad(absl::Duration took, const absl::Status& error) {
  absl::MutexLock lock(&mu_);
  DurationStat& stat = error.ok() ? stats_.load_success : stats_.load_fail;
  ++stat.count;
  stat.ns += static_cast<uint64_t>(absl::ToInt64Nanoseconds(took));
  stats_.last_load_error = std::string(error.message());
}

VersionStats::Snapshot VersionStats::Get() const {
  absl::MutexLock lock(&mu_);
  return stats_;
}

const char* VersionStateName(VersionState state) {
  switch (state) {
    case VersionState::kLoading:
      return "LOADING";
    case VersionState::kReady:
      return "READY";
    case VersionState::kUnloading:
      return "UNLOADING";
    case VersionState::kUnavailable:
      return "UNAVAILABLE";
  }
  return "UNAVAILABLE";
}

}  // namespace ember::server
