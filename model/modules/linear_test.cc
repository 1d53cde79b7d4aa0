#include "model/modules/linear.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "model/modules/params.h"
#include "model/modules/test_records.h"
#include "model/modules/test_util_expect.h"

namespace ember::model {
namespace {

using recorder::Value;
using testing::ExpectValues;
using testing::F16Param;
using testing::F32Param;
using ::testing::HasSubstr;
using testing::ModuleRecord;

Value TwoByThree(Value bias) {
  return ModuleRecord({{"weight", F32Param({2, 3}, {1, 2, 3, 4, 5, 6})},
                       {"bias", std::move(bias)}});
}

TEST(LinearTest, ComputesXTimesWeightPlusBias) {
  auto linear = Linear::Create(TwoByThree(F32Param({3}, {0.5f, -1, 2})), "fc");
  ASSERT_TRUE(linear.ok()) << linear.status();
  EXPECT_EQ((*linear)->d_input(), 2);
  EXPECT_EQ((*linear)->d_output(), 3);
  Tensor x = Tensor::FromVector({2, 2}, {1, -1, 0.5f, 2});
  auto y = (*linear)->Forward({x});
  ASSERT_TRUE(y.ok());
  EXPECT_EQ(y->shape(), (std::vector<int64_t>{2, 3}));
  // By hand: [1, -1]·W = [-3, -3, -3]; [0.5, 2]·W = [8.5, 11, 13.5]; + b.
  ExpectValues(*y, {-2.5f, -4, -1, 9, 10, 15.5f});
}

TEST(LinearTest, ColumnLayoutIsTransposedOnLoad) {
  // The same W as TwoByThree, stored [d_output, d_input].
  auto linear = Linear::Create(
      ModuleRecord({{"weight", F32Param({3, 2}, {1, 4, 2, 5, 3, 6})},
                    {"bias", F32Param({3}, {0.5f, -1, 2})}}),
      "fc", LinearLayout::kCol);
  ASSERT_TRUE(linear.ok()) << linear.status();
  EXPECT_EQ((*linear)->d_input(), 2);
  EXPECT_EQ((*linear)->d_output(), 3);
  auto y = (*linear)->Forward({Tensor::FromVector({2, 2}, {1, -1, 0.5f, 2})});
  ASSERT_TRUE(y.ok());
  ExpectValues(*y, {-2.5f, -4, -1, 9, 10, 15.5f});
}

TEST(LinearTest, ShapeOnlyColumnLayoutKeepsTheDimensions) {
  const Value record =
      ModuleRecord({{"weight", F32Param({3, 2}, {1, 4, 2, 5, 3, 6})},
                    {"bias", F32Param({3}, {0.5f, -1, 2})}});
  ShapeOnlyScope shape_only;
  auto linear = Linear::Create(record, "fc", LinearLayout::kCol);
  ASSERT_TRUE(linear.ok()) << linear.status();
  EXPECT_EQ((*linear)->d_input(), 2);
  EXPECT_EQ((*linear)->d_output(), 3);
  auto out = (*linear)->OutputType({{DataType::kFloat32, {-1, 2}}});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->shape, (std::vector<int64_t>{-1, 3}));
  EXPECT_EQ((*linear)->parameter_bytes(), 0);  // nothing materialised
}

TEST(LinearTest, NilBiasAndLeadingAxes) {
  auto linear = Linear::Create(TwoByThree(Value::Nil()), "fc");
  ASSERT_TRUE(linear.ok());
  EXPECT_FALSE((*linear)->has_bias());
  Tensor x = Tensor::FromVector({2, 1, 2}, {1, -1, 0.5f, 2});
  auto type = (*linear)->OutputType({TensorType::Of(x)});
  ASSERT_TRUE(type.ok());
  EXPECT_EQ(type->shape, (std::vector<int64_t>{2, 1, 3}));
  auto y = (*linear)->Forward({x});
  ASSERT_TRUE(y.ok());
  ExpectValues(*y, {-3, -3, -3, 8.5f, 11, 13.5f});
}

TEST(LinearTest, HalfPrecisionWeightsConvertOnLoad) {
  auto linear = Linear::Create(
      ModuleRecord({{"weight", F16Param({2, 1}, {0.5f, -0.25f})}}), "fc");
  ASSERT_TRUE(linear.ok()) << linear.status();
  auto y = (*linear)->Forward({Tensor::FromVector({1, 2}, {2, 4})});
  ASSERT_TRUE(y.ok());
  ExpectValues(*y, {0.0f});
}

TEST(LinearTest, UnknownBatchPropagates) {
  auto linear = Linear::Create(TwoByThree(Value::Nil()), "fc");
  ASSERT_TRUE(linear.ok());
  auto type = (*linear)->OutputType({{DataType::kFloat32, {-1, 2}}});
  ASSERT_TRUE(type.ok());
  EXPECT_EQ(type->shape, (std::vector<int64_t>{-1, 3}));
}

TEST(LinearTest, MissingWeightNamesRecordPath) {
  auto linear = Linear::Create(ModuleRecord({{"bias", Value::Nil()}}), "fc1");
  ASSERT_FALSE(linear.ok());
  EXPECT_THAT(linear.status().message(), HasSubstr("'fc1.weight'"));
  EXPECT_THAT(linear.status().message(), HasSubstr("missing"));
}

TEST(LinearTest, WrongRankNamesShape) {
  auto linear = Linear::Create(
      ModuleRecord({{"weight", F32Param({6}, {1, 2, 3, 4, 5, 6})}}), "fc1");
  ASSERT_FALSE(linear.ok());
  EXPECT_THAT(linear.status().message(), HasSubstr("'fc1.weight'"));
  EXPECT_THAT(linear.status().message(), HasSubstr("rank-2"));
  EXPECT_THAT(linear.status().message(), HasSubstr("[6]"));
}

TEST(LinearTest, BiasDisagreeingWithWeightNamesBothShapes) {
  auto linear = Linear::Create(TwoByThree(F32Param({2}, {1, 2})), "fc1");
  ASSERT_FALSE(linear.ok());
  EXPECT_THAT(linear.status().message(), HasSubstr("'fc1.bias'"));
  EXPECT_THAT(linear.status().message(), HasSubstr("[2]"));
  EXPECT_THAT(linear.status().message(), HasSubstr("[2, 3]"));
}

TEST(LinearTest, ShapeLargerThanItsBytesFailsBeforeAllocating) {
  // 2^32 promised elements, 8 bytes held.
  auto linear = Linear::Create(
      ModuleRecord({{"weight", F32Param({1 << 16, 1 << 16}, {1, 2})}}), "fc");
  ASSERT_FALSE(linear.ok());
  EXPECT_THAT(linear.status().message(), HasSubstr("'fc.weight'"));
  EXPECT_THAT(linear.status().message(), HasSubstr("holds 8"));
}

TEST(LinearTest, NotAModuleOrNotAParameter) {
  EXPECT_FALSE(Linear::Create(Value::Int(3), "fc").ok());
  auto linear =
      Linear::Create(ModuleRecord({{"weight", Value::String("x")}}), "fc");
  ASSERT_FALSE(linear.ok());
  EXPECT_THAT(linear.status().message(), HasSubstr("expected a parameter"));
}

TEST(LinearTest, InputOfWrongWidthNamesBothShapes) {
  auto linear = Linear::Create(TwoByThree(Value::Nil()), "fc1");
  ASSERT_TRUE(linear.ok());
  auto type = (*linear)->OutputType({{DataType::kFloat32, {-1, 5}}});
  ASSERT_FALSE(type.ok());
  EXPECT_THAT(type.status().message(), HasSubstr("[-1, 5]"));
  EXPECT_THAT(type.status().message(), HasSubstr("[2, 3]"));
  EXPECT_THAT(type.status().message(), HasSubstr("fc1.weight"));
}

}  // namespace
}  // namespace ember::model
