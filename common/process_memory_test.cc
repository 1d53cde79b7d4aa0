#include "common/process_memory.h"

#include <unistd.h>

#include <chrono>
#include <cstring>
#include <memory>
#include <thread>

#include "gtest/gtest.h"

namespace ember {
namespace {

TEST(ProcessMemoryTest, SeesThisProcessGrowAndShrink) {
  const double before = RssAnonMiB();
  EXPECT_GT(before, 0);
  EXPECT_GT(RssAnonMiB(getpid()), 0);
  RssAnonPeak peak;
  {
    constexpr size_t kBytes = size_t{64} << 20;
    std::unique_ptr<char[]> block(new char[kBytes]);
    std::memset(block.get(), 1, kBytes);  // resident now
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_GT(RssAnonMiB(), before + 48);
  }
  EXPECT_GT(peak.added(), 48);
  EXPECT_GE(peak.peak(), peak.baseline() + 48);
}

TEST(ProcessMemoryTest, UnknownProcessIsZero) {
  EXPECT_EQ(RssAnonMiB(999999999), 0);
}

}  // namespace
}  // namespace ember
