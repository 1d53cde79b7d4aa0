#include "model/modules/embedding.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "model/modules/test_records.h"
#include "model/modules/test_util_expect.h"

namespace ember::model {
namespace {

using testing::ExpectValues;
using testing::F32Param;
using ::testing::HasSubstr;
using testing::ModuleRecord;

std::unique_ptr<Embedding> ThreeByTwo() {
  auto embedding = Embedding::Create(
      ModuleRecord({{"weight", F32Param({3, 2}, {0, 1, 10, 11, 20, 21})}}),
      "embed");
  EXPECT_TRUE(embedding.ok()) << embedding.status();
  return std::move(*embedding);
}

TEST(EmbeddingTest, GathersRows) {
  auto embedding = ThreeByTwo();
  Tensor ids = Tensor::FromInt64Vector({2, 2}, {2, 0, 1, 1});
  auto type = embedding->OutputType({TensorType::Of(ids)});
  ASSERT_TRUE(type.ok());
  EXPECT_EQ(type->shape, (std::vector<int64_t>{2, 2, 2}));
  auto y = embedding->Forward({ids});
  ASSERT_TRUE(y.ok());
  ExpectValues(*y, {20, 21, 0, 1, 10, 11, 10, 11});
}

TEST(EmbeddingTest, OutOfRangeIdIsNamed) {
  auto embedding = ThreeByTwo();
  auto y = embedding->Forward({Tensor::FromInt64Vector({3}, {0, 3, 1})});
  ASSERT_FALSE(y.ok());
  EXPECT_THAT(y.status().message(), HasSubstr("id 3"));
  EXPECT_THAT(y.status().message(), HasSubstr("index 1"));
  EXPECT_THAT(y.status().message(), HasSubstr("[0, 3)"));
  EXPECT_FALSE(embedding->Forward({Tensor::FromInt64Vector({1}, {-1})}).ok());
}

TEST(EmbeddingTest, NeedsInt64Ids) {
  auto embedding = ThreeByTwo();
  EXPECT_FALSE(embedding->OutputType({{DataType::kFloat32, {2}}}).ok());
}

}  // namespace
}  // namespace ember::model
