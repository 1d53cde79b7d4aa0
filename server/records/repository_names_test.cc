#include "server/records/repository_names.h"

#include <string>

#include "gtest/gtest.h"

namespace ember::records {
namespace {

TEST(RepositoryNamesTest, AcceptsOrdinaryNames) {
  for (const char* name :
       {"connect4", "lenet-mnist", "a", "Model_2.v1", "9lives"}) {
    EXPECT_TRUE(ValidateModelName(name).ok()) << name;
  }
  EXPECT_TRUE(ValidateModelName(std::string(kMaxModelNameLength, 'm')).ok());
}

TEST(RepositoryNamesTest, RefusesNamesThatLeaveOrHide) {
  for (const char* name :
       {"", ".", "..", ".hidden", "../etc", "a/b", "a\\b", "a..b", "-flag",
        "_x", "with space", "tab\t", "caf\xc3\xa9", "a:b"}) {
    absl::Status status = ValidateModelName(name);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << name;
  }
  EXPECT_FALSE(ValidateModelName(std::string(1, '\0')).ok());
  EXPECT_FALSE(
      ValidateModelName(std::string(kMaxModelNameLength + 1, 'm')).ok());
}

TEST(RepositoryNamesTest, VersionRange) {
  EXPECT_TRUE(ValidateVersion(1).ok());
  EXPECT_TRUE(ValidateVersion(kMaxVersion).ok());
  EXPECT_FALSE(ValidateVersion(0).ok());
  EXPECT_FALSE(ValidateVersion(-3).ok());
  EXPECT_FALSE(ValidateVersion(kMaxVersion + 1).ok());
}

TEST(RepositoryNamesTest, ParsesVersionDirectories) {
  EXPECT_EQ(ParseVersionDirectory("1"), 1);
  EXPECT_EQ(ParseVersionDirectory("42"), 42);
  EXPECT_EQ(ParseVersionDirectory("9007199254740992"), kMaxVersion);
  for (const char* name : {"", "0", "01", "-1", "+1", "1a", "v1",
                           "9007199254740993", "99999999999999999999"}) {
    EXPECT_EQ(ParseVersionDirectory(name), -1) << name;
  }
}

}  // namespace
}  // namespace ember::records
