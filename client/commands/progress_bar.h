// Transfer progress for `ember upload` and `ember download`, on stderr.
//
// On a terminal the bar is redrawn in place (carriage return) at most ten
// times a second: bytes done and total, rate, and time left (or, once every
// byte is out, that the server is still working). When stderr
// is not a terminal (a log, a pipe, CI) it prints plain lines instead, one
// each time another tenth of the transfer is done, and a closing line, so
// logs stay readable:
//
//   ProgressBar bar(std::cerr, {.label = "upload connect4",
//                               .terminal = isatty(2) != 0});
//   options.progress = [&bar](uint64_t done, uint64_t total) {
//     bar.Update(done, total);
//   };
//   ... transfer ...
//   bar.Finish();  // after success only
//
// Not thread-safe; the transfer calls Update from one thread.

#ifndef EMBER_CLIENT_COMMANDS_PROGRESS_BAR_H_
#define EMBER_CLIENT_COMMANDS_PROGRESS_BAR_H_

#include <cstdint>
#include <functional>
#include <ostream>
#include <string>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace ember::client {

class ProgressBar {
 public:
  struct Options {
    // Leads every line, e.g. "upload connect4".
    std::string label;
    // Redraw in place (true) or print plain lines (false).
    bool terminal = false;
    // Width of the bar itself, in characters. Default 24.
    int bar_width = 24;
    // Clock; tests pass a fake one.
    std::function<absl::Time()> now = [] { return absl::Now(); };
  };

  ProgressBar(std::ostream& out, Options options);

  // Reports `done` of `total` bytes (total 0: unknown).
  void Update(uint64_t done, uint64_t total);
  // Ends the display after a successful transfer: the last redraw and a
  // newline on a terminal, a closing "done" line otherwise.
  void Finish();
  // Ends the display after a failure: on a terminal, moves to a new line
  // so the error is not printed over the bar. Prints nothing otherwise.
  void Abandon();

 private:
  void Draw(bool final);
  // "1.2 MiB/s"; "-" when no time has passed.
  std::string Rate() const;

  std::ostream& out_;
  const Options options_;
  const absl::Time start_;
  absl::Time last_draw_ = absl::InfinitePast();
  uint64_t done_ = 0;
  uint64_t total_ = 0;
  // Tenths already reported in plain mode (-1: none yet).
  int reported_tenths_ = -1;
  size_t last_width_ = 0;
  bool drawn_ = false;
};

// "0:07", "12:30", "1:02:03".
std::string FormatClock(absl::Duration duration);

}  // namespace ember::client

#endif  // EMBER_CLIENT_COMMANDS_PROGRESS_BAR_H_
