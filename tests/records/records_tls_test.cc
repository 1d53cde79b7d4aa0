// The records service over TLS and mutual TLS, with bearer tokens: a
// throwaway CA, server and client certificates are made with the openssl
// command line, then a record is uploaded and downloaded on loopback.

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "gtest/gtest.h"
#include "server/auth/auth_policy.h"
#include "server/auth/test_certificates.h"
#include "server/auth/tls_credentials.h"
#include "server/records/records_service.h"
#include "tests/records/transfer.h"

namespace ember::records {
namespace {

namespace v1 = ::ember::records::v1;
using testing::CallOptions;
using testing::DownloadRecord;
using testing::UploadRecord;

const char kWriteToken[] = "tls-test-write-token-0001";
const char kFixture[] = "connect4-mlp-f32-burn0.16.1.mpk";

std::string Runfile(const std::string& relative) {
  return auth::ReadWholeFile(std::string(getenv("TEST_SRCDIR")) + "/ember/" +
                             relative);
}

class RecordsTlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto made = auth::MakeTestCertificates(std::string(getenv("TEST_TMPDIR")) +
                                           "/records-tls-pki");
    ASSERT_TRUE(made.ok()) << made.status();
    certs_ = new auth::TestCertificates(*made);
  }
  static void TearDownTestSuite() { delete certs_; }

  void SetUp() override {
    repo_ = std::string(getenv("TEST_TMPDIR")) + "/repo-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(repo_);
    std::filesystem::create_directories(repo_);
  }
  void TearDown() override {
    if (server_ != nullptr) server_->Shutdown();
  }

  void Start(const auth::TlsOptions& tls) {
    auto creds = auth::MakeServerCredentials(tls);
    ASSERT_TRUE(creds.ok()) << creds.status();
    RecordsService::Options options;
    options.repository = repo_;
    auth::AuthPolicy::Options tokens;
    tokens.write_tokens = {kWriteToken};
    options.auth = *auth::AuthPolicy::Create(tokens);
    auto service = RecordsService::Create(options);
    ASSERT_TRUE(service.ok()) << service.status();
    service_ = *std::move(service);
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", *creds, &port_);
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
  }

  std::unique_ptr<v1::Records::Stub> Connect(
      const grpc::SslCredentialsOptions& ssl) {
    grpc::ChannelArguments args;
    args.SetSslTargetNameOverride("localhost");
    return v1::Records::NewStub(grpc::CreateCustomChannel(
        absl::StrCat("127.0.0.1:", port_), grpc::SslCredentials(ssl), args));
  }

  // Uploads the fixture as a new model and downloads it back.
  void RoundTrip(v1::Records::Stub& stub) {
    const std::string bytes =
        Runfile("tests/fixtures/burn/" + std::string(kFixture));
    v1::UploadHeader header;
    header.set_model("connect4");
    header.set_config_pbtxt(
        Runfile("tests/fixtures/models/connect4/config.pbtxt"));
    CallOptions options;
    options.token = kWriteToken;
    options.chunk_size = 4096;
    testing::UploadResult up = UploadRecord(stub, header, bytes, options);
    ASSERT_TRUE(up.status.ok()) << up.status.error_message();
    v1::DownloadRequest request;
    request.set_model("connect4");
    request.set_precision(v1::PRECISION_HALF);
    testing::DownloadResult down = DownloadRecord(stub, request, options);
    ASSERT_TRUE(down.status.ok()) << down.status.error_message();
    EXPECT_EQ(down.metadata.precision(), v1::PRECISION_HALF);
    EXPECT_EQ(down.bytes.size(), down.metadata.size());
    request.set_precision(v1::PRECISION_KEEP);
    down = DownloadRecord(stub, request, options);
    ASSERT_TRUE(down.status.ok()) << down.status.error_message();
    EXPECT_TRUE(down.bytes == bytes);
  }

  static auth::TestCertificates* certs_;
  std::string repo_;
  int port_ = 0;
  std::unique_ptr<RecordsService> service_;
  std::unique_ptr<grpc::Server> server_;
};

auth::TestCertificates* RecordsTlsTest::certs_ = nullptr;

TEST_F(RecordsTlsTest, UploadAndDownloadOverTls) {
  Start({certs_->server_cert, certs_->server_key, ""});
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = certs_->ca_pem;
  auto stub = Connect(ssl);
  RoundTrip(*stub);

  // TLS does not replace the token.
  v1::UploadHeader header;
  header.set_model("c4");
  testing::UploadResult up = UploadRecord(*stub, header, "x", {});
  EXPECT_EQ(up.status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(RecordsTlsTest, UploadAndDownloadOverMutualTls) {
  Start({certs_->server_cert, certs_->server_key, certs_->ca_cert});
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = certs_->ca_pem;
  ssl.pem_cert_chain = certs_->client_cert_pem;
  ssl.pem_private_key = certs_->client_key_pem;
  auto stub = Connect(ssl);
  RoundTrip(*stub);

  // Without a client certificate the handshake fails: nothing reaches the
  // service.
  grpc::SslCredentialsOptions anonymous;
  anonymous.pem_root_certs = certs_->ca_pem;
  auto stranger = Connect(anonymous);
  v1::UploadHeader header;
  header.set_model("c4");
  CallOptions options;
  options.token = kWriteToken;
  testing::UploadResult up = UploadRecord(*stranger, header, "x", options);
  EXPECT_EQ(up.status.error_code(), grpc::StatusCode::UNAVAILABLE)
      << up.status.error_message();
}

}  // namespace
}  // namespace ember::records
