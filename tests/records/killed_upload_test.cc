// A records server killed in the middle of an upload leaves only hidden
// temp entries, and CleanStaleTempFiles removes them at the next start.
//
// The server runs in a child process (forked before this process touches
// gRPC) and is killed with SIGKILL while a client is streaming to it.

#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "gtest/gtest.h"
#include "server/auth/auth_policy.h"
#include "server/records/records_service.h"
#include "server/records/repository_files.h"

namespace ember::records {
namespace {

namespace v1 = ::ember::records::v1;
namespace fs = std::filesystem;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string Runfile(const std::string& relative) {
  return std::string(getenv("TEST_SRCDIR")) + "/ember/" + relative;
}

// Serves the records service on `repo` and reports the port on `fd`;
// never returns.
[[noreturn]] void RunServer(const std::string& repo, int fd) {
  RecordsService::Options options;
  options.repository = repo;
  options.auth = auth::AuthPolicy::Open();
  auto service = RecordsService::Create(options);
  if (!service.ok()) _exit(20);
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                           &port);
  builder.RegisterService(service->get());
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr) _exit(21);
  if (write(fd, &port, sizeof(port)) != sizeof(port)) _exit(22);
  server->Wait();
  _exit(23);
}

// Names under `dir` that start with the temp prefix.
std::vector<std::string> TempEntries(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (absl::StartsWith(name, kTempPrefix)) names.push_back(name);
  }
  return names;
}

TEST(KilledUploadTest, OnlyTempFilesRemainAndStartupRemovesThem) {
  const std::string repo = std::string(getenv("TEST_TMPDIR")) + "/repo";
  fs::create_directories(repo + "/connect4/1");
  fs::copy_file(Runfile("tests/fixtures/models/connect4/config.pbtxt"),
                repo + "/connect4/config.pbtxt");
  const std::string record =
      ReadFile(Runfile("tests/fixtures/burn/connect4-mlp-f32-burn0.16.1.mpk"));
  std::ofstream(repo + "/connect4/1/model.mpk", std::ios::binary) << record;

  int pipe_fds[2];
  ASSERT_EQ(pipe(pipe_fds), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(pipe_fds[0]);
    RunServer(repo, pipe_fds[1]);
  }
  close(pipe_fds[1]);
  int port = 0;
  ASSERT_EQ(read(pipe_fds[0], &port, sizeof(port)), sizeof(port));
  close(pipe_fds[0]);

  auto stub = v1::Records::NewStub(grpc::CreateChannel(
      absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  v1::UploadResponse response;
  auto writer = stub->Upload(&context, &response);
  v1::UploadRequest message;
  message.mutable_header()->set_model("connect4");
  ASSERT_TRUE(writer->Write(message));
  message.set_chunk(record.substr(0, record.size() / 2));
  ASSERT_TRUE(writer->Write(message));

  // Wait until the server has staged the bytes it received, then kill it.
  const std::string model_dir = repo + "/connect4";
  const absl::Time give_up = absl::Now() + absl::Seconds(30);
  bool staged = false;
  while (!staged && absl::Now() < give_up) {
    for (const std::string& name : TempEntries(model_dir)) {
      std::error_code error;
      const auto size =
          fs::file_size(model_dir + "/" + name + "/upload", error);
      staged = staged || (!error && size == record.size() / 2);
    }
    if (!staged) absl::SleepFor(absl::Milliseconds(5));
  }
  ASSERT_TRUE(staged) << "the server never staged the first half";
  ASSERT_EQ(kill(child, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_FALSE(writer->Finish().ok());

  // Nothing visible changed: version 1 as it was, no version 2.
  EXPECT_TRUE(ReadFile(model_dir + "/1/model.mpk") == record);
  EXPECT_FALSE(fs::exists(model_dir + "/2"));
  ASSERT_EQ(TempEntries(model_dir).size(), 1u);

  absl::StatusOr<int> removed = CleanStaleTempFiles(repo);
  ASSERT_TRUE(removed.ok()) << removed.status();
  EXPECT_EQ(*removed, 1);
  EXPECT_TRUE(TempEntries(model_dir).empty());
  EXPECT_TRUE(ReadFile(model_dir + "/1/model.mpk") == record);
  EXPECT_TRUE(fs::exists(model_dir + "/config.pbtxt"));
}

}  // namespace
}  // namespace ember::records
