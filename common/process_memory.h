// Resident memory of a process as Linux reports it in /proc, for the
// benchmarks that print memory figures.
//
//   RssAnonPeak peak(child_pid);   // samples every 2 ms from now on
//   ...                           // the work being measured
//   double added = peak.added();  // MiB above the level at construction

#ifndef EMBER_COMMON_PROCESS_MEMORY_H_
#define EMBER_COMMON_PROCESS_MEMORY_H_

#include <sys/types.h>

#include <atomic>
#include <thread>

namespace ember {

// Resident anonymous memory (RssAnon) of process `pid` (0: this process)
// in MiB; 0 when /proc cannot tell.
double RssAnonMiB(pid_t pid = 0);

// Samples RssAnonMiB(pid) every 2 ms on a thread of its own until
// destroyed, keeping the highest value.
class RssAnonPeak {
 public:
  explicit RssAnonPeak(pid_t pid = 0);
  ~RssAnonPeak();
  RssAnonPeak(const RssAnonPeak&) = delete;
  RssAnonPeak& operator=(const RssAnonPeak&) = delete;

  // Level at construction and highest level seen since, in MiB.
  double baseline() const { return baseline_; }
  double peak() const { return peak_.load(); }
  // Most memory seen above the level at construction.
  double added() const { return peak() - baseline_; }

 private:
  const pid_t pid_;
  const double baseline_;
  std::atomic<double> peak_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace ember

#endif  // EMBER_COMMON_PROCESS_MEMORY_H_
