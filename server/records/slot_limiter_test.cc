#include "server/records/slot_limiter.h"

#include <atomic>
#include <thread>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"

namespace ember::records {
namespace {

TEST(SlotLimiterTest, GivesOutAtMostItsSlots) {
  SlotLimiter limiter(2);
  auto a = limiter.Acquire(absl::InfiniteFuture(), nullptr, "test");
  auto b = limiter.Acquire(absl::InfiniteFuture(), nullptr, "test");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(limiter.InUse(), 2);
  // Full: a deadline already passed fails at once.
  auto c = limiter.Acquire(absl::InfinitePast(), nullptr, "upload");
  EXPECT_EQ(c.status().code(), absl::StatusCode::kResourceExhausted);
  *a = SlotLimiter::Slot();
  EXPECT_EQ(limiter.InUse(), 1);
  auto d = limiter.Acquire(absl::InfinitePast(), nullptr, "test");
  EXPECT_TRUE(d.ok());
}

TEST(SlotLimiterTest, WaiterGetsTheSlotWhenItFrees) {
  SlotLimiter limiter(1);
  auto held = limiter.Acquire(absl::InfiniteFuture(), nullptr, "test");
  ASSERT_TRUE(held.ok());
  absl::Notification acquired;
  std::thread waiter([&] {
    auto slot = limiter.Acquire(absl::InfiniteFuture(), nullptr, "test");
    EXPECT_TRUE(slot.ok());
    acquired.Notify();
  });
  EXPECT_FALSE(acquired.HasBeenNotified());
  *held = SlotLimiter::Slot();
  acquired.WaitForNotification();
  waiter.join();
  EXPECT_EQ(limiter.InUse(), 0);
}

TEST(SlotLimiterTest, CancelledWaiterLeaves) {
  SlotLimiter limiter(1);
  auto held = limiter.Acquire(absl::InfiniteFuture(), nullptr, "test");
  ASSERT_TRUE(held.ok());
  std::atomic<bool> cancel{false};
  absl::Notification done;
  absl::Status status;
  std::thread waiter([&] {
    status =
        limiter
            .Acquire(
                absl::InfiniteFuture(), [&] { return cancel.load(); }, "test")
            .status();
    done.Notify();
  });
  cancel = true;
  done.WaitForNotification();
  waiter.join();
  EXPECT_EQ(status.code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(limiter.InUse(), 1);
}

}  // namespace
}  // namespace ember::records
