// The daemon in-process, over a real loopback gRPC channel: every RPC,
// every error code, hot swap seen by clients, and drain.

#include "server/server.h"

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>

#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "proto/grpc_service.grpc.pb.h"
#include "server/test_util.h"

namespace ember::server {
namespace {

using inference::GRPCInferenceService;
using testing::ForwardGate;
using testing::NewTempDir;
using testing::ParseTestConfig;
using testing::TestLoader;
using testing::WriteFile;
using testing::WriteFileAtomically;

constexpr absl::Duration kWait = absl::Seconds(30);

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = NewTempDir("repo");
    // Records older than the settle time are complete at first look.
    WriteFile(root_ + "/m/config.pbtxt", "name: \"m\" max_batch_size: 4");
    WriteFile(root_ + "/m/1/model.mpk", "offset=1");
  }

  void Start(absl::Duration poll = absl::Hours(1),
             std::shared_ptr<const auth::AuthPolicy> auth = nullptr,
             absl::Duration settle = absl::ZeroDuration(),
             bool inotify = true) {
    EmberServer::Options options;
    options.auth_policy = auth;
    options.use_inotify = inotify;
    options.model_repository = root_;
    options.grpc_address = "127.0.0.1:0";
    options.poll_interval = poll;
    options.settle_time = settle;
    options.drain_timeout = absl::Seconds(20);
    options.loader = loader_.AsLoader();
    options.config_parser = ParseTestConfig;
    absl::StatusOr<std::unique_ptr<EmberServer>> server =
        EmberServer::Create(std::move(options));
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", server_->port()),
                                   grpc::InsecureChannelCredentials());
    stub_ = GRPCInferenceService::NewStub(channel_);
  }

  void TearDown() override {
    ForwardGate::Open();
    loader_.Release();
    server_.reset();
  }

  bool AwaitReady(const std::string& model, int64_t version) {
    return server_->manager()->AwaitVersionState(model, version,
                                                 VersionState::kReady, kWait);
  }

  static inference::ModelInferRequest Request(std::vector<float> xs,
                                              const std::string& version = "") {
    inference::ModelInferRequest request;
    request.set_model_name("m");
    request.set_model_version(version);
    request.set_id("req-7");
    auto* x = request.add_inputs();
    x->set_name("x");
    x->set_datatype("FP32");
    x->add_shape(static_cast<int64_t>(xs.size() / 2));
    x->add_shape(2);
    for (float v : xs) x->mutable_contents()->add_fp32_contents(v);
    return request;
  }

  grpc::Status Infer(const inference::ModelInferRequest& request,
                     inference::ModelInferResponse* response) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + kWait));
    return stub_->ModelInfer(&context, request, response);
  }

  std::string root_;
  TestLoader loader_;
  std::unique_ptr<EmberServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<GRPCInferenceService::Stub> stub_;
};

TEST_F(ServerTest, HealthAndMetadataRpcs) {
  Start();
  ASSERT_TRUE(AwaitReady("m", 1));
  {
    grpc::ClientContext context;
    inference::ServerLiveResponse live;
    ASSERT_TRUE(stub_->ServerLive(&context, {}, &live).ok());
    EXPECT_TRUE(live.live());
  }
  {
    grpc::ClientContext context;
    inference::ServerReadyResponse ready;
    ASSERT_TRUE(stub_->ServerReady(&context, {}, &ready).ok());
    EXPECT_TRUE(ready.ready());
  }
  {
    grpc::ClientContext context;
    inference::ModelReadyRequest request;
    request.set_name("m");
    inference::ModelReadyResponse ready;
    ASSERT_TRUE(stub_->ModelReady(&context, request, &ready).ok());
    EXPECT_TRUE(ready.ready());
  }
  {
    grpc::ClientContext context;
    inference::ServerMetadataResponse metadata;
    ASSERT_TRUE(stub_->ServerMetadata(&context, {}, &metadata).ok());
    EXPECT_EQ(metadata.name(), "emberd");
    EXPECT_FALSE(metadata.extensions().empty());
  }
  {
    grpc::ClientContext context;
    inference::ModelMetadataRequest request;
    request.set_name("m");
    inference::ModelMetadataResponse metadata;
    ASSERT_TRUE(stub_->ModelMetadata(&context, request, &metadata).ok());
    EXPECT_EQ(metadata.versions(0), "1");
    EXPECT_EQ(metadata.platform(), "ember_burn");
    ASSERT_EQ(metadata.inputs_size(), 1);
    EXPECT_EQ(metadata.inputs(0).name(), "x");
    EXPECT_EQ(metadata.inputs(0).datatype(), "FP32");
    EXPECT_EQ(metadata.inputs(0).shape(0), -1);
    EXPECT_EQ(metadata.outputs(0).name(), "y");
  }
}

TEST_F(ServerTest, InferTypedAndRaw) {
  Start();
  ASSERT_TRUE(AwaitReady("m", 1));
  inference::ModelInferResponse response;
  ASSERT_TRUE(Infer(Request({1, 2, 3, 4}), &response).ok());
  EXPECT_EQ(response.id(), "req-7");
  EXPECT_EQ(response.model_name(), "m");
  EXPECT_EQ(response.model_version(), "1");
  ASSERT_EQ(response.outputs_size(), 1);
  EXPECT_EQ(response.outputs(0).shape(0), 2);
  EXPECT_EQ(response.outputs(0).contents().fp32_contents(3), 5.0f);

  // Raw input (FP64) gives raw output.
  inference::ModelInferRequest raw = Request({});
  raw.mutable_inputs(0)->set_datatype("FP64");
  raw.mutable_inputs(0)->set_shape(0, 1);
  raw.mutable_inputs(0)->clear_contents();
  const double values[2] = {0.5, -1.0};
  raw.add_raw_input_contents()->assign(reinterpret_cast<const char*>(values),
                                       sizeof(values));
  inference::ModelInferResponse raw_response;
  ASSERT_TRUE(Infer(raw, &raw_response).ok());
  ASSERT_EQ(raw_response.raw_output_contents_size(), 1);
  float out[2];
  std::memcpy(out, raw_response.raw_output_contents(0).data(), sizeof(out));
  EXPECT_EQ(out[0], 1.5f);
  EXPECT_EQ(out[1], 0.0f);
}

TEST_F(ServerTest, ErrorCodes) {
  loader_.Hold();
  WriteFile(root_ + "/slow/config.pbtxt", "name: \"slow\"");
  WriteFile(root_ + "/slow/1/model.mpk", "offset=1");
  Start();
  ASSERT_TRUE(loader_.AwaitStarted(2));

  inference::ModelInferResponse response;
  inference::ModelInferRequest loading = Request({1, 2});
  loading.set_model_name("slow");
  EXPECT_EQ(Infer(loading, &response).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  loader_.Release();
  ASSERT_TRUE(AwaitReady("m", 1));

  inference::ModelInferRequest unknown = Request({1, 2});
  unknown.set_model_name("nope");
  EXPECT_EQ(Infer(unknown, &response).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Infer(Request({1, 2}, "9"), &response).error_code(),
            grpc::StatusCode::NOT_FOUND);

  inference::ModelInferRequest bad_name = Request({1, 2});
  bad_name.mutable_inputs(0)->set_name("z");
  grpc::Status status = Infer(bad_name, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("expects: x"), std::string::npos);

  inference::ModelInferRequest bad_type = Request({1, 2});
  bad_type.mutable_inputs(0)->set_datatype("UINT8");
  EXPECT_EQ(Infer(bad_type, &response).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  inference::ModelInferRequest bad_shape = Request({1, 2, 3});
  bad_shape.mutable_inputs(0)->set_shape(1, 3);
  EXPECT_EQ(Infer(bad_shape, &response).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  inference::ModelInferRequest bad_bytes = Request({});
  bad_bytes.mutable_inputs(0)->set_shape(0, 1);
  bad_bytes.mutable_inputs(0)->clear_contents();
  bad_bytes.add_raw_input_contents()->assign(7, '\0');
  status = Infer(bad_bytes, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("needs 8"), std::string::npos);

  // max_batch_size 4 in the config.
  status = Infer(Request({1, 2, 3, 4, 5, 6, 7, 8, 9, 10}), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("max_batch_size 4"), std::string::npos);

  grpc::ClientContext context;
  inference::ModelMetadataRequest metadata;
  metadata.set_name("nope");
  inference::ModelMetadataResponse metadata_response;
  EXPECT_EQ(
      stub_->ModelMetadata(&context, metadata, &metadata_response).error_code(),
      grpc::StatusCode::NOT_FOUND);
}

TEST_F(ServerTest, StatisticsAndRepositoryRpcs) {
  Start();
  ASSERT_TRUE(AwaitReady("m", 1));
  inference::ModelInferResponse response;
  ASSERT_TRUE(Infer(Request({1, 2, 3, 4}), &response).ok());
  inference::ModelInferRequest bad = Request({1, 2});
  bad.mutable_inputs(0)->set_name("z");
  EXPECT_FALSE(Infer(bad, &response).ok());

  {
    grpc::ClientContext context;
    inference::ModelStatisticsRequest request;
    request.set_name("m");
    inference::ModelStatisticsResponse stats;
    ASSERT_TRUE(stub_->ModelStatistics(&context, request, &stats).ok());
    ASSERT_EQ(stats.model_stats_size(), 1);
    const inference::ModelStatistics& s = stats.model_stats(0);
    EXPECT_EQ(s.version(), "1");
    EXPECT_EQ(s.inference_count(), 2u);  // batch of 2
    EXPECT_EQ(s.execution_count(), 1u);
    EXPECT_EQ(s.inference_stats().success().count(), 1u);
    EXPECT_GT(s.inference_stats().success().ns(), 0u);
    EXPECT_EQ(s.inference_stats().fail().count(), 1u);
    EXPECT_GT(s.last_inference(), 0u);
    ASSERT_EQ(s.batch_stats_size(), 1);
    EXPECT_EQ(s.batch_stats(0).batch_size(), 2u);
    EXPECT_EQ(s.memory_usage(0).byte_size(), 4u);
    EXPECT_EQ(s.load_success().count(), 1u);
    EXPECT_EQ(s.load_fail().count(), 0u);
  }
  {
    grpc::ClientContext context;
    inference::ModelStatisticsRequest request;
    request.set_name("nope");
    inference::ModelStatisticsResponse stats;
    EXPECT_EQ(stub_->ModelStatistics(&context, request, &stats).error_code(),
              grpc::StatusCode::NOT_FOUND);
  }
  {
    grpc::ClientContext context;
    inference::RepositoryModelUnloadRequest request;
    request.set_model_name("m");
    inference::RepositoryModelUnloadResponse unloaded;
    ASSERT_TRUE(
        stub_->RepositoryModelUnload(&context, request, &unloaded).ok());
  }
  {
    grpc::ClientContext context;
    inference::RepositoryIndexRequest request;
    inference::RepositoryIndexResponse index;
    ASSERT_TRUE(stub_->RepositoryIndex(&context, request, &index).ok());
    ASSERT_EQ(index.models_size(), 1);
    EXPECT_EQ(index.models(0).name(), "m");
    EXPECT_EQ(index.models(0).version(), "1");
    EXPECT_NE(index.models(0).state(), "READY");
    EXPECT_NE(index.models(0).reason().find("unloaded by request"),
              std::string::npos);
  }
  EXPECT_EQ(Infer(Request({1, 2}), &response).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  {
    grpc::ClientContext context;
    inference::RepositoryModelLoadRequest request;
    request.set_model_name("m");
    inference::RepositoryModelLoadResponse loaded;
    ASSERT_TRUE(stub_->RepositoryModelLoad(&context, request, &loaded).ok());
  }
  EXPECT_TRUE(Infer(Request({1, 2}), &response).ok());
  {
    grpc::ClientContext context;
    inference::RepositoryModelLoadRequest request;
    request.set_model_name("m");
    (*request.mutable_parameters())["config"].set_string_param("{}");
    inference::RepositoryModelLoadResponse loaded;
    EXPECT_EQ(
        stub_->RepositoryModelLoad(&context, request, &loaded).error_code(),
        grpc::StatusCode::INVALID_ARGUMENT);
  }
  {
    grpc::ClientContext context;
    inference::RepositoryIndexRequest request;
    request.set_ready(true);
    inference::RepositoryIndexResponse index;
    ASSERT_TRUE(stub_->RepositoryIndex(&context, request, &index).ok());
    ASSERT_EQ(index.models_size(), 1);
    EXPECT_EQ(index.models(0).state(), "READY");
  }
}

TEST_F(ServerTest, NewRecordIsPickedUpByInotify) {
  Start(/*poll=*/absl::Hours(1));  // no rescan: only inotify can see it
  ASSERT_TRUE(AwaitReady("m", 1));
  WriteFileAtomically(root_ + "/m/2/model.mpk", "offset=20");
  ASSERT_TRUE(AwaitReady("m", 2));
  inference::ModelInferResponse response;
  ASSERT_TRUE(Infer(Request({0, 0}), &response).ok());
  EXPECT_EQ(response.model_version(), "2");
  EXPECT_EQ(response.outputs(0).contents().fp32_contents(0), 20.0f);
}

TEST_F(ServerTest, DrainFinishesInFlightAndRefusesNew) {
  Start();
  ASSERT_TRUE(AwaitReady("m", 1));
  ForwardGate::Close();
  grpc::Status in_flight_status;
  inference::ModelInferResponse in_flight_response;
  std::thread in_flight([&] {
    in_flight_status = Infer(Request({1, 1}), &in_flight_response);
  });
  ASSERT_TRUE(ForwardGate::AwaitWaiting(1, kWait));

  bool drained = false;
  std::thread drain([&] { drained = server_->Drain(); });
  // Readiness drops first; then new requests are refused while the held
  // one is still running.
  bool ready = true;
  for (absl::Time deadline = absl::Now() + kWait;
       ready && absl::Now() < deadline;) {
    grpc::ClientContext context;
    inference::ServerReadyResponse response;
    ASSERT_TRUE(stub_->ServerReady(&context, {}, &response).ok());
    ready = response.ready();
  }
  ASSERT_FALSE(ready);
  inference::ModelInferResponse refused_response;
  grpc::Status refused = Infer(Request({1, 1}), &refused_response);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(ForwardGate::Waiting(), 1);

  ForwardGate::Open();
  in_flight.join();
  drain.join();
  EXPECT_TRUE(in_flight_status.ok()) << in_flight_status.error_message();
  EXPECT_EQ(in_flight_response.outputs(0).contents().fp32_contents(0), 2.0f);
  EXPECT_TRUE(drained);
}

TEST_F(ServerTest, StartsWithoutRepositoryAndPicksItUpWhenItAppears) {
  const std::string real_root = root_;
  root_ = real_root + "-later";
  Start(/*poll=*/absl::Milliseconds(100));
  {
    grpc::ClientContext context;
    inference::RepositoryIndexResponse index;
    ASSERT_TRUE(stub_->RepositoryIndex(&context, {}, &index).ok());
    EXPECT_EQ(index.models_size(), 0);
  }
  ASSERT_EQ(rename(real_root.c_str(), root_.c_str()), 0);
  ASSERT_TRUE(AwaitReady("m", 1));
  inference::ModelInferResponse response;
  EXPECT_TRUE(Infer(Request({1, 2}), &response).ok());
}

TEST_F(ServerTest, SweepsUploadsInterruptedByAnEarlierRun) {
  // What a daemon killed mid-upload leaves: staging entries at the top of
  // the repository and inside a model directory.
  WriteFile(root_ + "/.ember-tmp-upload-1/m/config.pbtxt", "partial");
  WriteFile(root_ + "/m/.ember-tmp-upload-2/1/model.mpk", "partial");
  Start();
  EXPECT_FALSE(std::filesystem::exists(root_ + "/.ember-tmp-upload-1"));
  EXPECT_FALSE(std::filesystem::exists(root_ + "/m/.ember-tmp-upload-2"));
  // The real model next to them is untouched and served.
  EXPECT_TRUE(AwaitReady("m", 1));
}

TEST_F(ServerTest, LoadFailuresAppearInStatistics) {
  WriteFile(root_ + "/m/2/model.mpk", "bad");
  Start();
  ASSERT_TRUE(server_->manager()->AwaitVersionState(
      "m", 2, VersionState::kUnavailable, kWait));
  grpc::ClientContext context;
  inference::ModelStatisticsRequest request;
  request.set_name("m");
  request.set_version("2");
  inference::ModelStatisticsResponse stats;
  ASSERT_TRUE(stub_->ModelStatistics(&context, request, &stats).ok());
  ASSERT_EQ(stats.model_stats_size(), 1);
  EXPECT_EQ(stats.model_stats(0).load_fail().count(), 1u);
  EXPECT_NE(stats.model_stats(0).last_load_error().find("not a test record"),
            std::string::npos);
  EXPECT_EQ(stats.model_stats(0).memory_usage_size(), 0);
  // Version 1 keeps serving: the failed version 2 never displaced it.
  inference::ModelInferResponse response;
  ASSERT_TRUE(Infer(Request({0, 0}), &response).ok());
  EXPECT_EQ(response.model_version(), "1");
}

TEST_F(ServerTest, TokensGuardModelAndRepositoryRpcs) {
  auth::AuthPolicy::Options tokens;
  tokens.write_tokens = {"write-token-0123456789"};
  tokens.infer_tokens = {"infer-token-0123456789"};
  absl::StatusOr<std::unique_ptr<auth::AuthPolicy>> policy =
      auth::AuthPolicy::Create(tokens);
  ASSERT_TRUE(policy.ok()) << policy.status();
  Start(absl::Hours(1), *std::move(policy));
  ASSERT_TRUE(AwaitReady("m", 1));

  auto infer_as = [&](const std::string& token) {
    grpc::ClientContext context;
    if (!token.empty()) context.AddMetadata("authorization", "Bearer " + token);
    inference::ModelInferResponse response;
    return stub_->ModelInfer(&context, Request({1, 2}), &response);
  };
  auto unload_as = [&](const std::string& token) {
    grpc::ClientContext context;
    context.AddMetadata("authorization", "Bearer " + token);
    inference::RepositoryModelUnloadRequest request;
    request.set_model_name("m");
    inference::RepositoryModelUnloadResponse response;
    return stub_->RepositoryModelUnload(&context, request, &response);
  };
  EXPECT_EQ(infer_as("").error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_TRUE(infer_as("infer-token-0123456789").ok());
  EXPECT_EQ(unload_as("infer-token-0123456789").error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(unload_as("write-token-0123456789").ok());
  // Probes need no token.
  grpc::ClientContext context;
  inference::ServerLiveResponse live;
  EXPECT_TRUE(stub_->ServerLive(&context, {}, &live).ok());
}

TEST_F(ServerTest, LoadRequestWaitsForFilesStillSettling) {
  // No inotify and no periodic rescan: only the load request looks.
  Start(absl::Hours(1), nullptr, absl::Milliseconds(300), /*inotify=*/false);
  WriteFile(root_ + "/n/config.pbtxt", "name: \"n\"");
  WriteFile(root_ + "/n/1/model.mpk", "offset=5");
  grpc::ClientContext context;
  inference::RepositoryModelLoadRequest request;
  request.set_model_name("n");
  inference::RepositoryModelLoadResponse loaded;
  grpc::Status status = stub_->RepositoryModelLoad(&context, request, &loaded);
  ASSERT_TRUE(status.ok()) << status.error_message();
  inference::ModelInferRequest infer = Request({0, 0});
  infer.set_model_name("n");
  inference::ModelInferResponse response;
  ASSERT_TRUE(Infer(infer, &response).ok());
  EXPECT_EQ(response.outputs(0).contents().fp32_contents(0), 5.0f);
}

}  // namespace
}  // namespace ember::server
