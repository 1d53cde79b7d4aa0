#include "model/modules/conv.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
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

// Expected values below come from a direct float64 loop over the definition
// of cross-correlation (numpy, offline): y[n,o,r,s] = b[o] + Σ w[o,c,i,j] ·
// xpad[n, g·Cg + c, r·stride + i·dilation, s·stride + j·dilation].

Value ConvRecord(std::vector<uint64_t> weight_shape, int64_t weight_count,
                 float weight_scale, Value bias) {
  return ModuleRecord(
      {{"weight", F32Param(weight_shape, Ramp(weight_count, weight_scale))},
       {"bias", std::move(bias)},
       {"stride", Value::MakeArray({Value::Nil(), Value::Nil()})},
       {"kernel_size", Value::MakeArray({Value::Nil(), Value::Nil()})},
       {"dilation", Value::MakeArray({Value::Nil(), Value::Nil()})},
       {"groups", Value::Nil()},
       {"padding", Value::Nil()}});
}

Tensor RunConv(const Conv& conv, Tensor x) {
  auto type = conv.OutputType({TensorType::Of(x)});
  EXPECT_TRUE(type.ok()) << type.status();
  auto y = conv.Forward({x});
  EXPECT_TRUE(y.ok()) << y.status();
  EXPECT_EQ(y->shape(), type->shape);
  return *y;
}

TEST(Conv2dTest, GroupsStrideAndPadding) {
  ConvOptions options;
  options.groups = 2;
  options.stride = {2, 2};
  options.padding = Padding::Explicit({1, 1, 1, 1});
  auto conv = Conv::Create2d(
      ConvRecord({4, 1, 3, 3}, 36, 0.05f, F32Param({4}, Ramp(4))), "conv",
      options);
  ASSERT_TRUE(conv.ok()) << conv.status();
  Tensor y = RunConv(**conv, Tensor::FromVector({1, 2, 4, 4}, Ramp(32)));
  EXPECT_EQ(y.shape(), (std::vector<int64_t>{1, 4, 2, 2}));
  ExpectValues(
      y, {-0.495f, -0.595f, -0.485f, -0.3f, 0.225f, 0.29f, 0.315f, -0.015f,
          -0.015f, -0.365f, -0.075f, -0.235f, 0.475f, 0.395f, 0.545f, 0.275f});
}

TEST(Conv2dTest, DilationAndAsymmetricPaddingWithoutBias) {
  ConvOptions options;
  options.dilation = {2, 2};
  options.padding =
      Padding::Explicit({1, 0, 2, 1});  // top, left, bottom, right
  auto conv = Conv::Create2d(ConvRecord({2, 3, 3, 3}, 54, 0.05f, Value::Nil()),
                             "conv", options);
  ASSERT_TRUE(conv.ok()) << conv.status();
  Tensor y = RunConv(**conv, Tensor::FromVector({1, 3, 5, 5}, Ramp(75)));
  EXPECT_EQ(y.shape(), (std::vector<int64_t>{1, 2, 4, 2}));
  ExpectValues(
      y, {0.025f, -0.04f, 0.32f, -0.055f, -0.05f, -0.2f, -0.265f, 0.245f, 0.15f,
          -0.085f, -0.015f, 0.345f, 0.13f, -0.135f, -0.165f, 0.22f});
}

TEST(Conv2dTest, SamePaddingKeepsSizeOverABatch) {
  ConvOptions options;
  options.padding = Padding::Same();
  auto conv = Conv::Create2d(
      ConvRecord({2, 1, 3, 3}, 18, 0.05f, F32Param({2}, Ramp(2))), "conv",
      options);
  ASSERT_TRUE(conv.ok()) << conv.status();
  Tensor y = RunConv(**conv, Tensor::FromVector({2, 1, 3, 3}, Ramp(18)));
  EXPECT_EQ(y.shape(), (std::vector<int64_t>{2, 2, 3, 3}));
  ExpectValues(
      y, {-0.575f, -0.425f, -0.44f,  -0.56f,  0.0f,   -0.56f, -0.44f, -0.425f,
          -0.575f, 0.245f,  0.03f,   0.29f,   0.09f,  0.07f,  0.34f,  0.11f,
          0.285f,  0.27f,   -0.43f,  -0.415f, -0.59f, -0.36f, -0.63f, -0.61f,
          -0.41f,  -0.67f,  -0.455f, 0.075f,  0.255f, 0.155f, 0.065f, 0.67f,
          0.065f,  0.155f,  0.255f,  0.075f});
}

TEST(Conv2dTest, PointwiseKernelUsesTheInputDirectly) {
  auto conv = Conv::Create2d(
      ConvRecord({2, 3, 1, 1}, 6, 0.05f, F32Param({2}, Ramp(2))), "conv", {});
  ASSERT_TRUE(conv.ok());
  Tensor y = RunConv(**conv, Tensor::FromVector({1, 3, 2, 2}, Ramp(12)));
  ExpectValues(y,
               {-0.325f, -0.61f, -0.4f, -0.575f, 0.14f, 0.19f, 0.185f, 0.4f});
}

TEST(Conv1dTest, StrideAndPadding) {
  ConvOptions options;
  options.stride = {2};
  options.padding = Padding::Explicit({1, 1});
  Value record = ModuleRecord({{"weight", F32Param({3, 2, 2}, Ramp(12, 0.05f))},
                               {"bias", F32Param({3}, Ramp(3))}});
  auto conv = Conv::Create1d(record, "conv", options);
  ASSERT_TRUE(conv.ok()) << conv.status();
  Tensor y = RunConv(**conv, Tensor::FromVector({1, 2, 5}, Ramp(10)));
  EXPECT_EQ(y.shape(), (std::vector<int64_t>{1, 3, 3}));
  ExpectValues(
      y, {-0.625f, -0.61f, -0.5f, 0.275f, 0.32f, 0.13f, -0.2f, -0.29f, -0.34f});
}

TEST(Conv2dTest, UnknownSpatialSizesPropagate) {
  auto conv = Conv::Create2d(ConvRecord({4, 2, 3, 3}, 72, 0.1f, Value::Nil()),
                             "conv", {});
  ASSERT_TRUE(conv.ok());
  auto type = (*conv)->OutputType({{DataType::kFloat32, {-1, 2, -1, 10}}});
  ASSERT_TRUE(type.ok());
  EXPECT_EQ(type->shape, (std::vector<int64_t>{-1, 4, -1, 8}));
}

TEST(Conv2dTest, ChannelMismatchNamesBothShapes) {
  auto conv = Conv::Create2d(ConvRecord({4, 2, 3, 3}, 72, 0.1f, Value::Nil()),
                             "features.conv", {});
  ASSERT_TRUE(conv.ok());
  auto type = (*conv)->OutputType({{DataType::kFloat32, {-1, 3, 8, 8}}});
  ASSERT_FALSE(type.ok());
  EXPECT_THAT(type.status().message(), HasSubstr("[-1, 3, 8, 8]"));
  EXPECT_THAT(type.status().message(), HasSubstr("features.conv.weight"));
}

TEST(Conv2dTest, InputSmallerThanKernel) {
  auto conv = Conv::Create2d(ConvRecord({1, 1, 3, 3}, 9, 0.1f, Value::Nil()),
                             "conv", {});
  ASSERT_TRUE(conv.ok());
  EXPECT_FALSE((*conv)->OutputType({{DataType::kFloat32, {1, 1, 2, 5}}}).ok());
}

TEST(Conv2dTest, BadOptionsAndRecords) {
  ConvOptions groups;
  groups.groups = 3;
  auto conv = Conv::Create2d(ConvRecord({4, 1, 3, 3}, 36, 0.1f, Value::Nil()),
                             "conv", groups);
  ASSERT_FALSE(conv.ok());
  EXPECT_THAT(conv.status().message(), HasSubstr("groups 3"));

  ConvOptions same;
  same.padding = Padding::Same();
  same.stride = {2, 2};
  EXPECT_FALSE(Conv::Create2d(ConvRecord({1, 1, 3, 3}, 9, 0.1f, Value::Nil()),
                              "conv", same)
                   .ok());

  auto rank =
      Conv::Create2d(ConvRecord({4, 9}, 36, 0.1f, Value::Nil()), "conv", {});
  ASSERT_FALSE(rank.ok());
  EXPECT_THAT(rank.status().message(), HasSubstr("rank-4"));

  auto bias = Conv::Create2d(
      ConvRecord({4, 1, 3, 3}, 36, 0.1f, F32Param({3}, Ramp(3))), "conv", {});
  ASSERT_FALSE(bias.ok());
  EXPECT_THAT(bias.status().message(), HasSubstr("'conv.bias'"));
  EXPECT_THAT(bias.status().message(), HasSubstr("[4, 1, 3, 3]"));
}

}  // namespace
}  // namespace ember::model
