#include "recorder/codec.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"
#include "recorder/half.h"
#include "recorder/record.h"
#include "recorder/test_util.h"

namespace ember::recorder {
namespace {

using testing::FixtureNames;
using testing::FixturePath;
using testing::GunzipOrDie;
using testing::ReadFileOrDie;

// "path dtype [d0, d1]" per tensor, in file order.
std::vector<std::string> Describe(const Record& record) {
  std::vector<std::string> out;
  for (const TensorEntry& t : record.Tensors()) {
    out.push_back(absl::StrCat(t.path, " ", DTypeName(t.tensor->dtype), " [",
                               absl::StrJoin(t.tensor->shape, ", "), "]"));
  }
  return out;
}

std::vector<std::string> LinearPair(const std::string& name,
                                    const std::string& dtype, int in, int out) {
  return {absl::StrCat(name, ".weight ", dtype, " [", in, ", ", out, "]"),
          absl::StrCat(name, ".bias ", dtype, " [", out, "]")};
}

std::vector<std::string> Concat(
    std::initializer_list<std::vector<std::string>> parts) {
  std::vector<std::string> out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

// The expected lists come from tests/fixtures/burn/README.md.
std::vector<std::string> ExpectedTensors(const std::string& fixture) {
  if (fixture == "connect4-mlp-f32-burn0.16.1.mpk") {
    return Concat({LinearPair("layer_0", "F32", 42, 64),
                   LinearPair("layer_1", "F32", 64, 30),
                   LinearPair("layer_2", "F32", 30, 7)});
  }
  if (fixture == "lenet-mnist-f16-burn0.18.0.mpk") {
    return Concat({{"conv1.weight F16 [32, 1, 5, 5]", "conv1.bias F16 [32]",
                    "conv2.weight F16 [64, 32, 5, 5]", "conv2.bias F16 [64]"},
                   LinearPair("fc1", "F16", 3136, 128),
                   LinearPair("fc2", "F16", 128, 10)});
  }
  if (fixture == "mlp-mnist-f16-burn0.12.1.mpk") {
    return Concat({LinearPair("linear1", "F16", 784, 512),
                   LinearPair("linear2", "F16", 512, 10)});
  }
  if (fixture == "cnn-mnist-f16-burn0.11.0.mpk.gz") {
    return Concat({{"conv1.weight F16 [8, 1, 3, 3]", "conv1.bias F16 [8]",
                    "conv2.weight F16 [16, 8, 3, 3]", "conv2.bias F16 [16]"},
                   LinearPair("linear1", "F16", 1024, 512),
                   LinearPair("linear2", "F16", 512, 10)});
  }
  if (fixture == "lstm-f16-burn0.17.0.mpk") {
    std::vector<std::string> out;
    for (const char* stack : {"stacked_lstm", "reverse_lstm"}) {
      for (int k = 0; k < 2; ++k) {
        const std::string cell = absl::StrCat(stack, ".layers[", k, "]");
        for (const auto& s : Concat(
                 {LinearPair(cell + ".weight_ih", "F16", k == 0 ? 1 : 32, 128),
                  LinearPair(cell + ".weight_hh", "F16", 32, 128),
                  {cell + ".norm_x.gamma F16 [128]",
                   cell + ".norm_x.beta F16 [128]",
                   cell + ".norm_h.gamma F16 [32]",
                   cell + ".norm_h.beta F16 [32]",
                   cell + ".norm_c.gamma F16 [32]",
                   cell + ".norm_c.beta F16 [32]"}})) {
          out.push_back(s);
        }
      }
    }
    for (const auto& s : LinearPair("fc", "F16", 64, 1)) out.push_back(s);
    return out;
  }
  return {};
}

std::string Payload(const std::string& name) {
  std::string bytes = ReadFileOrDie(FixturePath(name));
  if (name.size() > 3 && name.substr(name.size() - 3) == ".gz") {
    return GunzipOrDie(bytes);
  }
  return bytes;
}

class FixtureTest : public ::testing::TestWithParam<std::string> {};

TEST_P(FixtureTest, DecodesPathsDtypesAndShapes) {
  absl::StatusOr<Record> record = DecodeRecordFile(FixturePath(GetParam()));
  ASSERT_TRUE(record.ok()) << record.status();
  EXPECT_EQ(Describe(*record), ExpectedTensors(GetParam()));
}

TEST_P(FixtureTest, ReencodesByteIdentical) {
  absl::StatusOr<Record> record = DecodeRecordFile(FixturePath(GetParam()));
  ASSERT_TRUE(record.ok()) << record.status();
  absl::StatusOr<std::string> encoded =
      EncodeRecord(*record, RecordFormat::kMpk);
  ASSERT_TRUE(encoded.ok()) << encoded.status();
  const std::string expected = Payload(GetParam());
  ASSERT_EQ(encoded->size(), expected.size());
  EXPECT_TRUE(*encoded == expected);
}

TEST_P(FixtureTest, CopyToFloat32MatchesScalarWidening) {
  absl::StatusOr<Record> record = DecodeRecordFile(FixturePath(GetParam()));
  ASSERT_TRUE(record.ok()) << record.status();
  for (const TensorEntry& t : record->Tensors()) {
    std::vector<float> out(t.tensor->NumElements());
    ASSERT_TRUE(CopyToFloat32(*t.tensor, absl::MakeSpan(out)).ok());
    for (size_t i = 0; i < out.size(); ++i) {
      float expected;
      if (t.tensor->dtype == DType::kF16) {
        uint16_t h;
        std::memcpy(&h, t.tensor->bytes.data() + 2 * i, 2);
        expected = HalfToFloatScalar(h);
      } else {
        std::memcpy(&expected, t.tensor->bytes.data() + 4 * i, 4);
      }
      ASSERT_EQ(out[i], expected) << t.path << "[" << i << "]";
      ASSERT_TRUE(std::isfinite(out[i])) << t.path << "[" << i << "]";
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllFixtures, FixtureTest,
                         ::testing::ValuesIn(FixtureNames()));

TEST(CodecTest, OldLayoutHalfValuesAreBitPatterns) {
  absl::StatusOr<Record> record =
      DecodeRecordFile(FixturePath("mlp-mnist-f16-burn0.12.1.mpk"));
  ASSERT_TRUE(record.ok()) << record.status();
  const Value* w = record->item().FindPath("linear1.weight");
  ASSERT_NE(w, nullptr);
  ASSERT_TRUE(w->is_tensor());
  EXPECT_EQ(w->tensor().layout, TensorLayout::kValueShape);
  EXPECT_EQ(record->metadata().version, "0.12.1");
  EXPECT_TRUE(record->has_phantom_b());
}

TEST(CodecTest, GzipFixtureHasNoPhantomAndOldLayout) {
  absl::StatusOr<Record> record =
      DecodeRecordFile(FixturePath("cnn-mnist-f16-burn0.11.0.mpk.gz"));
  ASSERT_TRUE(record.ok()) << record.status();
  EXPECT_FALSE(record->has_phantom_b());
  EXPECT_EQ(record->metadata().settings, "HalfPrecisionSettings");
  ASSERT_EQ(record->Tensors().size(), 8u);
  EXPECT_EQ(record->Tensors()[0].tensor->layout, TensorLayout::kValueShape);
}

}  // namespace
}  // namespace ember::recorder
