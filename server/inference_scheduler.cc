#include "server/inference_scheduler.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace ember::server {

FifoScheduler::FifoScheduler(Options options) : options_(options) {
  const int n = options_.num_threads < 1 ? 1 : options_.num_threads;
  for (int i = 0; i < n; ++i) workers_.emplace_back([this] { Work(); });
}

FifoScheduler::~FifoScheduler() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  for (std::thread& worker : workers_) worker.join();
}

absl::Status FifoScheduler::Submit(InferenceTask task) {
  absl::MutexLock lock(&mu_);
  if (stopping_) return absl::UnavailableError("inference is shutting down");
  if (static_cast<int>(queue_.size()) >= options_.max_queue_size) {
    return absl::ResourceExhaustedError(absl::StrCat("inference queue full (",
                                                     options_.max_queue_size,
                                                     " requests waiting)"));
  }
  queue_.push_back({std::move(task), absl::Now()});
  return absl::OkStatus();
}

void FifoScheduler::Work() {
  while (true) {
    Queued item;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](FifoScheduler* s) { return s->stopping_ || !s->queue_.empty(); },
          this));
      if (queue_.empty()) return;
      item = std::move(queue_.front());
      queue_.pop_front();
    }
    InferenceResult result;
    const absl::Time start = absl::Now();
    result.queue_time = start - item.submitted;
    result.outputs = item.task.servable->model->Forward(item.task.inputs);
    result.infer_time = absl::Now() - start;
    item.task.done(std::move(result));
  }
}

}  // namespace ember::server
