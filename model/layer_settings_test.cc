#include "model/layer_settings.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ember::model {
namespace {

using ::testing::HasSubstr;

TEST(LayerSettingsTest, DefaultsAndParsing) {
  LayerSettings s(
      {{"stride", "2, 3"}, {"eps", "1e-3"}, {"flag", "true"}, {"n", " 7 "}});
  EXPECT_EQ(*s.GetInts("stride", {1, 1}, 2, 1), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(*s.GetInts("dilation", {1, 1}, 2, 1), (std::vector<int64_t>{1, 1}));
  EXPECT_DOUBLE_EQ(*s.GetFloat("eps", 1e-5, 0, 1), 1e-3);
  EXPECT_TRUE(*s.GetBool("flag", false));
  EXPECT_EQ(*s.GetInt("n", 0, 0, 10), 7);
  EXPECT_TRUE(s.CheckAllUsed().ok());
}

TEST(LayerSettingsTest, SingleValueRepeats) {
  LayerSettings s(std::map<std::string, std::string>{{"k", "3"}});
  EXPECT_EQ(*s.GetInts("k", {}, 2, 1), (std::vector<int64_t>{3, 3}));
}

TEST(LayerSettingsTest, RejectsBadValues) {
  LayerSettings s(
      {{"k", "3,4,5"}, {"n", "12"}, {"f", "nan"}, {"b", "1"}, {"l", "1,x"}});
  auto k = s.GetInts("k", {}, 2, 1);
  ASSERT_FALSE(k.ok());
  EXPECT_THAT(k.status().message(), HasSubstr("'k'"));
  EXPECT_THAT(k.status().message(), HasSubstr("'3,4,5'"));
  EXPECT_FALSE(s.GetInt("n", 0, 0, 10).ok());
  EXPECT_FALSE(s.GetFloat("f", 0, -1, 1).ok());
  EXPECT_FALSE(s.GetBool("b", false).ok());
  EXPECT_FALSE(s.GetIntList("l", 0).ok());
  EXPECT_FALSE(s.GetIntList("missing", 0).ok());
  LayerSettings huge(std::map<std::string, std::string>{{"k", "4294967296"}});
  EXPECT_FALSE(huge.GetIntList("k", 1).ok());
}

TEST(LayerSettingsTest, UnknownKeysAreErrors) {
  LayerSettings s({{"stride", "1"}, {"strides", "2"}, {"pading", "1"}});
  ASSERT_TRUE(s.GetInts("stride", {1, 1}, 2, 1).ok());
  absl::Status status = s.CheckAllUsed();
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(status.message(), HasSubstr("'pading', 'strides'"));
}

}  // namespace
}  // namespace ember::model
