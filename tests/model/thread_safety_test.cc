// One model instance shared by many threads, as the daemon shares a loaded
// version between requests: every thread's outputs must equal the
// single-threaded outputs bit for bit.

#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "model/model.h"
#include "model/model_builder.h"
#include "tests/model/fixtures.h"

namespace ember::model {
namespace {

std::shared_ptr<const Model> Load(const std::string& name,
                                  const std::string& record_file) {
  const std::string dir = testing::ModelDir(name);
  auto config = LoadModelConfigFile(dir + "/config.pbtxt");
  EXPECT_TRUE(config.ok()) << config.status();
  auto model =
      LoadModel(*config, dir + "/config.pbtxt", dir + "/1/" + record_file);
  EXPECT_TRUE(model.ok()) << model.status();
  return model.ok() ? *model : nullptr;
}

// Slices rows [first, first + count) of the golden input batch.
Tensor Rows(const Tensor& batch, int64_t first, int64_t count) {
  std::vector<int64_t> shape = batch.shape();
  const int64_t row = batch.num_elements() / shape[0];
  shape[0] = count;
  std::vector<float> values(batch.data<float>() + first * row,
                            batch.data<float>() + (first + count) * row);
  return Tensor::FromVector(shape, std::move(values));
}

void ExpectSameUnderConcurrency(const Model& model, const Tensor& batch) {
  // Inputs of different batch sizes so threads interleave different work.
  std::vector<Tensor> inputs;
  std::vector<Tensor> expected;
  for (int64_t first = 0; first < batch.dim(0); ++first) {
    inputs.push_back(Rows(batch, first, batch.dim(0) - first));
    auto out = model.Forward({inputs.back()});
    ASSERT_TRUE(out.ok()) << out.status();
    expected.push_back((*out)[0]);
  }

  constexpr int kThreads = 8;
  constexpr int kRounds = 20;
  absl::Notification start;
  std::vector<int> mismatches(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.WaitForNotification();
      for (int r = 0; r < kRounds; ++r) {
        const size_t i = (t + r) % inputs.size();
        auto out = model.Forward({inputs[i]});
        if (!out.ok() || (*out)[0].shape() != expected[i].shape() ||
            std::memcmp((*out)[0].data<float>(), expected[i].data<float>(),
                        expected[i].byte_size()) != 0) {
          ++mismatches[t];
        }
      }
    });
  }
  start.Notify();
  for (std::thread& thread : threads) thread.join();
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(mismatches[t], 0) << "thread " << t;
  }
}

TEST(ThreadSafetyTest, LenetGraph) {
  auto model = Load("lenet", "model.mpk");
  ASSERT_NE(model, nullptr);
  ExpectSameUnderConcurrency(
      *model, testing::LoadGoldenOrDie("lenet-mnist-f16-burn0.18.0").input);
}

TEST(ThreadSafetyTest, Connect4GraphWithInPlaceActivations) {
  auto model = Load("connect4", "model.mpk");
  ASSERT_NE(model, nullptr);
  ExpectSameUnderConcurrency(
      *model, testing::LoadGoldenOrDie("connect4-mlp-f32-burn0.16.1").input);
}

TEST(ThreadSafetyTest, ModernLstmArchitecture) {
  auto model = Load("lstm", "model.mpk");
  ASSERT_NE(model, nullptr);
  ExpectSameUnderConcurrency(
      *model, testing::LoadGoldenOrDie("lstm-f16-burn0.17.0").input);
}

TEST(ThreadSafetyTest, BookCnnGraph) {
  auto model = Load("cnn", "model.mpk.gz");
  ASSERT_NE(model, nullptr);
  ExpectSameUnderConcurrency(
      *model, testing::LoadGoldenOrDie("cnn-mnist-f16-burn0.11.0").input);
}

}  // namespace
}  // namespace ember::model
