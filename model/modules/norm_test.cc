#include "model/modules/norm.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "model/modules/params.h"
#include "model/modules/test_records.h"
#include "model/modules/test_util_expect.h"

namespace ember::model {
namespace {

using recorder::Value;
using testing::ExpectValues;
using testing::F32Param;
using ::testing::HasSubstr;
using testing::ModuleRecord;
using testing::Ramp;

// Expected values from numpy (float64, offline) with the formulas in
// norm.h and ε = 1e-5; variances are biased (divide by N).

TEST(BatchNormTest, UsesRunningStatistics) {
  Value record =
      ModuleRecord({{"gamma", F32Param({3}, {1, 2, 0.5f})},
                    {"beta", F32Param({3}, {0, 0.1f, -0.2f})},
                    {"running_mean", F32Param({3}, {0.1f, -0.2f, 0})},
                    {"running_var", F32Param({3}, {1, 0.5f, 2})},
                    {"momentum", Value::Nil()},
                    {"epsilon", Value::Nil()}});
  auto norm = BatchNorm::Create(record, "bn", {});
  ASSERT_TRUE(norm.ok()) << norm.status();
  auto y = (*norm)->Forward({Tensor::FromVector({2, 3, 2}, Ramp(12))});
  ASSERT_TRUE(y.ok());
  ExpectValues(*y, {-0.599997f, 0.0999995f, 0.1f, 2.0798792f, -0.16464475f,
                    -0.30606575f, 0.2999985f, -0.0999995f, -0.46567977f,
                    1.5141994f, -0.23535525f, -0.37677625f});
  EXPECT_FALSE((*norm)->OutputType({{DataType::kFloat32, {-1, 4, 2}}}).ok());
}

TEST(BatchNormTest, StatisticOfWrongSizeNamesBothShapes) {
  Value record = ModuleRecord({{"gamma", F32Param({3}, {1, 2, 3})},
                               {"beta", F32Param({3}, {0, 0, 0})},
                               {"running_mean", F32Param({2}, {0, 0})},
                               {"running_var", F32Param({3}, {1, 1, 1})}});
  auto norm = BatchNorm::Create(record, "block.bn", {});
  ASSERT_FALSE(norm.ok());
  EXPECT_THAT(norm.status().message(), HasSubstr("'block.bn.running_mean'"));
  EXPECT_THAT(norm.status().message(), HasSubstr("[2]"));
  EXPECT_THAT(norm.status().message(), HasSubstr("'block.bn.gamma' [3]"));
}

// Under a ShapeOnlyScope the norms keep their channel counts (and refuse
// the same inputs) without folding or copying a parameter.
TEST(NormTest, ShapeOnlyNormsKeepTheirChannels) {
  Value batch = ModuleRecord({{"gamma", F32Param({3}, {1, 2, 0.5f})},
                              {"beta", F32Param({3}, {0, 0.1f, -0.2f})},
                              {"running_mean", F32Param({3}, {0.1f, -0.2f, 0})},
                              {"running_var", F32Param({3}, {1, 0.5f, 2})}});
  Value layer = ModuleRecord(
      {{"gamma", F32Param({4}, Ramp(4))}, {"beta", F32Param({4}, Ramp(4))}});
  Value group = ModuleRecord(
      {{"gamma", F32Param({4}, Ramp(4))}, {"beta", F32Param({4}, Ramp(4))}});
  NormOptions groups;
  groups.num_groups = 2;
  ShapeOnlyScope shape_only;
  auto bn = BatchNorm::Create(batch, "bn", {});
  auto ln = LayerNorm::Create(layer, "ln", {});
  auto gn = GroupNorm::Create(group, "gn", groups);
  ASSERT_TRUE(bn.ok()) << bn.status();
  ASSERT_TRUE(ln.ok()) << ln.status();
  ASSERT_TRUE(gn.ok()) << gn.status();
  EXPECT_TRUE((*bn)->OutputType({{DataType::kFloat32, {-1, 3, 2}}}).ok());
  EXPECT_FALSE((*bn)->OutputType({{DataType::kFloat32, {-1, 4, 2}}}).ok());
  EXPECT_EQ((*ln)->size(), 4);
  EXPECT_TRUE((*ln)->OutputType({{DataType::kFloat32, {-1, 4}}}).ok());
  EXPECT_FALSE((*ln)->OutputType({{DataType::kFloat32, {-1, 3}}}).ok());
  EXPECT_TRUE((*gn)->OutputType({{DataType::kFloat32, {-1, 4, 5}}}).ok());
  EXPECT_FALSE((*gn)->OutputType({{DataType::kFloat32, {-1, 6, 5}}}).ok());
}

Value LayerNormRecord(Value beta) {
  return ModuleRecord({{"gamma", F32Param({4}, {1, 2, 0.5f, -1})},
                       {"beta", std::move(beta)},
                       {"epsilon", Value::Nil()}});
}

TEST(LayerNormTest, NormalisesTheLastAxis) {
  auto norm = LayerNorm::Create(
      LayerNormRecord(F32Param({4}, {0, 0.1f, -0.2f, 0.3f})), "ln", {});
  ASSERT_TRUE(norm.ok()) << norm.status();
  auto y = (*norm)->Forward({Tensor::FromVector({2, 4}, Ramp(8))});
  ASSERT_TRUE(y.ok());
  ExpectValues(*y, {-1.3130191f, 1.1504152f, -0.46260381f, -1.0130191f,
                    0.199984f, -2.699776f, 0.49994401f, 0.499984f});
}

TEST(LayerNormTest, BetaIsOptional) {
  auto norm = LayerNorm::Create(LayerNormRecord(Value::Nil()), "ln", {});
  ASSERT_TRUE(norm.ok());
  auto y = (*norm)->Forward({Tensor::FromVector({2, 4}, Ramp(8))});
  ASSERT_TRUE(y.ok());
  // The values above minus beta.
  ExpectValues(*y, {-1.3130191f, 1.0504152f, -0.26260381f, -1.3130191f,
                    0.199984f, -2.799776f, 0.69994401f, 0.199984f});
}

TEST(LayerNormTest, EpsilonSetting) {
  NormOptions options;
  options.epsilon = 1.0;
  auto norm = LayerNorm::Create(LayerNormRecord(Value::Nil()), "ln", options);
  ASSERT_TRUE(norm.ok());
  // x = [1, -1, 1, -1]: mean 0, var 1, so y = x / sqrt(2) · gamma.
  auto y = (*norm)->Forward({Tensor::FromVector({1, 4}, {1, -1, 1, -1})});
  ASSERT_TRUE(y.ok());
  ExpectValues(*y, {0.70710678f, -1.4142136f, 0.35355339f, 0.70710678f});
  options.epsilon = 0;
  EXPECT_FALSE(
      LayerNorm::Create(LayerNormRecord(Value::Nil()), "ln", options).ok());
}

TEST(GroupNormTest, AffineGroups) {
  Value record = ModuleRecord({{"gamma", F32Param({4}, {1, 2, 0.5f, -1})},
                               {"beta", F32Param({4}, {0, 0.1f, -0.2f, 0.3f})},
                               {"num_groups", Value::Nil()},
                               {"num_channels", Value::Nil()},
                               {"epsilon", Value::Nil()},
                               {"affine", Value::Nil()}});
  NormOptions options;
  options.num_groups = 2;
  auto norm = GroupNorm::Create(record, "gn", options);
  ASSERT_TRUE(norm.ok()) << norm.status();
  auto y = (*norm)->Forward({Tensor::FromVector({1, 4, 3}, Ramp(12))});
  ASSERT_TRUE(y.ok());
  ExpectValues(*y, {-1.39299f, 0.696495f, -0.49749643f, 3.2839772f, 0.89599429f,
                    -1.4919886f, 0.48095373f, -0.12433847f, -0.72963068f,
                    -0.75926136f, 0.45132305f, 1.6619075f});
}

TEST(GroupNormTest, WithoutAffineAndBadGroups) {
  Value plain = ModuleRecord({{"gamma", Value::Nil()}, {"beta", Value::Nil()}});
  NormOptions options;
  options.num_groups = 2;
  auto norm = GroupNorm::Create(plain, "gn", options);
  ASSERT_TRUE(norm.ok()) << norm.status();
  // One group [1, 3] per sample: mean 2, var 1 -> [-1, 1].
  auto y = (*norm)->Forward({Tensor::FromVector({1, 2, 2}, {1, 3, 5, 7})});
  ASSERT_TRUE(y.ok());
  ExpectValues(*y, {-0.999995f, 0.999995f, -0.999995f, 0.999995f});
  EXPECT_FALSE((*norm)->OutputType({{DataType::kFloat32, {1, 3, 2}}}).ok());
  options.num_groups = 0;
  EXPECT_FALSE(GroupNorm::Create(plain, "gn", options).ok());
}

}  // namespace
}  // namespace ember::model
