#include "server/inference_scheduler.h"

#include <memory>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "server/test_util.h"

namespace ember::server {
namespace {

using testing::ForwardGate;
using testing::OffsetModel;

constexpr absl::Duration kWait = absl::Seconds(30);

std::shared_ptr<const ServableVersion> Servable(float offset) {
  auto servable = std::make_shared<ServableVersion>();
  servable->model_name = "m";
  servable->version = 1;
  servable->model = std::make_shared<OffsetModel>(offset);
  servable->stats = std::make_shared<VersionStats>();
  return servable;
}

InferenceTask Task(std::shared_ptr<const ServableVersion> servable,
                   absl::Notification* done, InferenceResult* result) {
  InferenceTask task;
  task.servable = std::move(servable);
  task.inputs.push_back(model::Tensor::FromVector({1, 2}, {1.f, 2.f}));
  task.done = [done, result](InferenceResult r) {
    *result = std::move(r);
    done->Notify();
  };
  return task;
}

TEST(FifoSchedulerTest, RunsTasksAndReportsTimes) {
  FifoScheduler scheduler(FifoScheduler::Options{});
  absl::Notification done;
  InferenceResult result;
  ASSERT_TRUE(scheduler.Submit(Task(Servable(10), &done, &result)).ok());
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(kWait));
  ASSERT_TRUE(result.outputs.ok()) << result.outputs.status();
  EXPECT_EQ((*result.outputs)[0].data<float>()[1], 12.f);
  EXPECT_GE(result.queue_time, absl::ZeroDuration());
  EXPECT_GE(result.infer_time, absl::ZeroDuration());
}

TEST(FifoSchedulerTest, RefusesWorkBeyondTheQueueLimit) {
  FifoScheduler::Options options;
  options.num_threads = 1;
  options.max_queue_size = 1;
  options.run_on_caller_when_idle = false;  // every task goes through the queue
  auto scheduler = std::make_unique<FifoScheduler>(options);
  auto servable = Servable(0);
  absl::Notification done[2];
  InferenceResult results[2];

  ForwardGate::Close();
  ASSERT_TRUE(scheduler->Submit(Task(servable, &done[0], &results[0])).ok());
  ASSERT_TRUE(ForwardGate::AwaitWaiting(1, kWait));  // the worker is busy
  ASSERT_TRUE(scheduler->Submit(Task(servable, &done[1], &results[1])).ok());
  absl::Notification never;
  InferenceResult unused;
  absl::Status full = scheduler->Submit(Task(servable, &never, &unused));
  EXPECT_TRUE(absl::IsResourceExhausted(full)) << full;
  EXPECT_NE(full.message().find("queue full"), absl::string_view::npos);

  ForwardGate::Open();
  scheduler.reset();  // runs what was queued, then joins
  EXPECT_TRUE(done[0].HasBeenNotified());
  EXPECT_TRUE(done[1].HasBeenNotified());
  EXPECT_FALSE(never.HasBeenNotified());
}

TEST(FifoSchedulerTest, RunsOnTheCallerWhenNothingWaits) {
  FifoScheduler scheduler(FifoScheduler::Options{});
  absl::Notification done;
  InferenceResult result;
  std::thread::id ran_on;
  InferenceTask task = Task(Servable(1), &done, &result);
  auto notify = std::move(task.done);
  task.done = [&](InferenceResult r) {
    ran_on = std::this_thread::get_id();
    notify(std::move(r));
  };
  ASSERT_TRUE(scheduler.Submit(std::move(task)).ok());
  EXPECT_TRUE(done.HasBeenNotified());  // before Submit returned
  EXPECT_EQ(ran_on, std::this_thread::get_id());
  ASSERT_TRUE(result.outputs.ok());
  EXPECT_EQ((*result.outputs)[0].data<float>()[0], 2.f);
}

// Tasks run on submitting threads hold slots: with one thread, a second
// task waits in the queue until the first (running on its caller) ends.
TEST(FifoSchedulerTest, CallerRunsCountAgainstTheThreadLimit) {
  FifoScheduler::Options options;
  options.num_threads = 1;
  auto scheduler = std::make_unique<FifoScheduler>(options);
  auto servable = Servable(0);
  absl::Notification done[2];
  InferenceResult results[2];

  ForwardGate::Close();
  std::thread caller([&] {
    ASSERT_TRUE(scheduler->Submit(Task(servable, &done[0], &results[0])).ok());
  });
  ASSERT_TRUE(ForwardGate::AwaitWaiting(1, kWait));  // running on `caller`
  ASSERT_TRUE(scheduler->Submit(Task(servable, &done[1], &results[1])).ok());
  EXPECT_FALSE(done[1].HasBeenNotified());  // queued, not run here
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_EQ(ForwardGate::Waiting(), 1);  // the worker did not start it

  ForwardGate::Open();
  caller.join();
  ASSERT_TRUE(done[1].WaitForNotificationWithTimeout(kWait));
  EXPECT_TRUE(done[0].HasBeenNotified());
  EXPECT_GT(results[1].queue_time, absl::Milliseconds(40));
  scheduler.reset();
}

}  // namespace
}  // namespace ember::server
