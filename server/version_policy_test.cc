#include "server/version_policy.h"

#include "gtest/gtest.h"

namespace ember::server {
namespace {

TEST(SelectVersionsTest, UnsetPolicyServesTheHighest) {
  config::VersionPolicy policy;
  EXPECT_EQ(SelectVersions(policy, {1, 5, 3}), (std::set<int64_t>{5}));
  EXPECT_EQ(DescribePolicy(policy), "latest 1");
}

TEST(SelectVersionsTest, LatestNServesTheNHighest) {
  config::VersionPolicy policy;
  policy.mutable_latest()->set_num_versions(2);
  EXPECT_EQ(SelectVersions(policy, {1, 5, 3}), (std::set<int64_t>{3, 5}));
  EXPECT_EQ(SelectVersions(policy, {7}), (std::set<int64_t>{7}));
  EXPECT_TRUE(SelectVersions(policy, {}).empty());
}

TEST(SelectVersionsTest, LatestZeroCountsAsOne) {
  config::VersionPolicy policy;
  policy.mutable_latest()->set_num_versions(0);
  EXPECT_EQ(SelectVersions(policy, {1, 2}), (std::set<int64_t>{2}));
}

TEST(SelectVersionsTest, AllServesEverything) {
  config::VersionPolicy policy;
  policy.mutable_all();
  EXPECT_EQ(SelectVersions(policy, {1, 2, 9}), (std::set<int64_t>{1, 2, 9}));
  EXPECT_EQ(DescribePolicy(policy), "all");
}

TEST(SelectVersionsTest, SpecificServesListedVersionsThatExist) {
  config::VersionPolicy policy;
  policy.mutable_specific()->add_versions(2);
  policy.mutable_specific()->add_versions(4);
  EXPECT_EQ(SelectVersions(policy, {1, 2, 3}), (std::set<int64_t>{2}));
  EXPECT_EQ(DescribePolicy(policy), "specific [2, 4]");
}

}  // namespace
}  // namespace ember::server
