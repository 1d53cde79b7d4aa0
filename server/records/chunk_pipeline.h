// Writes upload chunks to a staged file on a thread of its own, so the
// thread reading the gRPC stream never waits on the disk while there is
// room in the queue.
//
//   ChunkPipeline pipeline(staged_file.get());
//   while (reader->Read(&message)) {
//     payload.append(message.chunk());
//     hash.Update(message.chunk());
//     EMBER_RETURN_IF_ERROR(
//         pipeline.Push(std::move(*message.mutable_chunk())));
//   }
//   EMBER_RETURN_IF_ERROR(pipeline.Finish());
//
// Hashing is deliberately not done here: on two cores the receive thread
// hashing with SHA-NI as chunks arrive costs less than a worker that
// hashes and writes in turn, whose hashing then also waits on the disk.

#ifndef EMBER_SERVER_RECORDS_CHUNK_PIPELINE_H_
#define EMBER_SERVER_RECORDS_CHUNK_PIPELINE_H_

#include <cstdint>
#include <deque>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "server/records/repository_files.h"

namespace ember::records {

// One producer (the caller of Push/Finish) and one worker thread. The
// producer's methods must not be called concurrently.
class ChunkPipeline {
 public:
  // Chunks queued but not yet written, in bytes, before Push waits.
  static constexpr uint64_t kMaxQueuedBytes = uint64_t{32} << 20;

  // `file` must not be null and must outlive the pipeline; only the worker
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
  // Waits until everything queued is written; returns the first write
  // error. Call once. The file is not fsynced (StagedFile::Finish does).
  absl::Status Finish();

 private:
  void Run();

  StagedFile* const file_;
  // Held only to move chunks in and out of the queue, never while writing.
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
