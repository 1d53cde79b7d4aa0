#include "server/auth/tls_credentials.h"

#include <stdlib.h>

#include <chrono>
#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/generic/async_generic_service.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "gtest/gtest.h"
#include "server/auth/test_certificates.h"

namespace ember::auth {
namespace {

class TlsCredentialsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto made = MakeTestCertificates(std::string(getenv("TEST_TMPDIR")) +
                                     "/tls-credentials-pki");
    ASSERT_TRUE(made.ok()) << made.status();
    certs_ = new TestCertificates(*made);
  }
  static void TearDownTestSuite() { delete certs_; }

  // Starts a server with `creds` on a picked loopback port.
  std::unique_ptr<grpc::Server> Serve(
      std::shared_ptr<grpc::ServerCredentials> creds, int* port) {
    // A server needs at least one service; a generic one that answers
    // nothing is enough for handshakes.
    grpc::ServerBuilder builder;
    builder.RegisterCallbackGenericService(&generic_);
    builder.AddListeningPort("127.0.0.1:0", creds, port);
    return builder.BuildAndStart();
  }

  // Whether a TLS handshake with the server completes.
  bool Connects(int port, const grpc::SslCredentialsOptions& ssl) {
    grpc::ChannelArguments args;
    args.SetSslTargetNameOverride("localhost");
    auto channel = grpc::CreateCustomChannel(
        "127.0.0.1:" + std::to_string(port), grpc::SslCredentials(ssl), args);
    return channel->WaitForConnected(std::chrono::system_clock::now() +
                                     std::chrono::seconds(5));
  }

  grpc::CallbackGenericService generic_;
  static TestCertificates* certs_;
};

TestCertificates* TlsCredentialsTest::certs_ = nullptr;

TEST_F(TlsCredentialsTest, ServesTls) {
  auto creds =
      MakeServerCredentials({certs_->server_cert, certs_->server_key, ""});
  ASSERT_TRUE(creds.ok()) << creds.status();
  int port = 0;
  auto server = Serve(*creds, &port);
  ASSERT_NE(server, nullptr);
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = certs_->ca_pem;
  EXPECT_TRUE(Connects(port, ssl));
  server->Shutdown();
}

TEST_F(TlsCredentialsTest, MutualTlsNeedsAClientCertificate) {
  auto creds = MakeServerCredentials(
      {certs_->server_cert, certs_->server_key, certs_->ca_cert});
  ASSERT_TRUE(creds.ok()) << creds.status();
  int port = 0;
  auto server = Serve(*creds, &port);
  ASSERT_NE(server, nullptr);
  grpc::SslCredentialsOptions with_cert;
  with_cert.pem_root_certs = certs_->ca_pem;
  with_cert.pem_cert_chain = certs_->client_cert_pem;
  with_cert.pem_private_key = certs_->client_key_pem;
  EXPECT_TRUE(Connects(port, with_cert));
  grpc::SslCredentialsOptions without_cert;
  without_cert.pem_root_certs = certs_->ca_pem;
  EXPECT_FALSE(Connects(port, without_cert));
  server->Shutdown();
}

TEST_F(TlsCredentialsTest, MissingFilesAreNamed) {
  const std::string missing =
      std::string(getenv("TEST_TMPDIR")) + "/no-such.pem";
  absl::Status status =
      MakeServerCredentials({missing, certs_->server_key, ""}).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(absl::StrContains(status.message(), missing)) << status;
  status = MakeServerCredentials({certs_->server_cert, missing, ""}).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  status =
      MakeServerCredentials({certs_->server_cert, certs_->server_key, missing})
          .status();
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(MakeServerCredentials({}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(TlsCredentialsTest, MismatchedKeyIsRefused) {
  absl::Status status =
      MakeServerCredentials({certs_->server_cert, certs_->other_key, ""})
          .status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(status.message(), "does not belong")) << status;
}

TEST_F(TlsCredentialsTest, NonPemFilesAreRefused) {
  // A key file passed as the certificate, and a certificate as the key.
  EXPECT_EQ(MakeServerCredentials({certs_->server_key, certs_->server_key, ""})
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      MakeServerCredentials({certs_->server_cert, certs_->server_cert, ""})
          .status()
          .code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(MakeServerCredentials(
                {certs_->server_cert, certs_->server_key, certs_->server_key})
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace ember::auth
