// Where inference work waits for a thread: the seam a dynamic batcher can
// later sit in.
//
// The gRPC handler turns a request into an InferenceTask (a model version
// held for this call, and its decoded inputs) and submits it; a scheduler
// runs the model and calls `done` exactly once. FifoScheduler runs tasks one
// at a time per worker, in arrival order; when nothing waits and a slot is
// free it runs the task on the submitting thread instead, saving the
// hand-off between threads (tens of microseconds, more than a small
// model's forward pass).
//
//   FifoScheduler::Options options;
//   options.num_threads = 4;
//   FifoScheduler scheduler(options);
//   scheduler.Submit(std::move(task));

#ifndef EMBER_SERVER_INFERENCE_SCHEDULER_H_
#define EMBER_SERVER_INFERENCE_SCHEDULER_H_

#include <deque>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "model/tensor.h"
#include "server/servable.h"

namespace ember::server {

// The outcome of one task.
struct InferenceResult {
  absl::StatusOr<std::vector<model::Tensor>> outputs;
  absl::Duration queue_time;  // submitted -> started
  absl::Duration infer_time;  // Forward
};

struct InferenceTask {
  // Held until `done` returns; keeps the version alive for this call.
  std::shared_ptr<const ServableVersion> servable;
  // In the order of the model's inputs(), already validated.
  std::vector<model::Tensor> inputs;
  // Called exactly once: on a worker thread, or on the submitting thread
  // before Submit returns when the scheduler runs the task there. Not
  // called when Submit fails.
  std::function<void(InferenceResult)> done;
};

class InferenceScheduler {
 public:
  virtual ~InferenceScheduler() = default;
  // Queues `task`, or runs it at once on the calling thread. On error
  // (queue full: RESOURCE_EXHAUSTED; stopped: UNAVAILABLE) the task is
  // dropped and `done` is not called.
  virtual absl::Status Submit(InferenceTask task) = 0;
};

// A FIFO queue served by a fixed set of worker threads. At most
// num_threads tasks run at once, counting those run on submitting threads.
// Thread-safe. Destruction runs what is queued, then joins.
class FifoScheduler : public InferenceScheduler {
 public:
  struct Options {
    // Worker threads running Forward. Default 2.
    int num_threads = 2;
    // Tasks waiting beyond this are refused with RESOURCE_EXHAUSTED.
    // Default 1024.
    int max_queue_size = 1024;
    // Run a task on the submitting thread when no task waits and fewer
    // than num_threads run. Default true.
    bool run_on_caller_when_idle = true;
  };

  explicit FifoScheduler(Options options);
  ~FifoScheduler() override;

  absl::Status Submit(InferenceTask task) override;

 private:
  struct Queued {
    InferenceTask task;
    absl::Time submitted;
  };
  void Work();
  static InferenceResult Run(InferenceTask& task, absl::Time submitted);

  const Options options_;
  const int slots_;  // most tasks running at once
  absl::Mutex mu_;   // held only to push or pop a task or count one
  std::deque<Queued> queue_ ABSL_GUARDED_BY(mu_);
  int running_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> workers_;
};

}  // namespace ember::server

#endif  // EMBER_SERVER_INFERENCE_SCHEDULER_H_
