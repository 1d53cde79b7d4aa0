#include "server/records/chunk_pipeline.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "gtest/gtest.h"

namespace ember::records {
namespace {

std::string TestDir() {
  const std::string dir =
      std::string(getenv("TEST_TMPDIR")) + "/" +
      ::testing::UnitTest::GetInstance()->current_test_info()->name();
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

std::string Chunk(int i, size_t size) {
  std::string chunk(size, '\0');
  for (size_t j = 0; j < size; ++j) chunk[j] = static_cast<char>(i * 31 + j);
  return chunk;
}

TEST(ChunkPipelineTest, WritesEverythingInOrder) {
  const std::string dir = TestDir();
  auto staged = StagedDirectory::Create(dir);
  ASSERT_TRUE(staged.ok());
  auto file = (*staged)->CreateFile("payload");
  ASSERT_TRUE(file.ok());
  std::string all;
  {
    ChunkPipeline pipeline(file->get());
    // More than kMaxQueuedBytes in total, so Push has to wait at times.
    for (int i = 0; i < 50; ++i) {
      std::string chunk = Chunk(i, (1 << 20) + i);
      all += chunk;
      ASSERT_TRUE(pipeline.Push(std::move(chunk)).ok());
    }
    absl::Status finished = pipeline.Finish();
    ASSERT_TRUE(finished.ok()) << finished;
  }
  EXPECT_EQ((*file)->size(), all.size());
  ASSERT_TRUE((*file)->Finish().ok());
  std::ifstream in((*staged)->path() + "/payload", std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  EXPECT_TRUE(text.str() == all);
}

TEST(ChunkPipelineTest, DroppedWithoutFinish) {
  const std::string dir = TestDir();
  auto staged = StagedDirectory::Create(dir);
  ASSERT_TRUE(staged.ok());
  auto file = (*staged)->CreateFile("payload");
  ASSERT_TRUE(file.ok());
  ChunkPipeline pipeline(file->get());
  ASSERT_TRUE(pipeline.Push(std::string(1 << 20, 'x')).ok());
  // The destructor stops the worker; nothing hangs.
}

TEST(ChunkPipelineTest, WriteErrorStopsTheUpload) {
  const std::string dir = TestDir();
  // In a child, so the file size limit does not leak into other tests.
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit limit = {1 << 20, 1 << 20};
    setrlimit(RLIMIT_FSIZE, &limit);
    auto staged = StagedDirectory::Create(dir);
    if (!staged.ok()) _exit(10);
    auto file = (*staged)->CreateFile("payload");
    if (!file.ok()) _exit(11);
    ChunkPipeline pipeline(file->get());
    absl::Status pushed;
    for (int i = 0; i < 200 && pushed.ok(); ++i) {
      pushed = pipeline.Push(std::string(1 << 20, 'x'));
    }
    const absl::Status finished = pipeline.Finish();
    const bool ok =
        finished.code() == absl::StatusCode::kResourceExhausted &&
        (pushed.ok() || pushed.code() == absl::StatusCode::kResourceExhausted);
    _exit(ok ? 0 : 12);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
}  // namespace ember::records
