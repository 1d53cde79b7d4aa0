#include "server/repository_scanner.h"

#include <unistd.h>

#include <algorithm>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "server/repository_fs.h"
#include "server/test_util.h"

namespace ember::server {
namespace {

using testing::MakeDirs;
using testing::NewTempDir;
using testing::WriteFile;

TEST(ParseVersionDirNameTest, AcceptsOnlyCanonicalPositiveIntegers) {
  EXPECT_EQ(ParseVersionDirName("1"), 1);
  EXPECT_EQ(ParseVersionDirName("42"), 42);
  EXPECT_FALSE(ParseVersionDirName("0").has_value());
  EXPECT_FALSE(ParseVersionDirName("007").has_value());
  EXPECT_FALSE(ParseVersionDirName("-1").has_value());
  EXPECT_FALSE(ParseVersionDirName("+1").has_value());
  EXPECT_FALSE(ParseVersionDirName("1a").has_value());
  EXPECT_FALSE(ParseVersionDirName("").has_value());
  EXPECT_FALSE(ParseVersionDirName("99999999999999999999").has_value());
}

TEST(IsIgnoredNameTest, IgnoresWorkInProgressNames) {
  EXPECT_TRUE(IsIgnoredName(".model.mpk.tmp"));
  EXPECT_TRUE(IsIgnoredName("..data"));
  EXPECT_TRUE(IsIgnoredName("model.mpk~"));
  EXPECT_TRUE(IsIgnoredName("model.mpk.tmp"));
  EXPECT_FALSE(IsIgnoredName("model.mpk"));
}

TEST(ChooseRecordFileTest, PrefersConfiguredThenMpkThenGz) {
  std::map<std::string, FileInfo> both = {{"model.mpk", {}},
                                          {"model.mpk.gz", {}}};
  EXPECT_EQ(ChooseRecordFile("", both), "model.mpk");
  EXPECT_EQ(ChooseRecordFile("", {{"model.mpk.gz", {}}}), "model.mpk.gz");
  EXPECT_EQ(ChooseRecordFile("w.mpk", both), "");
  EXPECT_EQ(ChooseRecordFile("w.mpk", {{"w.mpk", {}}}), "w.mpk");
}

TEST(ScanRepositoryTest, ReportsModelsVersionsAndRecords) {
  const std::string root = NewTempDir("scan");
  WriteFile(root + "/a/config.pbtxt", "name: \"a\"");
  WriteFile(root + "/a/1/model.mpk", "offset=1");
  WriteFile(root + "/a/3/model.mpk.gz", "offset=3");
  WriteFile(root + "/a/4/.model.mpk.tmp", "offset=4");  // not yet in place
  WriteFile(root + "/a/notes/model.mpk", "offset=9");   // not a version
  MakeDirs(root + "/a/5");                              // no record yet
  WriteFile(root + "/b/config.pbtxt", "record_file: \"weights.mpk\"");
  WriteFile(root + "/b/2/model.mpk", "offset=2");
  WriteFile(root + "/b/2/weights.mpk", "offset=22");
  WriteFile(root + "/.hidden/config.pbtxt", "");
  WriteFile(root + "/README", "not a model");

  LocalRepositoryFs fs;
  absl::StatusOr<RepositorySnapshot> snapshot = ScanRepository(fs, root);
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  ASSERT_EQ(snapshot->models.size(), 2u);

  const ModelFiles& a = snapshot->models.at("a");
  EXPECT_TRUE(a.status.ok()) << a.status;
  EXPECT_EQ(a.config_text, "name: \"a\"");
  ASSERT_EQ(a.versions.size(), 2u);
  EXPECT_EQ(a.versions.at(1).record_path, root + "/a/1/model.mpk");
  EXPECT_EQ(a.versions.at(3).record_path, root + "/a/3/model.mpk.gz");
  EXPECT_EQ(a.versions.at(1).record_info.size, 8);

  const ModelFiles& b = snapshot->models.at("b");
  ASSERT_EQ(b.versions.size(), 1u);
  EXPECT_EQ(b.versions.at(2).record_path, root + "/b/2/weights.mpk");

  // Version directories are listed for watching even without a record.
  EXPECT_NE(std::find(snapshot->directories.begin(),
                      snapshot->directories.end(), root + "/a/5"),
            snapshot->directories.end());
}

TEST(ScanRepositoryTest, MissingConfigIsReportedOnTheModel) {
  const std::string root = NewTempDir("scan");
  WriteFile(root + "/a/1/model.mpk", "offset=1");
  LocalRepositoryFs fs;
  absl::StatusOr<RepositorySnapshot> snapshot = ScanRepository(fs, root);
  ASSERT_TRUE(snapshot.ok());
  EXPECT_TRUE(absl::IsNotFound(snapshot->models.at("a").status));
}

TEST(ScanRepositoryTest, ARecordLinkToAMissingFileIsNamed) {
  const std::string root = NewTempDir("scan");
  WriteFile(root + "/a/config.pbtxt", "name: \"a\"");
  WriteFile(root + "/a/1/model.mpk", "offset=1");
  MakeDirs(root + "/a/2");
  ASSERT_EQ(
      symlink("../../elsewhere/model.mpk", (root + "/a/2/model.mpk").c_str()),
      0);
  LocalRepositoryFs fs;
  absl::StatusOr<RepositorySnapshot> snapshot = ScanRepository(fs, root);
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  const ModelFiles& a = snapshot->models.at("a");
  EXPECT_TRUE(a.status.ok()) << a.status;
  EXPECT_EQ(a.versions.size(), 1u);
  EXPECT_EQ(a.versions.count(1), 1u);
  ASSERT_EQ(a.unusable_records.size(), 1u);
  EXPECT_TRUE(absl::StartsWith(a.unusable_records[0], "2/model.mpk: "))
      << a.unusable_records[0];
  EXPECT_TRUE(absl::StrContains(a.unusable_records[0], "symbolic link"))
      << a.unusable_records[0];
}

TEST(ScanRepositoryTest, MissingRepositoryIsAnErrorNotAnEmptyRepository) {
  LocalRepositoryFs fs;
  absl::StatusOr<RepositorySnapshot> snapshot =
      ScanRepository(fs, NewTempDir("scan") + "/absent");
  EXPECT_TRUE(absl::IsNotFound(snapshot.status())) << snapshot.status();
  EXPECT_NE(snapshot.status().message().find("unreadable"),
            absl::string_view::npos);
}

}  // namespace
}  // namespace ember::server
