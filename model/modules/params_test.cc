#include "model/modules/params.h"

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "recorder/codec.h"
#include "recorder/record.h"

namespace ember::model {
namespace {

using ::testing::HasSubstr;

// A module map {"weight": tensor} whose bytes are `bytes`.
recorder::Value Module(recorder::DType dtype, std::vector<uint64_t> shape,
                       std::string bytes) {
  auto storage = std::make_shared<std::string>(std::move(bytes));
  recorder::Tensor t;
  t.id = "w0";
  t.dtype = dtype;
  t.shape = std::move(shape);
  t.bytes = *storage;
  t.storage = storage;
  return recorder::Value::MakeMap(
      {{"weight", recorder::Value::MakeTensor(std::move(t))}});
}

template <typename T>
std::string Bytes(const std::vector<T>& values) {
  return std::string(reinterpret_cast<const char*>(values.data()),
                     values.size() * sizeof(T));
}

// Element counts around the conversion's block size, so both whole and
// partial blocks are covered.
class ConvertSizeTest : public ::testing::TestWithParam<uint64_t> {};

TEST_P(ConvertSizeTest, F32KeepsEveryElementInOrder) {
  const uint64_t n = GetParam();
  std::vector<float> want(n);
  for (uint64_t i = 0; i < n; ++i) want[i] = static_cast<float>(i) * 0.5f;
  const recorder::Value module =
      Module(recorder::DType::kF32, {n}, Bytes(want));
  absl::StatusOr<Param> param = LoadParam(module, "fc", "weight", 1);
  ASSERT_TRUE(param.ok()) << param.status();
  EXPECT_EQ(param->path, "fc.weight");
  EXPECT_EQ(param->shape, std::vector<int64_t>{static_cast<int64_t>(n)});
  EXPECT_EQ(param->values, want);
}

TEST_P(ConvertSizeTest, F64IsNarrowedElementByElement) {
  const uint64_t n = GetParam();
  std::vector<double> stored(n);
  std::vector<float> want(n);
  for (uint64_t i = 0; i < n; ++i) {
    stored[i] = static_cast<double>(i) - 7.25;
    want[i] = static_cast<float>(stored[i]);
  }
  const recorder::Value module =
      Module(recorder::DType::kF64, {n}, Bytes(stored));
  absl::StatusOr<Param> param = LoadParam(module, "fc", "weight", 1);
  ASSERT_TRUE(param.ok()) << param.status();
  EXPECT_EQ(param->values, want);
}

INSTANTIATE_TEST_SUITE_P(AroundTheBlock, ConvertSizeTest,
                         ::testing::Values(0, 1, 8191, 8192, 8193, 40000));

TEST(LoadParamTest, HalfPrecisionConvertsAcrossBlocks) {
  // 1.0 in binary16 is 0x3c00, -2.0 is 0xc000.
  const uint64_t n = 20000;
  std::vector<uint16_t> stored(n);
  for (uint64_t i = 0; i < n; ++i) stored[i] = i % 2 == 0 ? 0x3c00 : 0xc000;
  const recorder::Value module =
      Module(recorder::DType::kF16, {100, 200}, Bytes(stored));
  absl::StatusOr<Param> param = LoadParam(module, "", "weight", 2);
  ASSERT_TRUE(param.ok()) << param.status();
  EXPECT_EQ(param->path, "weight");
  ASSERT_EQ(param->values.size(), n);
  EXPECT_EQ(param->values[0], 1.0f);
  EXPECT_EQ(param->values[8193], -2.0f);
  EXPECT_EQ(param->values[n - 2], 1.0f);
  EXPECT_EQ(param->num_elements(), static_cast<int64_t>(n));
  EXPECT_FALSE(param->shape_only);
}

TEST(ShapeOnlyScopeTest, ChecksEverythingButConvertsNothing) {
  const recorder::Value good =
      Module(recorder::DType::kF16, {100, 200}, std::string(40000, '\0'));
  const recorder::Value short_bytes =
      Module(recorder::DType::kF16, {100, 200}, std::string(39998, '\0'));
  EXPECT_FALSE(ShapeOnlyScope::Active());
  {
    ShapeOnlyScope outer;
    {
      ShapeOnlyScope inner;  // scopes nest
    }
    ASSERT_TRUE(ShapeOnlyScope::Active());
    absl::StatusOr<Param> param = LoadParam(good, "fc", "weight", 2);
    ASSERT_TRUE(param.ok()) << param.status();
    EXPECT_TRUE(param->shape_only);
    EXPECT_TRUE(param->values.empty());
    EXPECT_EQ(param->shape, (std::vector<int64_t>{100, 200}));
    EXPECT_EQ(param->path, "fc.weight");

    // The same refusals as a real load, with the same messages.
    absl::Status checked = LoadParam(short_bytes, "fc", "weight", 2).status();
    absl::Status wrong_rank = LoadParam(good, "fc", "weight", 1).status();
    EXPECT_EQ(checked.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(checked.message(), HasSubstr("needs 40000 bytes"));
    EXPECT_EQ(wrong_rank.code(), absl::StatusCode::kInvalidArgument);
  }
  EXPECT_FALSE(ShapeOnlyScope::Active());
  EXPECT_EQ(LoadParam(short_bytes, "fc", "weight", 2).status(), [&] {
    ShapeOnlyScope scope;
    return LoadParam(short_bytes, "fc", "weight", 2).status();
  }());
  absl::StatusOr<Param> loaded = LoadParam(good, "fc", "weight", 2);
  ASSERT_TRUE(loaded.ok());
  EXPECT_FALSE(loaded->shape_only);
  EXPECT_EQ(loaded->values.size(), 20000u);
}

TEST(LoadParamTest, RefusesWrongRankWithTheShape) {
  const recorder::Value module =
      Module(recorder::DType::kF32, {2, 3}, std::string(24, '\0'));
  absl::StatusOr<Param> param = LoadParam(module, "fc", "weight", 1);
  EXPECT_EQ(param.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(param.status().message(),
              HasSubstr("'fc.weight': expected a rank-1 tensor, got shape"));
}

TEST(LoadParamTest, RefusesBytesThatDoNotMatchTheShape) {
  const recorder::Value module =
      Module(recorder::DType::kF32, {4}, std::string(12, '\0'));
  absl::StatusOr<Param> param = LoadParam(module, "fc", "weight", 1);
  EXPECT_EQ(param.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(param.status().message(), HasSubstr("needs 16 bytes"));
  EXPECT_THAT(param.status().message(), HasSubstr("holds 12"));
}

TEST(LoadParamTest, RefusesAShapeTooLargeToHold) {
  const uint64_t huge = uint64_t{1} << 40;
  const recorder::Value module =
      Module(recorder::DType::kF32, {huge, huge}, std::string(4, '\0'));
  absl::StatusOr<Param> param = LoadParam(module, "fc", "weight", 2);
  EXPECT_EQ(param.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(param.status().message(), HasSubstr("shape is too large"));
}

TEST(LoadParamTest, MissingIsNotFoundAndOptionalIsEmpty) {
  const recorder::Value module = recorder::Value::MakeMap({});
  EXPECT_EQ(LoadParam(module, "fc", "weight", 2).status().code(),
            absl::StatusCode::kNotFound);
  absl::StatusOr<std::optional<Param>> bias =
      LoadOptionalParam(module, "fc", "bias", 1);
  ASSERT_TRUE(bias.ok()) << bias.status();
  EXPECT_FALSE(bias->has_value());
}

}  // namespace
}  // namespace ember::model
