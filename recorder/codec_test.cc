#include "recorder/codec.h"

#include <dirent.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
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

size_t LargestTensorBytes(const Record& record) {
  size_t largest = 0;
  for (const TensorEntry& t : record.Tensors()) {
    largest = std::max(largest, t.tensor->bytes.size());
  }
  return largest;
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

// Streamed encoding gives Burn's bytes too, and the gzip form deflates
// exactly those bytes as one piece would.
TEST_P(FixtureTest, EncodesPieceByPieceByteIdentical) {
  absl::StatusOr<Record> record = DecodeRecordFile(FixturePath(GetParam()));
  ASSERT_TRUE(record.ok()) << record.status();
  const std::string expected = Payload(GetParam());
  for (RecordFormat format : {RecordFormat::kMpk, RecordFormat::kMpkGz}) {
    std::string streamed;
    size_t largest = 0;
    absl::Status status =
        EncodeRecordTo(*record, format, [&](absl::string_view piece) {
          streamed.append(piece.data(), piece.size());
          largest = std::max(largest, piece.size());
          return absl::OkStatus();
        });
    ASSERT_TRUE(status.ok()) << status;
    if (format == RecordFormat::kMpk) {
      EXPECT_TRUE(streamed == expected);
      EXPECT_LE(largest,
                std::max<size_t>(1 << 20, LargestTensorBytes(*record)));
    } else {
      EXPECT_TRUE(GunzipOrDie(streamed) == expected);
      absl::StatusOr<std::string> whole = EncodeRecord(*record, format);
      ASSERT_TRUE(whole.ok());
      EXPECT_TRUE(streamed == *whole);
    }
  }
  // A sink that fails stops the encoding with its own error.
  int calls = 0;
  absl::Status failed =
      EncodeRecordTo(*record, RecordFormat::kMpk, [&](absl::string_view) {
        ++calls;
        return absl::ResourceExhaustedError("no space left");
      });
  EXPECT_EQ(failed.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(failed.message(), "no space left");
  EXPECT_EQ(calls, 1);
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

// ---------------------------------------------------------------------------
// Conversion.

std::string TensorBytes(const Record& record) {
  std::string out;
  for (const TensorEntry& t : record.Tensors()) {
    out.append(t.tensor->bytes.data(), t.tensor->bytes.size());
  }
  return out;
}

// Bytes owned by something other than a string (the daemon maps uploaded
// files) decode the same, and the tensors keep that owner alive.
TEST(CodecTest, DecodesBytesHeldByAnyOwner) {
  int with_views = 0;
  for (const std::string& name : FixtureNames()) {
    SCOPED_TRACE(name);
    const std::string file = ReadFileOrDie(FixturePath(name));
    auto owner = std::make_shared<std::vector<char>>(file.begin(), file.end());
    std::weak_ptr<std::vector<char>> watch = owner;
    const absl::string_view bytes(owner->data(), owner->size());
    absl::StatusOr<Record> held =
        DecodeRecord(bytes, std::move(owner), name, DecodeOptions());
    ASSERT_TRUE(held.ok()) << held.status();
    absl::StatusOr<Record> plain =
        DecodeRecord(std::make_shared<const std::string>(file), name);
    ASSERT_TRUE(plain.ok()) << plain.status();
    absl::StatusOr<std::string> a = EncodeRecord(*held, RecordFormat::kMpk);
    absl::StatusOr<std::string> b = EncodeRecord(*plain, RecordFormat::kMpk);
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_TRUE(*a == *b);
    // Tensors whose bytes are views into the caller's bytes (plain files
    // in the newer layouts) must keep them alive; gzip files and old
    // `{value, shape}` bodies get buffers of their own.
    const bool gzip =
        file.size() >= 2 && file[0] == '\x1f' && file[1] == '\x8b';
    bool views = false;
    for (const TensorEntry& entry : held->Tensors()) {
      views |= !gzip && entry.tensor->layout == TensorLayout::kTensorData;
    }
    if (views) {
      ++with_views;
      EXPECT_FALSE(watch.expired());
    }
    held = absl::UnknownError("dropped");
    EXPECT_TRUE(watch.expired());
  }
  EXPECT_GT(with_views, 0);
}

TEST(ConvertTest, FullToHalfMatchesNumpyBitForBit) {
  absl::StatusOr<Record> full =
      DecodeRecordFile(FixturePath("connect4-mlp-f32-burn0.16.1.mpk"));
  ASSERT_TRUE(full.ok()) << full.status();
  absl::StatusOr<Record> half =
      ConvertRecord(*full, Precision::kHalf, RecordFormat::kMpk);
  ASSERT_TRUE(half.ok()) << half.status();
  const std::string expected =
      ReadFileOrDie(std::string(getenv("TEST_SRCDIR")) +
                    "/ember/recorder/testdata/connect4-half-numpy.bin");
  EXPECT_TRUE(TensorBytes(*half) == expected);
  for (const TensorEntry& t : half->Tensors()) {
    EXPECT_EQ(t.tensor->dtype, DType::kF16) << t.path;
  }
  const Metadata m = half->metadata();
  EXPECT_EQ(m.float_type, "half::binary16::f16");
  EXPECT_EQ(m.int_type, "i16");
  EXPECT_EQ(m.format,
            "burn_core::record::file::NamedMpkFileRecorder<burn_core::record::"
            "settings::HalfPrecisionSettings>");
  EXPECT_EQ(m.settings, "HalfPrecisionSettings");
  EXPECT_EQ(m.version, "0.16.1");  // TensorData already: version kept
  // Ids, tree and key order survive.
  const std::vector<TensorEntry> a = full->Tensors(), b = half->Tensors();
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].path, b[i].path);
    EXPECT_EQ(a[i].tensor->id, b[i].tensor->id);
    EXPECT_EQ(a[i].tensor->shape, b[i].tensor->shape);
  }
  // And the encoded file decodes to the same thing.
  absl::StatusOr<std::string> bytes = EncodeRecord(*half, RecordFormat::kMpk);
  ASSERT_TRUE(bytes.ok());
  absl::StatusOr<Record> again =
      DecodeRecord(std::make_shared<const std::string>(*bytes), "half.mpk");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(TensorBytes(*again) == expected);
  EXPECT_EQ(Describe(*again).size(), 6u);
}

TEST(ConvertTest, SamePrecisionAndFormatIsByteIdentical) {
  for (const std::string& name : FixtureNames()) {
    absl::StatusOr<Record> record = DecodeRecordFile(FixturePath(name));
    ASSERT_TRUE(record.ok()) << record.status();
    absl::StatusOr<Precision> precision = RecordPrecision(*record);
    ASSERT_TRUE(precision.ok()) << precision.status();
    const RecordFormat format = FormatForPath(name).value();
    absl::StatusOr<Record> same = ConvertRecord(*record, *precision, format);
    ASSERT_TRUE(same.ok()) << same.status();
    absl::StatusOr<std::string> bytes = EncodeRecord(*same, RecordFormat::kMpk);
    ASSERT_TRUE(bytes.ok());
    EXPECT_TRUE(*bytes == Payload(name)) << name;
  }
}

TEST(ConvertTest, HalfToFullToHalfIsIdentity) {
  for (const std::string& name : FixtureNames()) {
    absl::StatusOr<Record> record = DecodeRecordFile(FixturePath(name));
    ASSERT_TRUE(record.ok()) << record.status();
    if (RecordPrecision(*record).value() != Precision::kHalf) continue;
    const RecordFormat format = FormatForPath(name).value();
    absl::StatusOr<Record> full =
        ConvertRecord(*record, Precision::kFull, format);
    ASSERT_TRUE(full.ok()) << full.status();
    EXPECT_EQ(RecordPrecision(*full).value(), Precision::kFull);
    absl::StatusOr<Record> back =
        ConvertRecord(*full, Precision::kHalf, format);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_TRUE(TensorBytes(*back) == TensorBytes(*record)) << name;
    EXPECT_EQ(Describe(*back), Describe(*record)) << name;
    if (record->Tensors()[0].tensor->layout == TensorLayout::kTensorData) {
      // Nothing was re-laid: the whole file comes back.
      absl::StatusOr<std::string> bytes =
          EncodeRecord(*back, RecordFormat::kMpk);
      ASSERT_TRUE(bytes.ok());
      EXPECT_TRUE(*bytes == Payload(name)) << name;
    } else {
      // Old bodies become TensorData, `_b` appears, version 0.14.0.
      for (const TensorEntry& t : back->Tensors()) {
        EXPECT_EQ(t.tensor->layout, TensorLayout::kTensorData);
      }
      EXPECT_TRUE(back->has_phantom_b());
      EXPECT_EQ(back->metadata().version, "0.14.0");
      EXPECT_EQ(back->top().map().back().first, "_b");
    }
  }
}

TEST(ConvertTest, OldLayoutToDoubleWidensExactly) {
  absl::StatusOr<Record> record =
      DecodeRecordFile(FixturePath("cnn-mnist-f16-burn0.11.0.mpk.gz"));
  ASSERT_TRUE(record.ok());
  absl::StatusOr<Record> dbl =
      ConvertRecord(*record, Precision::kDouble, RecordFormat::kMpkGz);
  ASSERT_TRUE(dbl.ok()) << dbl.status();
  EXPECT_EQ(dbl->metadata().float_type, "f64");
  EXPECT_EQ(dbl->metadata().int_type, "i64");
  EXPECT_EQ(dbl->metadata().settings, "DoublePrecisionSettings");
  EXPECT_EQ(dbl->metadata().format,
            "burn_core::record::file::NamedMpkGzFileRecorder<burn_core::"
            "record::settings::DoublePrecisionSettings>");
  const auto a = record->Tensors(), b = dbl->Tensors();
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(b[i].tensor->dtype, DType::kF64);
    std::vector<float> fa(a[i].tensor->NumElements()),
        fb(b[i].tensor->NumElements());
    ASSERT_TRUE(CopyToFloat32(*a[i].tensor, absl::MakeSpan(fa)).ok());
    ASSERT_TRUE(CopyToFloat32(*b[i].tensor, absl::MakeSpan(fb)).ok());
    EXPECT_EQ(fa, fb) << a[i].path;
  }
  // A gzip file written from it decodes to the same tensors.
  absl::StatusOr<std::string> gz = EncodeRecord(*dbl, RecordFormat::kMpkGz);
  ASSERT_TRUE(gz.ok());
  ASSERT_GT(gz->size(), 10u);
  EXPECT_EQ(gz->substr(0, 10), std::string("\x1f\x8b\x08\x00\x00\x00\x00\x00"
                                           "\x00\xff",
                                           10));
  absl::StatusOr<Record> back =
      DecodeRecord(std::make_shared<const std::string>(*gz), "dbl.mpk.gz");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(TensorBytes(*back) == TensorBytes(*dbl));
}

TEST(ConvertTest, FormatOnlyChangeRewritesTheFormatString) {
  absl::StatusOr<Record> record =
      DecodeRecordFile(FixturePath("lenet-mnist-f16-burn0.18.0.mpk"));
  ASSERT_TRUE(record.ok());
  absl::StatusOr<Record> gz =
      ConvertRecord(*record, Precision::kHalf, RecordFormat::kMpkGz);
  ASSERT_TRUE(gz.ok());
  EXPECT_EQ(gz->metadata().format,
            "burn_core::record::file::NamedMpkGzFileRecorder<burn_core::"
            "record::settings::HalfPrecisionSettings>");
  EXPECT_EQ(gz->metadata().version, "0.18.0");
  EXPECT_TRUE(TensorBytes(*gz) == TensorBytes(*record));
}

TEST(ConvertTest, RecordPrecisionRejectsMixedFloats) {
  Tensor a;
  a.dtype = DType::kF32;
  a.shape = {1};
  static const std::string kFour(4, '\0');
  a.bytes = kFour;
  Tensor b = a;
  b.dtype = DType::kF16;
  b.bytes = absl::string_view(kFour).substr(0, 2);
  Record record(Value::MakeMap(
      {{"item", Value::MakeMap({{"a", Value::MakeTensor(a)},
                                {"b", Value::MakeTensor(b)}})}}));
  absl::StatusOr<Precision> p = RecordPrecision(record);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("item.b"), std::string::npos);
}

TEST(ConvertTest, IntTensorsFollowTheSettingAndRangeIsChecked) {
  std::vector<int64_t> values = {-3, 0, 40000};
  static std::string storage;
  storage.assign(reinterpret_cast<const char*>(values.data()), 24);
  Tensor t;
  t.id = "x";
  t.dtype = DType::kI64;
  t.shape = {3};
  t.bytes = storage;
  Record record(Value::MakeMap(
      {{"item", Value::MakeMap({{"ids", Value::MakeTensor(t)}})}}));
  absl::StatusOr<Record> full =
      ConvertRecord(record, Precision::kFull, RecordFormat::kMpk);
  ASSERT_TRUE(full.ok()) << full.status();
  const Tensor& converted = *full->Tensors()[0].tensor;
  EXPECT_EQ(converted.dtype, DType::kI32);
  int32_t out[3];
  std::memcpy(out, converted.bytes.data(), 12);
  EXPECT_EQ(out[0], -3);
  EXPECT_EQ(out[2], 40000);
  absl::StatusOr<Record> half =
      ConvertRecord(record, Precision::kHalf, RecordFormat::kMpk);
  ASSERT_FALSE(half.ok());
  EXPECT_NE(half.status().message().find("item.ids"), std::string::npos);
  EXPECT_NE(half.status().message().find("I16"), std::string::npos);
}

// ---------------------------------------------------------------------------
// Synthetic records: dtypes and spellings no fixture has.

struct Synthetic {
  std::string name;
  DType dtype;
  std::vector<uint64_t> shape;
  uint32_t flags_from_bytes;  // not used by the builder, documentation only
};

Tensor MakeTensor(DType dtype, std::vector<uint64_t> shape,
                  std::shared_ptr<std::string>* keep) {
  Tensor t;
  t.id = "abcdefghij123";
  t.dtype = dtype;
  t.shape = std::move(shape);
  const uint64_t n = t.NumElements() * DTypeSize(dtype);
  *keep = std::make_shared<std::string>(n, '\0');
  for (uint64_t i = 0; i < n; ++i) {
    (**keep)[i] =
        static_cast<char>(dtype == DType::kBool ? (i % 3 == 0) : (i * 37 + 11));
  }
  t.bytes = **keep;
  t.storage = *keep;
  return t;
}

TEST(SyntheticTest, EveryDtypeRoundTrips) {
  const DType dtypes[] = {DType::kF64, DType::kF32, DType::kF16, DType::kBF16,
                          DType::kI64, DType::kI32, DType::kI16, DType::kI8,
                          DType::kU64, DType::kU32, DType::kU16, DType::kU8,
                          DType::kBool};
  const std::vector<std::vector<uint64_t>> shapes = {{}, {0, 3}, {2, 3, 4}};
  Map item;
  std::vector<std::shared_ptr<std::string>> keep;
  for (DType d : dtypes) {
    for (size_t s = 0; s < shapes.size(); ++s) {
      keep.emplace_back();
      item.emplace_back(
          absl::StrCat(DTypeName(d), "_", s),
          Value::MakeTensor(MakeTensor(d, shapes[s], &keep.back())));
    }
  }
  Record record(Value::MakeMap(
      {{"metadata", Value::MakeMap({{"float", Value::String("f32")}})},
       {"item", Value::MakeMap(std::move(item))},
       {"_b", Value::MakeArray({})}}));
  absl::StatusOr<std::string> bytes = EncodeRecord(record, RecordFormat::kMpk);
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  absl::StatusOr<Record> back =
      DecodeRecord(std::make_shared<const std::string>(*bytes), "synthetic");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(Describe(*back), Describe(record));
  EXPECT_TRUE(TensorBytes(*back) == TensorBytes(record));
  absl::StatusOr<std::string> again = EncodeRecord(*back, RecordFormat::kMpk);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(*again == *bytes);
  // Scalars have one element, zero-size tensors none.
  EXPECT_EQ(back->item().Find("F32_0")->tensor().NumElements(), 1u);
  EXPECT_EQ(back->item().Find("F32_1")->tensor().NumElements(), 0u);
  for (const TensorEntry& t : back->Tensors()) {
    std::vector<float> out(t.tensor->NumElements());
    EXPECT_TRUE(CopyToFloat32(*t.tensor, absl::MakeSpan(out)).ok()) << t.path;
  }
}

// Builds MessagePack by hand (independently of the codec's writer).
class Bytes {
 public:
  Bytes& Raw(std::initializer_list<int> bytes) {
    for (int b : bytes) s_.push_back(static_cast<char>(b));
    return *this;
  }
  Bytes& Str(absl::string_view v) {
    if (v.size() < 32) {
      Raw({0xa0 | static_cast<int>(v.size())});
    } else {
      Raw({0xd9, static_cast<int>(v.size())});
    }
    s_.append(v.data(), v.size());
    return *this;
  }
  Bytes& Bin(absl::string_view v) {
    Raw({0xc4, static_cast<int>(v.size())});
    s_.append(v.data(), v.size());
    return *this;
  }
  Bytes& Map(int n) { return Raw({0x80 | n}); }
  Bytes& Arr(int n) { return Raw({0x90 | n}); }
  Bytes& Nil() { return Raw({0xc0}); }
  const std::string& str() const { return s_; }
  std::shared_ptr<const std::string> shared() const {
    return std::make_shared<const std::string>(s_);
  }

 private:
  std::string s_;
};

// {"item": {"w": {"id": "i", "param": <body>}}} with the body from `body`.
template <typename F>
std::shared_ptr<const std::string> OneParam(F body) {
  Bytes b;
  b.Map(1).Str("item").Map(1).Str("w").Map(2).Str("id").Str("i").Str("param");
  body(b);
  return b.shared();
}

TEST(SyntheticTest, BoolSpellingsAndStores) {
  struct Case {
    const char* name;
    std::function<void(Bytes&)> dtype;
    std::string bytes;
  };
  const std::string three_u32(
      "\x01\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00", 12);
  const Case cases[] = {
      {"unit", [](Bytes& b) { b.Str("Bool"); }, std::string("\x01\x00\x01", 3)},
      {"native", [](Bytes& b) { b.Map(1).Str("Bool").Str("Native"); },
       std::string("\x01\x00\x01", 3)},
      {"u8", [](Bytes& b) { b.Map(1).Str("Bool").Str("U8"); },
       std::string("\x01\x00\x01", 3)},
      {"u32", [](Bytes& b) { b.Map(1).Str("Bool").Str("U32"); }, three_u32},
  };
  for (const Case& c : cases) {
    auto file = OneParam([&](Bytes& b) {
      b.Map(3).Str("bytes").Bin(c.bytes).Str("shape").Arr(1).Raw({3});
      b.Str("dtype");
      c.dtype(b);
    });
    absl::StatusOr<Record> r = DecodeRecord(file, c.name);
    ASSERT_TRUE(r.ok()) << c.name << ": " << r.status();
    const Tensor& t = r->item().Find("w")->tensor();
    EXPECT_EQ(t.dtype, DType::kBool) << c.name;
    EXPECT_EQ(t.bytes, absl::string_view("\x01\x00\x01", 3)) << c.name;
    absl::StatusOr<std::string> out = EncodeRecord(*r, RecordFormat::kMpk);
    ASSERT_TRUE(out.ok());
    EXPECT_TRUE(*out == *file) << c.name;
  }
}

TEST(SyntheticTest, SpellingsThatMustSurviveARoundTrip) {
  const std::string four("\x00\x00\x80\x3f", 4);  // 1.0f
  std::vector<std::shared_ptr<const std::string>> files = {
      // Flex32 is f32 bytes.
      OneParam([&](Bytes& b) {
        b.Map(3).Str("bytes").Bin(four).Str("shape").Arr(0).Str("dtype").Str(
            "Flex32");
      }),
      // `bytes` as an array of ints (serde accepts it).
      OneParam([&](Bytes& b) {
        b.Map(3).Str("bytes").Arr(4).Raw({0x00, 0x00, 0xcc, 0x80, 0x3f});
        b.Str("shape").Arr(1).Raw({1}).Str("dtype").Str("F32");
      }),
      // Keys in another order.
      OneParam([&](Bytes& b) {
        b.Map(3).Str("dtype").Str("F32").Str("shape").Arr(1).Raw({1});
        b.Str("bytes").Bin(four);
      }),
      // Old layout with f32 `ca` values, shape first.
      OneParam([&](Bytes& b) {
        b.Map(2).Str("shape").Arr(1).Raw({1}).Str("value").Arr(1);
        b.Raw({0xca, 0x3f, 0x80, 0x00, 0x00});
      }),
      // Old layout with f64 `cb` values.
      OneParam([&](Bytes& b) {
        b.Map(2).Str("value").Arr(1);
        b.Raw({0xcb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0});
        b.Str("shape").Arr(1).Raw({1});
      }),
  };
  for (size_t i = 0; i < files.size(); ++i) {
    absl::StatusOr<Record> r = DecodeRecord(files[i], "case");
    ASSERT_TRUE(r.ok()) << i << ": " << r.status();
    std::vector<float> v(1);
    ASSERT_TRUE(
        CopyToFloat32(r->item().Find("w")->tensor(), absl::MakeSpan(v)).ok());
    EXPECT_EQ(v[0], 1.0f) << i;
    absl::StatusOr<std::string> out = EncodeRecord(*r, RecordFormat::kMpk);
    ASSERT_TRUE(out.ok());
    EXPECT_TRUE(*out == *files[i]) << i;
  }
}

TEST(SyntheticTest, OldLayoutIntegersFollowTheMetadata) {
  auto make = [](absl::string_view float_type, absl::string_view int_type,
                 std::initializer_list<int> values) {
    Bytes b;
    b.Map(2).Str("metadata").Map(2).Str("float").Str(float_type);
    b.Str("int").Str(int_type);
    b.Str("item").Map(1).Str("w").Map(2).Str("id").Str("i").Str("param");
    b.Map(2).Str("value").Arr(static_cast<int>(values.size()));
    for (int v : values) b.Raw({v});
    b.Str("shape").Arr(1).Raw({static_cast<int>(values.size())});
    return b.shared();
  };
  struct Case {
    std::shared_ptr<const std::string> file;
    DType dtype;
  };
  const Case cases[] = {
      {make("half::binary16::f16", "i16", {0x3c, 0x01}), DType::kF16},
      {make("half::binary16::f16", "i16", {0x01, 0xff}), DType::kI16},
      {make("f32", "i32", {0x05, 0x07}), DType::kI32},
      {make("f64", "i64", {0x05}), DType::kI64},
  };
  for (const Case& c : cases) {
    absl::StatusOr<Record> r = DecodeRecord(c.file, "old");
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->item().Find("w")->tensor().dtype, c.dtype);
    absl::StatusOr<std::string> out = EncodeRecord(*r, RecordFormat::kMpk);
    ASSERT_TRUE(out.ok());
    EXPECT_TRUE(*out == *c.file);
  }
}

TEST(CodecTest, WriteRecordFileIsAtomicAndReadable) {
  absl::StatusOr<Record> record =
      DecodeRecordFile(FixturePath("lstm-f16-burn0.17.0.mpk"));
  ASSERT_TRUE(record.ok());
  const std::string dir = testing::TempDir();
  const std::string path = dir + "/model.mpk.gz";
  ASSERT_TRUE(WriteRecordFile(*record, path, RecordFormat::kMpkGz).ok());
  // Overwrite in place, then check no temporary files are left behind.
  ASSERT_TRUE(WriteRecordFile(*record, path, RecordFormat::kMpkGz).ok());
  absl::StatusOr<Record> back = DecodeRecordFile(path);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(Describe(*back), Describe(*record));
  EXPECT_TRUE(GunzipOrDie(ReadFileOrDie(path)) ==
              Payload("lstm-f16-burn0.17.0.mpk"));
  int entries = 0;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      const std::string name = e->d_name;
      if (name != "." && name != "..") ++entries;  // temp files count too
    }
    closedir(d);
  }
  EXPECT_EQ(entries, 1);
  EXPECT_FALSE(
      WriteRecordFile(*record, dir + "/missing/x.mpk", RecordFormat::kMpk)
          .ok());
}

TEST(CodecTest, FormatAndPrecisionNames) {
  EXPECT_EQ(FormatForPath("a/b.mpk").value(), RecordFormat::kMpk);
  EXPECT_EQ(FormatForPath("a/b.mpk.gz").value(), RecordFormat::kMpkGz);
  EXPECT_FALSE(FormatForPath("a/b.bin").ok());
  EXPECT_FALSE(FormatForPath("a/b.gz").ok());
  for (Precision p : {Precision::kFull, Precision::kHalf, Precision::kDouble}) {
    EXPECT_EQ(ParsePrecision(PrecisionName(p)).value(), p);
  }
  EXPECT_EQ(ParsePrecision("HALF").value(), Precision::kHalf);
  EXPECT_FALSE(ParsePrecision("f16").ok());
  EXPECT_EQ(PrecisionSettingsName(Precision::kDouble),
            "DoublePrecisionSettings");
  EXPECT_EQ(ParseDTypeName("BF16").value(), DType::kBF16);
  EXPECT_FALSE(ParseDTypeName("F8").ok());
}

TEST(CodecTest, FindPathFollowsArraysAndMaps) {
  absl::StatusOr<Record> record =
      DecodeRecordFile(FixturePath("lstm-f16-burn0.17.0.mpk"));
  ASSERT_TRUE(record.ok());
  const Value* v =
      record->item().FindPath("reverse_lstm.layers[1].norm_c.gamma");
  ASSERT_NE(v, nullptr);
  ASSERT_TRUE(v->is_tensor());
  EXPECT_EQ(v->tensor().shape, std::vector<uint64_t>{32});
  EXPECT_EQ(record->item().FindPath("reverse_lstm.layers[2]"), nullptr);
  EXPECT_EQ(record->item().FindPath("reverse_lstm.layers[x]"), nullptr);
  EXPECT_EQ(record->item().FindPath("nope"), nullptr);
}

TEST(ConvertTest, Flex32IsWrittenAsF32) {
  const std::string one("\x00\x00\x80\x3f", 4);
  auto file = OneParam([&](Bytes& b) {
    b.Map(3).Str("bytes").Bin(one).Str("shape").Arr(0).Str("dtype").Str(
        "Flex32");
  });
  absl::StatusOr<Record> r = DecodeRecord(file, "flex");
  ASSERT_TRUE(r.ok()) << r.status();
  absl::StatusOr<Record> full =
      ConvertRecord(*r, Precision::kFull, RecordFormat::kMpk);
  ASSERT_TRUE(full.ok()) << full.status();
  absl::StatusOr<std::string> bytes = EncodeRecord(*full, RecordFormat::kMpk);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(bytes->find("Flex32"), std::string::npos);
  EXPECT_NE(bytes->find("\xa3"
                        "F32"),
            std::string::npos);
  EXPECT_EQ(full->metadata().settings, "FullPrecisionSettings");
}

// Every float source at every precision, element by element against the
// scalar conversions, with a length that crosses the converter's internal
// blocks and source bytes that start at an odd address.
TEST(ConvertTest, EveryFloatSourceMatchesTheScalarConversions) {
  constexpr uint64_t kN = 3 * 4096 + 13;
  const DType sources[] = {DType::kF16, DType::kBF16, DType::kF32, DType::kF64};
  for (DType from : sources) {
    const int size = DTypeSize(from);
    // One byte of padding in front, so the tensor's bytes are unaligned.
    auto storage = std::make_shared<std::string>(1 + kN * size, '\0');
    std::vector<double> values(kN);
    uint32_t state = 12345;
    for (uint64_t i = 0; i < kN; ++i) {
      state = state * 1664525u + 1013904223u;
      // Spread over f16's normal and subnormal range, and beyond it.
      const double v = (static_cast<int32_t>(state) >> 4) *
                       std::ldexp(1.0, static_cast<int>(i % 40) - 50);
      char* dst = storage->data() + 1 + i * size;
      if (from == DType::kF16) {
        const uint16_t h = FloatToHalfScalar(static_cast<float>(v));
        std::memcpy(dst, &h, 2);
        values[i] = HalfToFloatScalar(h);
      } else if (from == DType::kBF16) {
        const uint16_t h = FloatToBFloat16Scalar(static_cast<float>(v));
        std::memcpy(dst, &h, 2);
        values[i] = BFloat16ToFloatScalar(h);
      } else if (from == DType::kF32) {
        const float f = static_cast<float>(v);
        std::memcpy(dst, &f, 4);
        values[i] = f;
      } else {
        std::memcpy(dst, &v, 8);
        values[i] = v;
      }
    }
    Tensor t;
    t.dtype = from;
    t.shape = {kN};
    t.bytes = absl::string_view(storage->data() + 1, kN * size);
    t.storage = storage;
    const Record record(Value::MakeMap(
        {{"metadata", Value::MakeMap({})},
         {"item", Value::MakeMap({{"w", Value::MakeTensor(t)}})}}));
    for (Precision to :
         {Precision::kFull, Precision::kHalf, Precision::kDouble}) {
      absl::StatusOr<Record> converted =
          ConvertRecord(record, to, RecordFormat::kMpk);
      ASSERT_TRUE(converted.ok()) << converted.status();
      const Tensor& out = converted->item().Find("w")->tensor();
      ASSERT_EQ(out.NumElements(), kN);
      const char* p = out.bytes.data();
      uint64_t mismatches = 0;
      for (uint64_t i = 0; i < kN; ++i) {
        if (to == Precision::kHalf) {
          const uint16_t want = from == DType::kF64
                                    ? DoubleToHalfScalar(values[i])
                                    : FloatToHalfScalar(values[i]);
          uint16_t got;
          std::memcpy(&got, p + 2 * i, 2);
          mismatches += got != want;
        } else if (to == Precision::kFull) {
          const float want = static_cast<float>(values[i]);
          float got;
          std::memcpy(&got, p + 4 * i, 4);
          mismatches += std::memcmp(&got, &want, 4) != 0;
        } else {
          double got;
          std::memcpy(&got, p + 8 * i, 8);
          mismatches += std::memcmp(&got, &values[i], 8) != 0;
        }
      }
      EXPECT_EQ(mismatches, 0u)
          << DTypeName(from) << " to " << PrecisionName(to);
    }
  }
}

TEST(ConvertTest, RefusesTensorsWhoseBytesDisagreeWithTheShape) {
  static const std::string kBytes(6, '\0');
  Tensor t;
  t.dtype = DType::kI32;
  t.shape = {2};
  t.bytes = kBytes;
  Record record(Value::MakeMap(
      {{"item", Value::MakeMap({{"w", Value::MakeTensor(t)}})}}));
  absl::StatusOr<Record> half =
      ConvertRecord(record, Precision::kHalf, RecordFormat::kMpk);
  ASSERT_FALSE(half.ok());
  EXPECT_NE(half.status().message().find("item.w"), std::string::npos);
}

}  // namespace
}  // namespace ember::recorder
