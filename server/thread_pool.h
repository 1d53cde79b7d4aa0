// A fixed set of worker threads running queued closures in FIFO order.
//
//   ThreadPool pool("load", 2);
//   pool.Schedule([] { ... });
//   // ~ThreadPool runs what is queued, then joins.

#ifndef EMBER_SERVER_THREAD_POOL_H_
#define EMBER_SERVER_THREAD_POOL_H_

#include <deque>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace ember::server {

// Thread-safe. Destruction finishes every scheduled closure, then joins.
class ThreadPool {
 public:
  // `num_threads` below 1 is read as 1.
  ThreadPool(std::string name, int num_threads);
  ~ThreadPool();

  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  void Schedule(std::function<void()> fn);

 private:
  void Run();

  const std::string name_;
  absl::Mutex mu_;  // held only to push or pop a closure
  std::deque<std::function<void()>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace ember::server

#endif  // EMBER_SERVER_THREAD_POOL_H_
