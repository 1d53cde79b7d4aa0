#include "server/auth/auth_policy.h"

#include <stdlib.h>
#include <sys/stat.h>

#include <fstream>
#include <string>

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace ember::auth {
namespace {

const char kWrite[] = "write-token-0123456789";
const char kRead[] = "read-token-0123456789ab";
const char kInfer[] = "infer-token-0123456789a";

std::string TempPath(const std::string& name) {
  return std::string(getenv("TEST_TMPDIR")) + "/" + name;
}

std::string WriteFile(const std::string& name, const std::string& text) {
  const std::string path = TempPath(name);
  std::ofstream(path) << text;
  chmod(path.c_str(), 0600);
  return path;
}

grpc::StatusCode CodeFor(const AuthPolicy& policy, const std::string& header,
                         Permission permission) {
  const absl::string_view view(header);
  return policy.CheckHeader(&view, permission).error_code();
}

std::unique_ptr<AuthPolicy> MakePolicy(bool read, bool infer) {
  AuthPolicy::Options options;
  options.write_tokens = {kWrite};
  if (read) options.read_tokens = {kRead};
  if (infer) options.infer_tokens = {kInfer};
  auto policy = AuthPolicy::Create(options);
  EXPECT_TRUE(policy.ok()) << policy.status();
  return std::move(policy).value();
}

TEST(AuthPolicyTest, MissingHeaderIsUnauthenticated) {
  auto policy = MakePolicy(true, true);
  for (Permission p :
       {Permission::kWrite, Permission::kRead, Permission::kInfer}) {
    EXPECT_EQ(policy->CheckHeader(nullptr, p).error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
  }
}

TEST(AuthPolicyTest, MalformedHeaderIsUnauthenticated) {
  auto policy = MakePolicy(false, false);
  for (const std::string& header : std::vector<std::string>{
           "", "Bearer", "Bearer ", std::string("Basic ") + kWrite, kWrite}) {
    EXPECT_EQ(CodeFor(*policy, header, Permission::kWrite),
              grpc::StatusCode::UNAUTHENTICATED)
        << header;
  }
}

TEST(AuthPolicyTest, WrongTokenIsPermissionDenied) {
  auto policy = MakePolicy(true, true);
  EXPECT_EQ(CodeFor(*policy, "Bearer not-the-token-at-all", Permission::kWrite),
            grpc::StatusCode::PERMISSION_DENIED);
  // A prefix or an extension of the token is not the token.
  EXPECT_EQ(CodeFor(*policy, std::string("Bearer ") + kWrite + "x",
                    Permission::kWrite),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(CodeFor(*policy, "Bearer " + std::string(kWrite).substr(0, 20),
                    Permission::kWrite),
            grpc::StatusCode::PERMISSION_DENIED);
}

TEST(AuthPolicyTest, RolesGrantTheirPermissionAndWeakerOnes) {
  auto policy = MakePolicy(true, true);
  const std::string write = std::string("Bearer ") + kWrite;
  const std::string read = std::string("bearer ") + kRead;  // any case
  const std::string infer = std::string("BEARER  ") + kInfer;
  EXPECT_EQ(CodeFor(*policy, write, Permission::kWrite), grpc::StatusCode::OK);
  EXPECT_EQ(CodeFor(*policy, write, Permission::kRead), grpc::StatusCode::OK);
  EXPECT_EQ(CodeFor(*policy, write, Permission::kInfer), grpc::StatusCode::OK);
  EXPECT_EQ(CodeFor(*policy, read, Permission::kWrite),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(CodeFor(*policy, read, Permission::kRead), grpc::StatusCode::OK);
  EXPECT_EQ(CodeFor(*policy, read, Permission::kInfer), grpc::StatusCode::OK);
  EXPECT_EQ(CodeFor(*policy, infer, Permission::kWrite),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(CodeFor(*policy, infer, Permission::kRead),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(CodeFor(*policy, infer, Permission::kInfer), grpc::StatusCode::OK);
}

TEST(AuthPolicyTest, UnconfiguredRolesAreOpen) {
  auto write_only = MakePolicy(false, false);
  EXPECT_TRUE(write_only->Requires(Permission::kWrite));
  EXPECT_FALSE(write_only->Requires(Permission::kRead));
  EXPECT_FALSE(write_only->Requires(Permission::kInfer));
  EXPECT_TRUE(write_only->CheckHeader(nullptr, Permission::kRead).ok());
  // Guarding inference guards the weights too.
  auto infer_only = MakePolicy(false, true);
  EXPECT_TRUE(infer_only->Requires(Permission::kRead));
  EXPECT_EQ(infer_only->CheckHeader(nullptr, Permission::kRead).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  // Guarding the weights leaves inference open unless it has a token.
  auto read_only = MakePolicy(true, false);
  EXPECT_FALSE(read_only->Requires(Permission::kInfer));
}

TEST(AuthPolicyTest, OpenPolicyAllowsEverything) {
  auto policy = AuthPolicy::Open();
  EXPECT_TRUE(policy->CheckHeader(nullptr, Permission::kWrite).ok());
  EXPECT_EQ(CodeFor(*policy, "Bearer whatever", Permission::kWrite),
            grpc::StatusCode::OK);
}

TEST(AuthPolicyTest, CreateRejectsBadTokensWithoutEchoingThem) {
  AuthPolicy::Options no_write;
  no_write.read_tokens = {kRead};
  EXPECT_EQ(AuthPolicy::Create(no_write).status().code(),
            absl::StatusCode::kInvalidArgument);
  AuthPolicy::Options short_token;
  short_token.write_tokens = {"short-secret"};
  absl::Status status = AuthPolicy::Create(short_token).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(absl::StrContains(status.message(), "short-secret"));
  AuthPolicy::Options spaced;
  spaced.write_tokens = {"has a space in the middle"};
  EXPECT_FALSE(AuthPolicy::Create(spaced).ok());
}

TEST(AuthPolicyTest, LoadsTokenFile) {
  const std::string path =
      WriteFile("tokens", std::string("# Ember tokens\n\n  write: ") + kWrite +
                              "\nread:" + kRead + "  \ninfer : " + kInfer +
                              "\nwrite: second-write-token-xyz\n");
  auto options = AuthPolicy::LoadTokenFile(path);
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->write_tokens,
            (std::vector<std::string>{kWrite, "second-write-token-xyz"}));
  EXPECT_EQ(options->read_tokens, std::vector<std::string>{kRead});
  EXPECT_EQ(options->infer_tokens, std::vector<std::string>{kInfer});
  auto policy = AuthPolicy::Create(*options);
  ASSERT_TRUE(policy.ok());
  EXPECT_EQ(
      CodeFor(**policy, "Bearer second-write-token-xyz", Permission::kWrite),
      grpc::StatusCode::OK);
}

TEST(AuthPolicyTest, TokenFileErrorsNameTheLine) {
  const std::string path = WriteFile(
      "bad-tokens", std::string("write: ") + kWrite + "\nadmin: " + kRead);
  absl::Status status = AuthPolicy::LoadTokenFile(path).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(status.message(), path + ":2")) << status;
  EXPECT_FALSE(absl::StrContains(status.message(), kRead));

  const std::string no_write =
      WriteFile("read-only-tokens", std::string("read: ") + kRead);
  EXPECT_EQ(AuthPolicy::LoadTokenFile(no_write).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(AuthPolicy::LoadTokenFile(TempPath("missing")).status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace ember::auth
