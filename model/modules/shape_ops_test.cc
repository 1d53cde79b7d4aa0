#include "model/modules/shape_ops.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "model/modules/test_util_expect.h"

namespace ember::model {
namespace {

using testing::ExpectValues;

std::vector<int64_t> Shape(const Module& m, TensorType in) {
  auto out = m.OutputType({in});
  EXPECT_TRUE(out.ok()) << out.status();
  return out.ok() ? out->shape : std::vector<int64_t>{};
}

TEST(ReshapeTest, KeepInferAndUnknownDims) {
  EXPECT_EQ(Shape(Reshape({0, 1, 28, 28}), {DataType::kFloat32, {-1, 28, 28}}),
            (std::vector<int64_t>{-1, 1, 28, 28}));
  EXPECT_EQ(Shape(Reshape({-1, 784}), {DataType::kFloat32, {-1, 28, 28}}),
            (std::vector<int64_t>{-1, 784}));
  EXPECT_EQ(Shape(Reshape({3, -1}), {DataType::kFloat32, {2, 6}}),
            (std::vector<int64_t>{3, 4}));
  EXPECT_FALSE(
      Reshape({5, -1}).OutputType({{DataType::kFloat32, {2, 6}}}).ok());
  EXPECT_FALSE(
      Reshape({-1, -1}).OutputType({{DataType::kFloat32, {2, 6}}}).ok());
  EXPECT_FALSE(Reshape({4, 4}).OutputType({{DataType::kFloat32, {2, 6}}}).ok());

  Tensor x = Tensor::FromVector({2, 3}, {1, 2, 3, 4, 5, 6});
  auto y = Reshape({0, 3, 1}).Forward({x});
  ASSERT_TRUE(y.ok());
  EXPECT_EQ(y->shape(), (std::vector<int64_t>{2, 3, 1}));
  EXPECT_EQ(y->data<float>(), x.data<float>());  // shares the buffer
}

TEST(FlattenTest, MergesAxes) {
  EXPECT_EQ(Shape(Flatten(1, -1), {DataType::kFloat32, {-1, 64, 7, 7}}),
            (std::vector<int64_t>{-1, 3136}));
  EXPECT_EQ(Shape(Flatten(0, 1), {DataType::kFloat32, {-1, 2, 3}}),
            (std::vector<int64_t>{-1, 3}));
  EXPECT_EQ(Shape(Flatten(1, 2), {DataType::kFloat32, {2, 3, 4, 5}}),
            (std::vector<int64_t>{2, 12, 5}));
  EXPECT_FALSE(
      Flatten(2, 1).OutputType({{DataType::kFloat32, {2, 3, 4}}}).ok());
  EXPECT_FALSE(
      Flatten(1, 3).OutputType({{DataType::kFloat32, {2, 3, 4}}}).ok());
}

TEST(AddTest, SumsEqualShapes) {
  Add add;
  Tensor a = Tensor::FromVector({2}, {1, 2});
  Tensor b = Tensor::FromVector({2}, {10, 20});
  auto y = add.Forward({a, b, a});
  ASSERT_TRUE(y.ok());
  ExpectValues(*y, {12, 24});
  auto type = add.OutputType(
      {{DataType::kFloat32, {-1, 3}}, {DataType::kFloat32, {4, 3}}});
  ASSERT_TRUE(type.ok());
  EXPECT_EQ(type->shape, (std::vector<int64_t>{4, 3}));
  auto bad = add.OutputType(
      {{DataType::kFloat32, {-1, 3}}, {DataType::kFloat32, {-1, 4}}});
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), ::testing::HasSubstr("[-1, 4]"));
  EXPECT_THAT(bad.status().message(), ::testing::HasSubstr("[-1, 3]"));
}

TEST(ConcatTest, AlongAnAxis) {
  Concat concat(-1);
  Tensor a = Tensor::FromVector({2, 1}, {1, 2});
  Tensor b = Tensor::FromVector({2, 2}, {10, 11, 20, 21});
  auto y = concat.Forward({a, b});
  ASSERT_TRUE(y.ok());
  EXPECT_EQ(y->shape(), (std::vector<int64_t>{2, 3}));
  ExpectValues(*y, {1, 10, 11, 2, 20, 21});

  auto first = Concat(0).Forward({a, a});
  ASSERT_TRUE(first.ok());
  ExpectValues(*first, {1, 2, 1, 2});

  auto type = concat.OutputType(
      {{DataType::kFloat32, {-1, 5, 2}}, {DataType::kFloat32, {-1, 5, -1}}});
  ASSERT_TRUE(type.ok());
  EXPECT_EQ(type->shape, (std::vector<int64_t>{-1, 5, -1}));
  EXPECT_FALSE(concat
                   .OutputType({{DataType::kFloat32, {-1, 5, 2}},
                                {DataType::kFloat32, {-1, 4, 2}}})
                   .ok());
  EXPECT_FALSE(Concat(3)
                   .OutputType({{DataType::kFloat32, {1, 2}},
                                {DataType::kFloat32, {1, 2}}})
                   .ok());
}

}  // namespace
}  // namespace ember::model
