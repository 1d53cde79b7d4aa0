#include "server/inference_scheduler.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace ember::server {

FifoScheduler::FifoScheduler(Options options)
    : options_(options), slots_(std::max(1, options.num_threads)) {
  for (int i = 0; i < slots_; ++i) workers_.emplace_back([this] { Work(); });
}

FifoScheduler::~FifoScheduler() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  for (std::thread& worker : workers_) worker.join();
  // Tasks still running on submitting threads touch mu_ when they finish.
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(
      +[](int* running) { return *running == 0; }, &running_));
}

absl::Status FifoScheduler::Submit(InferenceTask task) {
  const absl::Time submitted = absl::Now();
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return absl::UnavailableError("inference is shutting down");
    if (!options_.run_on_caller_when_idle || !queue_.empty() ||
        running_ >= slots_) {
      if (static_cast<int>(queue_.size()) >= options_.max_queue_size) {
        return absl::ResourceExhaustedError(
            absl::StrCat("inference queue full (", options_.max_queue_size,
                         " requests waiting)"));
      }
      queue_.push_back({std::move(task), submitted});
      return absl::OkStatus();
    }
    ++running_;
  }
  // A free slot and nobody waiting: run here, in order as much as a queue
  // would have.
  InferenceResult result = Run(task, submitted);
  {
    absl::MutexLock lock(&mu_);
    --running_;  // a waiting worker may take the slot now
  }
  task.done(std::move(result));
  return absl::OkStatus();
}

InferenceResult FifoScheduler::Run(InferenceTask& task, absl::Time submitted) {
  InferenceResult result;
  const absl::Time start = absl::Now();
  result.queue_time = start - submitted;
  result.outputs = task.servable->model->Forward(task.inputs);
  result.infer_time = absl::Now() - start;
  return result;
}

void FifoScheduler::Work() {
  while (true) {
    Queued item;
    {
      absl::MutexLock lock(&mu_);
      // A task waits and a slot is free (tasks run on submitting threads
      // hold slots too), or the scheduler stops.
      mu_.Await(absl::Condition(
          +[](FifoScheduler* s) {
            return (s->stopping_ && s->queue_.empty()) ||
                   (!s->queue_.empty() && s->running_ < s->slots_);
          },
          this));
      if (queue_.empty()) return;  // stopping, nothing left
      item = std::move(queue_.front());
      queue_.pop_front();
      ++running_;
    }
    InferenceResult result = Run(item.task, item.submitted);
    {
      absl::MutexLock lock(&mu_);
      --running_;
    }
    item.task.done(std::move(result));
  }
}

}  // namespace ember::server
