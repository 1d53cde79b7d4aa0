#include "server/records/repository_files.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace ember::records {
namespace {

class RepositoryFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::string(getenv("TEST_TMPDIR")) + "/" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(root_);
    std::filesystem::create_directories(root_);
  }

  static std::string Read(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
  }

  // Names directly under `dir`, sorted.
  static std::vector<std::string> Names(const std::string& dir) {
    std::vector<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
      names.push_back(entry.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    return names;
  }

  std::string root_;
};

TEST_F(RepositoryFilesTest, WritesFileAtomically) {
  const std::string path = root_ + "/config.pbtxt";
  ASSERT_TRUE(WriteFileAtomically(path, "first").ok());
  ASSERT_TRUE(WriteFileAtomically(path, "second").ok());
  EXPECT_EQ(Read(path), "second");
  EXPECT_EQ(Names(root_), std::vector<std::string>{"config.pbtxt"});
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644);
}

TEST_F(RepositoryFilesTest, StagedDirectoryAppearsWhole) {
  auto staged = StagedDirectory::Create(root_);
  ASSERT_TRUE(staged.ok()) << staged.status();
  EXPECT_TRUE(absl::StartsWith(
      std::filesystem::path((*staged)->path()).filename().string(),
      kTempPrefix));
  ASSERT_TRUE((*staged)->MakeDirectory("1").ok());
  ASSERT_TRUE((*staged)->WriteFile("1/model.mpk", "bytes").ok());
  ASSERT_TRUE((*staged)->WriteFile("config.pbtxt", "cfg").ok());
  ASSERT_TRUE((*staged)->Commit(root_ + "/model").ok());
  staged->reset();
  EXPECT_EQ(Names(root_), std::vector<std::string>{"model"});
  EXPECT_EQ(Read(root_ + "/model/1/model.mpk"), "bytes");
  EXPECT_EQ(Read(root_ + "/model/config.pbtxt"), "cfg");
}

TEST_F(RepositoryFilesTest, StagedFileGrowsPieceByPiece) {
  auto staged = StagedDirectory::Create(root_);
  ASSERT_TRUE(staged.ok());
  auto file = (*staged)->CreateFile("payload");
  ASSERT_TRUE(file.ok()) << file.status();
  std::string expected;
  for (int i = 0; i < 40; ++i) {
    const std::string piece(1 << 20, static_cast<char>('a' + i % 26));
    ASSERT_TRUE((*file)->Append(piece).ok());
    expected += piece;
  }
  ASSERT_TRUE((*file)->Finish().ok());
  EXPECT_EQ((*file)->size(), expected.size());
  EXPECT_EQ((*staged)->CreateFile("payload").status().code(),
            absl::StatusCode::kAlreadyExists);
  ASSERT_TRUE((*staged)->Rename("payload", "model.mpk").ok());
  ASSERT_TRUE((*staged)->WriteFile("extra", "x").ok());
  ASSERT_TRUE((*staged)->Remove("extra").ok());
  ASSERT_TRUE((*staged)->Commit(root_ + "/1").ok());
  EXPECT_TRUE(Read(root_ + "/1/model.mpk") == expected);
  EXPECT_EQ(Names(root_ + "/1"), std::vector<std::string>{"model.mpk"});
}

TEST_F(RepositoryFilesTest, MappedStagedFileOutlivesTheFileAndItsName) {
  auto staged = StagedDirectory::Create(root_);
  ASSERT_TRUE(staged.ok());
  auto file = (*staged)->CreateFile("payload");
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ((*file)->Map().status().code(),
            absl::StatusCode::kFailedPrecondition);  // nothing written yet
  std::string expected;
  for (int i = 0; i < 3; ++i) {
    const std::string piece(100000 + i, static_cast<char>('x' + i));
    ASSERT_TRUE((*file)->Append(piece).ok());
    expected += piece;
  }
  auto mapped = (*file)->Map();
  ASSERT_TRUE(mapped.ok()) << mapped.status();
  EXPECT_TRUE((*mapped)->mapped());
  EXPECT_TRUE((*mapped)->bytes() == expected);
  // What Map falls back to where files cannot be mapped.
  auto read = (*file)->Read();
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_FALSE((*read)->mapped());
  EXPECT_TRUE((*read)->bytes() == expected);
  // The mapping stays readable after the file is closed and renamed, and
  // after its staged directory is gone.
  ASSERT_TRUE((*file)->Finish().ok());
  EXPECT_EQ((*file)->Map().status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ((*file)->Read().status().code(),
            absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE((*staged)->Rename("payload", "model.mpk").ok());
  staged->reset();
  EXPECT_EQ(Names(root_), std::vector<std::string>{});
  EXPECT_TRUE((*mapped)->bytes() == expected);
}

TEST_F(RepositoryFilesTest, CommitNeverReplacesAndLeavesNothingBehind) {
  // Even an empty directory at the target is kept.
  std::filesystem::create_directories(root_ + "/3");
  {
    auto staged = StagedDirectory::Create(root_);
    ASSERT_TRUE(staged.ok());
    ASSERT_TRUE((*staged)->WriteFile("model.mpk", "new").ok());
    absl::Status status = (*staged)->Commit(root_ + "/3");
    EXPECT_EQ(status.code(), absl::StatusCode::kAlreadyExists) << status;
  }
  EXPECT_EQ(Names(root_), std::vector<std::string>{"3"});
  EXPECT_TRUE(Names(root_ + "/3").empty());
}

TEST_F(RepositoryFilesTest, FullDiskIsResourceExhausted) {
  const int fd = open("/dev/full", O_WRONLY);
  ASSERT_GE(fd, 0);
  absl::Status status = WriteAll(fd, std::string(1 << 16, 'x'), "/dev/full");
  close(fd);
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted) << status;
  EXPECT_TRUE(absl::StrContains(status.message(), "/dev/full"));
  EXPECT_EQ(ErrnoToStatus(EDQUOT, "write", "x").code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(ErrnoToStatus(EIO, "write", "x").code(),
            absl::StatusCode::kInternal);
}

TEST_F(RepositoryFilesTest, FileSizeLimitFailsTheWriteAndCleansUp) {
  // RLIMIT_FSIZE makes write() fail with EFBIG, as a full disk would fail
  // with ENOSPC, in a child process so the limit does not leak.
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit limit = {4096, 4096};
    setrlimit(RLIMIT_FSIZE, &limit);
    absl::Status status;
    {
      auto staged = StagedDirectory::Create(root_);
      if (!staged.ok()) _exit(10);
      status = (*staged)->WriteFile("model.mpk", std::string(1 << 20, 'x'));
    }
    absl::Status atomic =
        WriteFileAtomically(root_ + "/big", std::string(1 << 20, 'x'));
    const bool ok = status.code() == absl::StatusCode::kResourceExhausted &&
                    atomic.code() == absl::StatusCode::kResourceExhausted;
    _exit(ok ? 0 : 11);
  }
  int wstatus = 0;
  ASSERT_EQ(waitpid(child, &wstatus, 0), child);
  ASSERT_TRUE(WIFEXITED(wstatus));
  EXPECT_EQ(WEXITSTATUS(wstatus), 0);
  EXPECT_TRUE(Names(root_).empty());
}

TEST_F(RepositoryFilesTest, ListsVersionDirectoriesOnly) {
  for (const char* name : {"1", "10", "2", "0", "01", "x", ".ember-tmp-a"}) {
    std::filesystem::create_directories(root_ + "/m/" + name);
  }
  std::ofstream(root_ + "/m/7") << "a file, not a version";
  auto versions = ListVersions(root_ + "/m");
  ASSERT_TRUE(versions.ok());
  EXPECT_EQ(*versions, (std::vector<int64_t>{1, 2, 10}));
  EXPECT_EQ(ListVersions(root_ + "/none").status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(RepositoryFilesTest, ListsModelDirectoriesOnly) {
  for (const char* name : {"b", "a.v2", ".hidden", ".ember-tmp-x", "-dash"}) {
    std::filesystem::create_directories(root_ + "/" + name);
  }
  std::ofstream(root_ + "/c") << "a file, not a model";
  auto models = ListModelDirectories(root_);
  ASSERT_TRUE(models.ok());
  EXPECT_EQ(*models, (std::vector<std::string>{"a.v2", "b"}));
  EXPECT_EQ(ListModelDirectories(root_ + "/none").status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(RepositoryFilesTest, CleansWhatAKilledWriterLeaves) {
  std::filesystem::create_directories(root_ + "/m/1");
  std::ofstream(root_ + "/m/1/model.mpk") << "kept";
  std::ofstream(root_ + "/m/.keep-me") << "not ours";
  // A child process stages a new model and a new version, then dies
  // without any cleanup (as if killed).
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto model = StagedDirectory::Create(root_);
    auto version = StagedDirectory::Create(root_ + "/m");
    if (!model.ok() || !version.ok()) _exit(10);
    (void)(*version)->WriteFile("model.mpk", std::string(1 << 16, 'x'));
    kill(getpid(), SIGKILL);
  }
  int wstatus = 0;
  ASSERT_EQ(waitpid(child, &wstatus, 0), child);
  ASSERT_TRUE(WIFSIGNALED(wstatus));
  ASSERT_EQ(Names(root_).size(), 2u);  // "m" and a temp dir
  ASSERT_EQ(Names(root_ + "/m").size(), 3u);

  auto removed = CleanStaleTempFiles(root_);
  ASSERT_TRUE(removed.ok()) << removed.status();
  EXPECT_EQ(*removed, 2);
  EXPECT_EQ(Names(root_), std::vector<std::string>{"m"});
  EXPECT_EQ(Names(root_ + "/m"), (std::vector<std::string>{".keep-me", "1"}));
  EXPECT_EQ(Read(root_ + "/m/1/model.mpk"), "kept");
  EXPECT_EQ(CleanStaleTempFiles(root_ + "/none").status().code(),
            absl::StatusCode::kNotFound);
}

// A second daemon starting on the same repository must not remove what a
// live writer (here, another process) is still building: its temp names
// are locked until renamed into place.
TEST_F(RepositoryFilesTest, CleanupLeavesTempNamesALiveWriterHolds) {
  std::filesystem::create_directories(root_ + "/m");
  std::filesystem::create_directories(root_ + "/m/.ember-tmp-dead");
  int to_parent[2], to_child[2];
  ASSERT_EQ(pipe(to_parent), 0);
  ASSERT_EQ(pipe(to_child), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto version = StagedDirectory::Create(root_ + "/m");
    if (!version.ok()) _exit(10);
    if (!(*version)->WriteFile("model.mpk", "live").ok()) _exit(11);
    char c = 'r';
    if (write(to_parent[1], &c, 1) != 1) _exit(12);  // staged
    if (read(to_child[0], &c, 1) != 1) _exit(13);    // parent cleaned up
    _exit((*version)->Commit(root_ + "/m/2").ok() ? 0 : 14);
  }
  char c = 0;
  ASSERT_EQ(read(to_parent[0], &c, 1), 1);
  ASSERT_EQ(Names(root_ + "/m").size(), 2u);  // the dead and the live one

  auto removed = CleanStaleTempFiles(root_);
  ASSERT_TRUE(removed.ok()) << removed.status();
  EXPECT_EQ(*removed, 1);  // only the dead one
  ASSERT_EQ(Names(root_ + "/m").size(), 1u);
  EXPECT_TRUE(absl::StartsWith(Names(root_ + "/m")[0], kTempPrefix));

  ASSERT_EQ(write(to_child[1], &c, 1), 1);
  int wstatus = 0;
  ASSERT_EQ(waitpid(child, &wstatus, 0), child);
  ASSERT_TRUE(WIFEXITED(wstatus));
  EXPECT_EQ(WEXITSTATUS(wstatus), 0);
  EXPECT_EQ(Names(root_ + "/m"), std::vector<std::string>{"2"});
  EXPECT_EQ(Read(root_ + "/m/2/model.mpk"), "live");
  for (int fd : {to_parent[0], to_parent[1], to_child[0], to_child[1]}) {
    close(fd);
  }
}

}  // namespace
}  // namespace ember::records
