#include "server/inference_scheduler.h"

#include <memory>
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

}  // namespace
}  // namespace ember::server
