// Hashes upload chunks and writes them to a staged file on a thread of its
// own, so the thread reading the gRPC stream never waits on the disk or
// the digest.
//
//   ChunkPipeline pipeline(staged_file.get());  // or nullptr: hash only
//   while (reader->Read(&message)) {
//     payload.append(message.chunk());
//     std::string chunk = std::move(*message.mutable_chunk());
//     EMBER_RETURN_IF_ERROR(pipeline.Push(std::move(chunk)));
//   }
//   EMBER_ASSIGN_OR_RETURN(std::string sha256, pipeline.Finish());

#ifndef EMBER_SERVER_RECORDS_CHUNK_PIPELINE_H_
#define EMBER_SERVER_RECORDS_CHUNK_PIPELINE_H_

#include <cstdint>
#include <deque>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/sha256.h"
#include "server/records/repository_files.h"

namespace ember::records {

// One producer (the caller of Push/Finish) and one worker thread. The
// producer's methods must not be called concurrently.
class ChunkPipeline {
 public:
  // Chunks queued but not yet written, in bytes, before Push waits.
  static constexpr uint64_t kMaxQueuedBytes = uint64_t{32} << 20;

  // `file` (may be nullptr) must outlive the pipeline; only the worker
  // thread touches it until Finish returns.
  explicit ChunkPipeline(StagedFile* file);
  // Stops the worker (dropping what is queued) if Finish was not called.
  ~ChunkPipeline();

  ChunkPipeline(const ChunkPipeline&) = delete;
  ChunkPipeline& operator=(const ChunkPipeline&) = delete;

  // Queues `chunk`; waits while kMaxQueuedBytes are queued. Returns the
  // worker's first write error, if any, so a full disk stops the upload
  // early.
  absl::Status Push(std::string chunk);
  // Waits until everything queued is hashed and written; returns the hex
  // SHA-256 of all chunks, or the first write error. Call once.
  absl::StatusOr<std::string> Finish();

 private:
  void Run();

  StagedFile* const file_;
  Sha256 hash_;  // worker thread only
  // Held only to move chunks in and out of the queue, never while hashing
  // or writing.
  absl::Mutex mu_;
  std::deque<std::string> queue_ ABSL_GUARDED_BY(mu_);
  uint64_t queued_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;    // no more chunks will come
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;   // worker must leave now
  bool finished_ ABSL_GUARDED_BY(mu_) = false;  // worker has left
  absl::Status error_ ABSL_GUARDED_BY(mu_);
  std::thread worker_;
};

}  // namespace ember::records

#endif  // EMBER_SERVER_RECORDS_CHUNK_PIPELINE_H_
