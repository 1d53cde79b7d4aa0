#include "common/process_memory.h"

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <string>

namespace ember {

double RssAnonMiB(pid_t pid) {
  std::ifstream status(pid == 0 ? std::string("/proc/self/status")
                                : "/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("RssAnon:", 0) == 0) {
      return std::strtod(line.c_str() + 8, nullptr) / 1024;  // kB
    }
  }
  return 0;
}

RssAnonPeak::RssAnonPeak(pid_t pid)
    : pid_(pid), baseline_(RssAnonMiB(pid)), peak_(baseline_) {
  thread_ = std::thread([this] {
    while (!stop_.load()) {
      const double now = RssAnonMiB(pid_);
      if (now > peak_.load()) peak_.store(now);
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  });
}

RssAnonPeak::~RssAnonPeak() {
  stop_.store(true);
  thread_.join();
}

}  // namespace ember
