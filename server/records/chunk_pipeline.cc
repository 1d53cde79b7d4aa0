#include "server/records/chunk_pipeline.h"

#include <utility>

namespace ember::records {

ChunkPipeline::ChunkPipeline(StagedFile* file)
    : file_(file), worker_([this] { Run(); }) {}

ChunkPipeline::~ChunkPipeline() {
  {
    absl::MutexLock lock(&mu_);
    stopped_ = true;
  }
  worker_.join();
}

absl::Status ChunkPipeline::Push(std::string chunk) {
  absl::MutexLock lock(&mu_);
  auto room = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return queued_bytes_ < kMaxQueuedBytes || !error_.ok();
  };
  mu_.Await(absl::Condition(&room));
  if (!error_.ok()) return error_;
  queued_bytes_ += chunk.size();
  queue_.push_back(std::move(chunk));
  return absl::OkStatus();
}

absl::Status ChunkPipeline::Finish() {
  absl::MutexLock lock(&mu_);
  closed_ = true;
  mu_.Await(absl::Condition(&finished_));
  return error_;
}

void ChunkPipeline::Run() {
  while (true) {
    std::string chunk;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return !queue_.empty() || closed_ || stopped_;
      };
      mu_.Await(absl::Condition(&ready));
      if (stopped_ || queue_.empty()) {
        finished_ = true;
        return;
      }
      chunk = std::move(queue_.front());
      queue_.pop_front();
    }
    absl::Status written = file_->Append(chunk);
    absl::MutexLock lock(&mu_);
    queued_bytes_ -= chunk.size();
    if (!written.ok()) {
      error_ = written;
      finished_ = true;
      return;
    }
  }
}

}  // namespace ember::records
