#include "server/health_service.h"

#include <memory>
#include <string>
#include <vector>

#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"

namespace ember::server {
namespace {

using grpc::health::v1::Health;
using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

class HealthServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port);
    builder.RegisterService(&health_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    stub_ = Health::NewStub(
        grpc::CreateChannel("127.0.0.1:" + std::to_string(port),
                            grpc::InsecureChannelCredentials()));
  }
  void TearDown() override {
    server_->Shutdown(std::chrono::system_clock::now());
  }

  // The status Check gives, or the error code's name when it fails.
  std::string Check(const std::string& service) {
    grpc::ClientContext context;
    HealthCheckRequest request;
    request.set_service(service);
    HealthCheckResponse response;
    grpc::Status status = stub_->Check(&context, request, &response);
    if (status.error_code() == grpc::StatusCode::NOT_FOUND) return "NOT_FOUND";
    if (!status.ok()) return "error " + status.error_message();
    return HealthCheckResponse::ServingStatus_Name(response.status());
  }

  HealthService health_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<Health::Stub> stub_;
};

// A Watch stream with its own context, read one status at a time.
struct Watch {
  Watch(Health::Stub& stub, const std::string& service) {
    HealthCheckRequest request;
    request.set_service(service);
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(30));
    reader = stub.Watch(&context, request);
  }
  std::string Next() {
    HealthCheckResponse response;
    if (!reader->Read(&response)) return "ended";
    return HealthCheckResponse::ServingStatus_Name(response.status());
  }
  grpc::ClientContext context;
  std::unique_ptr<grpc::ClientReader<HealthCheckResponse>> reader;
};

TEST_F(HealthServiceTest, CheckKnowsSetAndForgottenServices) {
  EXPECT_EQ(Check("m"), "NOT_FOUND");
  health_.Set("m", true);
  EXPECT_EQ(Check("m"), "SERVING");
  health_.Set("m", false);
  EXPECT_EQ(Check("m"), "NOT_SERVING");
  health_.Forget("m");
  EXPECT_EQ(Check("m"), "NOT_FOUND");
  health_.Set("", true);
  health_.Shutdown();
  EXPECT_EQ(Check(""), "NOT_SERVING");
  health_.Set("", true);  // ignored once shut down
  EXPECT_EQ(Check(""), "NOT_SERVING");
}

TEST_F(HealthServiceTest, WatchSeesEveryChangeOnceThenTheDrain) {
  Watch watch(*stub_, "m");
  EXPECT_EQ(watch.Next(), "SERVICE_UNKNOWN");
  health_.Set("m", true);
  EXPECT_EQ(watch.Next(), "SERVING");
  health_.Set("m", true);  // no change: nothing sent
  health_.Set("m", false);
  EXPECT_EQ(watch.Next(), "NOT_SERVING");
  health_.Forget("m");
  EXPECT_EQ(watch.Next(), "SERVICE_UNKNOWN");
  health_.Set("m", true);
  EXPECT_EQ(watch.Next(), "SERVING");
  health_.Shutdown();
  EXPECT_EQ(watch.Next(), "NOT_SERVING");
  watch.context.TryCancel();
  EXPECT_EQ(watch.Next(), "ended");
}

TEST_F(HealthServiceTest, ManyWatchersAllHear) {
  health_.Set("m", false);
  std::vector<std::unique_ptr<Watch>> watches;
  for (int i = 0; i < 64; ++i) {
    watches.push_back(std::make_unique<Watch>(*stub_, "m"));
    EXPECT_EQ(watches.back()->Next(), "NOT_SERVING");
  }
  health_.Set("m", true);
  for (auto& watch : watches) EXPECT_EQ(watch->Next(), "SERVING");
  for (auto& watch : watches) watch->context.TryCancel();
}

}  // namespace
}  // namespace ember::server
