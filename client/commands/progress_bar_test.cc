#include "client/commands/progress_bar.h"

#include <sstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ember::client {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

// A clock the test moves by hand.
struct FakeClock {
  absl::Time now = absl::FromUnixSeconds(1000);
  std::function<absl::Time()> Fn() {
    return [this] { return now; };
  }
};

TEST(ProgressBarTest, PlainOutputPrintsEachTenthOnceAndADoneLine) {
  FakeClock clock;
  std::ostringstream out;
  ProgressBar::Options options;
  options.label = "upload lenet";
  options.terminal = false;
  options.now = clock.Fn();
  ProgressBar bar(out, options);
  const uint64_t total = 10 * 1024 * 1024;
  bar.Update(0, total);
  // 1 MiB steps, with a repeat and a small step that crosses no tenth.
  for (uint64_t done : {1, 1, 2, 3, 5, 9, 10}) {
    clock.now += absl::Milliseconds(250);
    bar.Update(done * 1024 * 1024, total);
  }
  bar.Update(total, total);
  bar.Finish();
  const std::string text = out.str();
  EXPECT_FALSE(absl::StrContains(text, "\r"));
  EXPECT_THAT(absl::StrSplit(text, '\n', absl::SkipEmpty()),
              ElementsAre("upload lenet: 10% (1.0 MiB of 10.0 MiB)",
                          "upload lenet: 20% (2.0 MiB of 10.0 MiB)",
                          "upload lenet: 30% (3.0 MiB of 10.0 MiB)",
                          "upload lenet: 50% (5.0 MiB of 10.0 MiB)",
                          "upload lenet: 90% (9.0 MiB of 10.0 MiB)",
                          "upload lenet: 100% (10.0 MiB of 10.0 MiB)",
                          "upload lenet: done, 10.0 MiB in 1.75s (5.7 MiB/s)"));
}

TEST(ProgressBarTest, PlainOutputWithUnknownTotalOnlyPrintsTheEnd) {
  FakeClock clock;
  std::ostringstream out;
  ProgressBar bar(out, {"download m", false, 24, clock.Fn()});
  bar.Update(100, 0);
  clock.now += absl::Seconds(2);
  bar.Update(4096, 0);
  bar.Finish();
  EXPECT_EQ(out.str(), "download m: done, 4.0 KiB in 2s (2.0 KiB/s)\n");
}

TEST(ProgressBarTest, TerminalRedrawsInPlaceWithRateAndTimeLeft) {
  FakeClock clock;
  std::ostringstream out;
  ProgressBar bar(out, {"upload m", true, 10, clock.Fn()});
  clock.now += absl::Seconds(1);
  bar.Update(1024 * 1024, 4 * 1024 * 1024);
  // Within 100 ms of the last draw: skipped.
  clock.now += absl::Milliseconds(50);
  bar.Update(1024 * 1024 + 1, 4 * 1024 * 1024);
  clock.now += absl::Seconds(1);
  bar.Update(2 * 1024 * 1024, 4 * 1024 * 1024);
  bar.Update(4 * 1024 * 1024, 4 * 1024 * 1024);  // the end is always drawn
  bar.Finish();
  const std::vector<std::string> frames =
      absl::StrSplit(out.str(), '\r', absl::SkipEmpty());
  ASSERT_EQ(frames.size(), 4u) << out.str();
  EXPECT_EQ(frames[0],
            "upload m [##........] 25%  1.0 MiB / 4.0 MiB  1.0 MiB/s  0:03 "
            "left");
  EXPECT_THAT(frames[1], HasSubstr("[#####.....] 50%"));
  EXPECT_THAT(frames[1], HasSubstr("0:02 left"));
  EXPECT_THAT(frames[2], HasSubstr("[##########] 100%"));
  EXPECT_THAT(frames[2], HasSubstr("waiting for the server"));
  EXPECT_THAT(frames[3], HasSubstr("[##########] 100%"));
  EXPECT_THAT(frames[3], Not(HasSubstr("waiting")));
  EXPECT_TRUE(absl::EndsWith(frames[3], "\n"));
}

TEST(ProgressBarTest, AbandonEndsTheTerminalLine) {
  FakeClock clock;
  std::ostringstream terminal;
  ProgressBar bar(terminal, {"x", true, 10, clock.Fn()});
  bar.Update(1, 2);
  bar.Abandon();
  EXPECT_TRUE(absl::EndsWith(terminal.str(), "\n"));
  std::ostringstream plain;
  ProgressBar quiet(plain, {"x", false, 10, clock.Fn()});
  quiet.Abandon();
  EXPECT_EQ(plain.str(), "");
}

TEST(ProgressBarTest, ClockFormat) {
  EXPECT_EQ(FormatClock(absl::Seconds(7)), "0:07");
  EXPECT_EQ(FormatClock(absl::Seconds(750)), "12:30");
  EXPECT_EQ(FormatClock(absl::Seconds(3723)), "1:02:03");
}

}  // namespace
}  // namespace ember::client
