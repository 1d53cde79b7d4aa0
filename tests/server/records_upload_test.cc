// The records service inside the daemon: a record uploaded over gRPC is
// written into the repository, picked up by the watcher, and served; the
// upload's wait_until_serving answer comes from the model manager.

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "model/model_builder.h"
#include "proto/grpc_service.grpc.pb.h"
#include "proto/records.grpc.pb.h"
#include "server/server.h"
#include "server/test_util.h"
#include "tests/server/shifted_record.h"

namespace ember {
namespace {

using records::v1::UploadRequest;
using records::v1::UploadResponse;

class RecordsUploadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = testing::LoadConnect4Fixture();
    root_ = server::testing::NewTempDir("records");
    server::testing::WriteFile(
        root_ + "/connect4/config.pbtxt",
        testing::ReadFileOrEmpty(
            testing::Runfile("tests/fixtures/models/connect4/config.pbtxt")));
    server::testing::WriteFile(root_ + "/connect4/1/model.mpk",
                               testing::ShiftedConnect4Record(base_, 0));

    server::EmberServer::Options options;
    options.model_repository = root_;
    options.grpc_address = "127.0.0.1:0";
    options.settle_time = absl::ZeroDuration();
    options.loader = model::LoadModel;
    options.config_parser = model::ParseModelConfig;
    absl::StatusOr<std::unique_ptr<server::EmberServer>> server =
        server::EmberServer::Create(std::move(options));
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    ASSERT_TRUE(server_->manager()->AwaitVersionState(
        "connect4", 1, server::VersionState::kReady, absl::Seconds(60)));
    auto channel =
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", server_->port()),
                            grpc::InsecureChannelCredentials());
    records_ = records::v1::Records::NewStub(channel);
    inference_ = inference::GRPCInferenceService::NewStub(channel);
  }

  UploadResponse Upload(int64_t version, const std::string& bytes,
                        grpc::Status* status) {
    grpc::ClientContext context;
    UploadResponse response;
    auto writer = records_->Upload(&context, &response);
    UploadRequest header;
    header.mutable_header()->set_model("connect4");
    header.mutable_header()->set_version(version);
    header.mutable_header()->set_total_size(bytes.size());
    header.mutable_header()->set_wait_until_serving(true);
    header.mutable_header()->set_wait_timeout_ms(30000);
    EXPECT_TRUE(writer->Write(header));
    for (size_t offset = 0; offset < bytes.size(); offset += 4096) {
      UploadRequest chunk;
      chunk.set_chunk(bytes.substr(offset, 4096));
      EXPECT_TRUE(writer->Write(chunk));
    }
    writer->WritesDone();
    *status = writer->Finish();
    return response;
  }

  float FirstQValue(std::string* version) {
    inference::ModelInferRequest request;
    request.set_model_name("connect4");
    auto* board = request.add_inputs();
    board->set_name("board");
    board->set_datatype("FP32");
    board->add_shape(1);
    board->add_shape(42);
    for (int i = 0; i < 42; ++i)
      board->mutable_contents()->add_fp32_contents(0);
    grpc::ClientContext context;
    inference::ModelInferResponse response;
    EXPECT_TRUE(inference_->ModelInfer(&context, request, &response).ok());
    *version = response.model_version();
    return response.outputs(0).contents().fp32_contents(0);
  }

  recorder::Record base_;
  std::string root_;
  std::unique_ptr<server::EmberServer> server_;
  std::unique_ptr<records::v1::Records::Stub> records_;
  std::unique_ptr<inference::GRPCInferenceService::Stub> inference_;
};

TEST_F(RecordsUploadTest, UploadedVersionServesWhenTheUploadReturns) {
  std::string version;
  const float before = FirstQValue(&version);
  EXPECT_EQ(version, "1");

  grpc::Status status;
  UploadResponse response =
      Upload(2, testing::ShiftedConnect4Record(base_, 100), &status);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(response.serving()) << response.serving_message();
  EXPECT_EQ(response.record().version(), 2);

  // Served at once: the upload waited for the manager to swap it in.
  const float after = FirstQValue(&version);
  EXPECT_EQ(version, "2");
  EXPECT_NEAR(after - before, 100.0f, 1e-3f);
}

}  // namespace
}  // namespace ember
