#include "client/commands/progress_bar.h"

#include <algorithm>
#include <cstdio>
#include <utility>

#include "absl/strings/str_cat.h"
#include "client/commands/server_command.h"

namespace ember::client {

constexpr absl::Duration kRedrawPeriod = absl::Milliseconds(100);

ProgressBar::ProgressBar(std::ostream& out, Options options)
    : out_(out), options_(std::move(options)), start_(options_.now()) {}

std::string FormatClock(absl::Duration duration) {
  int64_t seconds = absl::ToInt64Seconds(duration);
  if (seconds < 0) seconds = 0;
  char text[32];
  if (seconds >= 3600) {
    std::snprintf(text, sizeof(text), "%lld:%02lld:%02lld",
                  static_cast<long long>(seconds / 3600),
                  static_cast<long long>(seconds / 60 % 60),
                  static_cast<long long>(seconds % 60));
  } else {
    std::snprintf(text, sizeof(text), "%lld:%02lld",
                  static_cast<long long>(seconds / 60),
                  static_cast<long long>(seconds % 60));
  }
  return text;
}

std::string ProgressBar::Rate() const {
  const double seconds = absl::ToDoubleSeconds(options_.now() - start_);
  if (seconds <= 0) return "-";
  return absl::StrCat(HumanBytes(static_cast<uint64_t>(done_ / seconds)), "/s");
}

void ProgressBar::Update(uint64_t done, uint64_t total) {
  done_ = done;
  total_ = total;
  if (options_.terminal) {
    const absl::Time now = options_.now();
    if (now - last_draw_ < kRedrawPeriod && done != total) return;
    last_draw_ = now;
    Draw(false);
    return;
  }
  if (total == 0) return;
  const int tenths =
      static_cast<int>(std::min<uint64_t>(done * 10 / total, 10));
  if (tenths <= reported_tenths_ || tenths == 0) return;
  reported_tenths_ = tenths;
  out_ << options_.label << ": " << (done * 100 / total) << "% ("
       << HumanBytes(done) << " of " << HumanBytes(total) << ")\n";
  out_.flush();
}

void ProgressBar::Draw(bool final) {
  std::string line = options_.label + " ";
  if (total_ > 0) {
    const int filled = static_cast<int>(std::min<uint64_t>(
        done_ * options_.bar_width / total_, options_.bar_width));
    absl::StrAppend(&line, "[", std::string(filled, '#'),
                    std::string(options_.bar_width - filled, '.'), "] ",
                    done_ * 100 / total_, "%  ", HumanBytes(done_), " / ",
                    HumanBytes(total_));
  } else {
    absl::StrAppend(&line, HumanBytes(done_));
  }
  absl::StrAppend(&line, "  ", Rate());
  const absl::Duration elapsed = options_.now() - start_;
  if (final) {
    absl::StrAppend(&line, "  ", FormatClock(elapsed));
  } else if (total_ > 0 && done_ >= total_) {
    // Every byte is out; the server may still be converting, checking or
    // (for an upload with --wait) loading the model.
    absl::StrAppend(&line, "  waiting for the server");
  } else if (total_ > 0 && done_ > 0) {
    const double left =
        absl::ToDoubleSeconds(elapsed) * (total_ - done_) / done_;
    absl::StrAppend(&line, "  ", FormatClock(absl::Seconds(left)), " left");
  }
  // Pad over the remains of a longer previous line.
  const size_t width = line.size();
  if (width < last_width_) line += std::string(last_width_ - width, ' ');
  last_width_ = width;
  out_ << "\r" << line;
  out_.flush();
  drawn_ = true;
}

void ProgressBar::Finish() {
  if (options_.terminal) {
    Draw(true);
    out_ << "\n";
    out_.flush();
    return;
  }
  const absl::Duration elapsed = options_.now() - start_;
  out_ << options_.label << ": done, " << HumanBytes(done_) << " in "
       << absl::FormatDuration(absl::Trunc(elapsed, absl::Milliseconds(1)))
       << " (" << Rate() << ")\n";
  out_.flush();
}

void ProgressBar::Abandon() {
  if (options_.terminal && drawn_) {
    out_ << "\n";
    out_.flush();
  }
}

}  // namespace ember::client
