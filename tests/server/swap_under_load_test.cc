// Hot swap under load: client threads call ModelInfer continuously while new
// records of the Connect-4 model are written into the repository, by atomic
// rename (new version directories) and by plain in-place writes (replacing
// the record of the serving version). Each record is the fixture with its
// output-layer bias shifted by 10 * k, so every response tells which record
// computed it.
//
// Checked: no request fails; every response comes entirely from one record
// (all seven outputs carry the same shift); shifts never go backwards for a
// client; and the newest record serves within the poll interval after each
// write.

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "model/model_builder.h"
#include "proto/grpc_service.grpc.pb.h"
#include "recorder/codec.h"
#include "server/server.h"
#include "server/test_util.h"
#include "tests/server/shifted_record.h"

namespace ember {
namespace {

using server::testing::NewTempDir;
using server::testing::WriteFile;
using server::testing::WriteFileAtomically;
using testing::ReadFileOrEmpty;
using testing::Runfile;

constexpr absl::Duration kPollInterval = absl::Seconds(2);
constexpr int kWrites = 40;
constexpr int kClients = 4;
constexpr float kStep = 10.0f;

TEST(SwapUnderLoadTest, EveryResponseComesFromOneRecordAndNoneFails) {
  const recorder::Record base = testing::LoadConnect4Fixture();
  auto ShiftedRecord = [](const recorder::Record& record, float shift) {
    return testing::ShiftedConnect4Record(record, shift);
  };

  const std::string root = NewTempDir("swap");
  WriteFile(
      root + "/connect4/config.pbtxt",
      ReadFileOrEmpty(Runfile("tests/fixtures/models/connect4/config.pbtxt")));
  WriteFile(root + "/connect4/1/model.mpk", ShiftedRecord(base, 0));

  server::EmberServer::Options options;
  options.model_repository = root;
  options.grpc_address = "127.0.0.1:0";
  options.poll_interval = kPollInterval;
  options.settle_time = absl::Milliseconds(200);
  options.inference_threads = 2;
  options.load_threads = 1;
  options.loader = model::LoadModel;
  options.config_parser = model::ParseModelConfig;
  absl::StatusOr<std::unique_ptr<server::EmberServer>> server =
      server::EmberServer::Create(std::move(options));
  ASSERT_TRUE(server.ok()) << server.status();
  ASSERT_TRUE((*server)->manager()->AwaitVersionState(
      "connect4", 1, server::VersionState::kReady, absl::Seconds(60)));

  auto channel =
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", (*server)->port()),
                          grpc::InsecureChannelCredentials());
  auto stub = inference::GRPCInferenceService::NewStub(channel);
  inference::ModelInferRequest request;
  request.set_model_name("connect4");
  auto* board = request.add_inputs();
  board->set_name("board");
  board->set_datatype("FP32");
  board->add_shape(1);
  board->add_shape(42);
  for (int i = 0; i < 42; ++i) {
    board->mutable_contents()->add_fp32_contents((i % 3) - 1.0f);
  }

  std::vector<float> reference;  // outputs of the unshifted record
  {
    grpc::ClientContext context;
    inference::ModelInferResponse response;
    ASSERT_TRUE(stub->ModelInfer(&context, request, &response).ok());
    const auto& values = response.outputs(0).contents().fp32_contents();
    reference.assign(values.begin(), values.end());
    ASSERT_EQ(reference.size(), 7u);
  }

  absl::Mutex mu;
  int newest_seen = 0;  // highest shift index any response carried
  std::atomic<bool> stop{false};
  std::atomic<int64_t> requests{0};
  std::atomic<int64_t> failures{0};
  std::atomic<int64_t> mixed{0};
  std::atomic<int64_t> backwards{0};
  std::string first_failure;

  auto client = [&] {
    int last = 0;
    while (!stop.load()) {
      grpc::ClientContext context;
      context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
      inference::ModelInferResponse response;
      grpc::Status status = stub->ModelInfer(&context, request, &response);
      ++requests;
      if (!status.ok()) {
        absl::MutexLock lock(&mu);
        if (failures++ == 0) first_failure = status.error_message();
        continue;
      }
      const auto& values = response.outputs(0).contents().fp32_contents();
      const float shift = values[0] - reference[0];
      const int k = static_cast<int>(std::lround(shift / kStep));
      bool one_record = std::fabs(shift - k * kStep) < 1e-3f;
      for (int i = 1; i < values.size(); ++i) {
        one_record =
            one_record && std::fabs(values[i] - reference[i] - shift) < 1e-3f;
      }
      if (!one_record) ++mixed;
      if (k < last) ++backwards;
      last = k;
      absl::MutexLock lock(&mu);
      if (k > newest_seen) newest_seen = k;
    }
  };
  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i) clients.emplace_back(client);

  int64_t version = 1;
  absl::Duration slowest;
  for (int k = 1; k <= kWrites; ++k) {
    const std::string bytes = ShiftedRecord(base, k * kStep);
    if (k % 2 == 0) {
      ++version;  // a new version directory, record renamed into place
      WriteFileAtomically(
          absl::StrCat(root, "/connect4/", version, "/model.mpk"), bytes);
    } else {  // the serving version's record rewritten in place
      WriteFile(absl::StrCat(root, "/connect4/", version, "/model.mpk"), bytes);
    }
    const absl::Time written = absl::Now();
    absl::MutexLock lock(&mu);
    struct Want {
      const int* seen;
      int k;
    } want{&newest_seen, k};
    const bool served = mu.AwaitWithTimeout(
        absl::Condition(
            +[](Want* w) { return *w->seen >= w->k; }, &want),
        absl::Seconds(30));
    ASSERT_TRUE(served) << "record " << k << " never served";
    const absl::Duration took = absl::Now() - written;
    slowest = std::max(slowest, took);
    EXPECT_LE(took, kPollInterval) << "record " << k << " took " << took;
  }
  stop = true;
  for (std::thread& t : clients) t.join();

  std::cout << "swap under load: " << kWrites << " writes, " << requests.load()
            << " requests, slowest pick-up " << slowest << "\n";
  EXPECT_EQ(failures.load(), 0) << first_failure;
  EXPECT_EQ(mixed.load(), 0);
  EXPECT_EQ(backwards.load(), 0);
  EXPECT_GT(requests.load(), kWrites);
  (*server)->Drain();
}

}  // namespace
}  // namespace ember
