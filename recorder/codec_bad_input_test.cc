// Malformed, hostile and unsupported input: every case must come back as a
// status that names what is wrong and where, never as a crash or a huge
// allocation.

#include <zlib.h>

#include <cstring>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "recorder/codec.h"
#include "recorder/record.h"
#include "recorder/test_util.h"

namespace ember::recorder {
namespace {

using testing::FixturePath;
using testing::ReadFileOrDie;

// Hand-built MessagePack.
class Bytes {
 public:
  Bytes& Raw(std::initializer_list<int> bytes) {
    for (int b : bytes) s_.push_back(static_cast<char>(b));
    return *this;
  }
  Bytes& Str(absl::string_view v) {
    Raw({0xa0 | static_cast<int>(v.size())});
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
  // {"item": {"conv1": {"weight": {"id": "i", "param": ...`
  Bytes& ParamPrefix() {
    Map(1).Str("item").Map(1).Str("conv1").Map(1).Str("weight");
    return Map(2).Str("id").Str("i").Str("param");
  }
  std::shared_ptr<const std::string> shared() const {
    return std::make_shared<const std::string>(s_);
  }
  std::string s_;
};

// Decodes and expects failure with `code` and every one of `parts` in the
// message.
void ExpectError(std::shared_ptr<const std::string> file, absl::StatusCode code,
                 std::initializer_list<absl::string_view> parts,
                 const DecodeOptions& options = DecodeOptions()) {
  absl::StatusOr<Record> r = DecodeRecord(file, "bad.mpk", options);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), code) << r.status();
  for (absl::string_view p : parts) {
    EXPECT_NE(r.status().message().find(std::string(p)), std::string::npos)
        << "missing \"" << p << "\" in: " << r.status().message();
  }
}

TEST(BadInputTest, EmptyAndNotMsgpack) {
  ExpectError(std::make_shared<const std::string>(""),
              absl::StatusCode::kInvalidArgument, {"bad.mpk", "empty"});
  ExpectError(std::make_shared<const std::string>("PK\x03\x04zipfile"),
              absl::StatusCode::kInvalidArgument,
              {"bad.mpk", "expected a MessagePack map at the top"});
  ExpectError(std::make_shared<const std::string>("\xc1"),
              absl::StatusCode::kInvalidArgument, {"marker 0xc1"});
}

TEST(BadInputTest, NonMapTopAndMissingItem) {
  ExpectError(Bytes().Arr(1).Raw({0xc0}).shared(),
              absl::StatusCode::kInvalidArgument, {"found array"});
  ExpectError(Bytes().Map(1).Str("metadata").Map(0).shared(),
              absl::StatusCode::kInvalidArgument, {"no \"item\""});
}

TEST(BadInputTest, TruncatedFixture) {
  const std::string whole =
      ReadFileOrDie(FixturePath("connect4-mlp-f32-burn0.16.1.mpk"));
  ExpectError(std::make_shared<const std::string>(whole.substr(0, 5000)),
              absl::StatusCode::kInvalidArgument,
              {"bad.mpk", "item.layer_0.weight", "truncated"});
}

TEST(BadInputTest, TrailingBytes) {
  const std::string whole =
      ReadFileOrDie(FixturePath("connect4-mlp-f32-burn0.16.1.mpk"));
  ExpectError(std::make_shared<const std::string>(whole + "xyz"),
              absl::StatusCode::kInvalidArgument, {"3 unexpected bytes"});
}

TEST(BadInputTest, ElementCountDisagreesWithByteLength) {
  Bytes b;
  b.ParamPrefix().Map(3).Str("bytes").Bin(std::string(20, '\0'));
  b.Str("shape").Arr(2).Raw({2, 3}).Str("dtype").Str("F32");
  ExpectError(b.shared(), absl::StatusCode::kInvalidArgument,
              {"item.conv1.weight", "shape [2, 3] of F32 needs 6 x 4 bytes",
               "found 20"});
}

TEST(BadInputTest, OldLayoutCountDisagreesWithShape) {
  Bytes b;
  b.ParamPrefix().Map(2).Str("value").Arr(2).Raw({1, 2});
  b.Str("shape").Arr(1).Raw({3});
  ExpectError(b.shared(), absl::StatusCode::kInvalidArgument,
              {"item.conv1.weight", "needs 3 values, found 2"});
}

TEST(BadInputTest, OverflowingShape) {
  Bytes b;
  b.ParamPrefix().Map(3).Str("bytes").Bin("");
  b.Str("shape").Arr(3);
  for (int i = 0; i < 3; ++i) {
    b.Raw({0xcf, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00});
  }
  b.Str("dtype").Str("F32");
  ExpectError(b.shared(), absl::StatusCode::kInvalidArgument,
              {"item.conv1.weight", "overflows"});
}

TEST(BadInputTest, HugeClaimedSizesAllocateNothing) {
  // An array header claiming 2^32-1 entries, a bin claiming 4 GiB and a
  // map claiming 2^32-1 pairs, each followed by a few bytes.
  ExpectError(Bytes()
                  .Map(1)
                  .Str("item")
                  .Raw({0xdd, 0xff, 0xff, 0xff, 0xff, 0xc0})
                  .shared(),
              absl::StatusCode::kInvalidArgument,
              {"claims 4294967295 entries"});
  ExpectError(Bytes()
                  .Map(1)
                  .Str("item")
                  .Raw({0xc6, 0xff, 0xff, 0xff, 0xff, 0x00})
                  .shared(),
              absl::StatusCode::kInvalidArgument, {"item", "truncated"});
  ExpectError(
      Bytes().Map(1).Str("item").Raw({0xdf, 0xff, 0xff, 0xff, 0xff}).shared(),
      absl::StatusCode::kInvalidArgument, {"map claims"});
  Bytes b;
  b.ParamPrefix().Map(2).Str("value").Raw({0xdd, 0x7f, 0xff, 0xff, 0xff, 1});
  ExpectError(b.shared(), absl::StatusCode::kInvalidArgument,
              {"item.conv1.weight", "claims"});
}

TEST(BadInputTest, DeepNesting) {
  Bytes b;
  b.Map(1).Str("item");
  for (int i = 0; i < 100; ++i) b.Arr(1);
  b.Raw({0xc0});
  ExpectError(b.shared(), absl::StatusCode::kResourceExhausted,
              {"nesting deeper than 64"});
  // Within a larger limit it decodes.
  DecodeOptions options;
  options.max_depth = 200;
  EXPECT_TRUE(DecodeRecord(b.shared(), "deep", options).ok());
  // A million levels must not overflow the stack either.
  std::string deep = "\x81\xa4item" + std::string(1000000, '\x91') + "\xc0";
  ExpectError(std::make_shared<const std::string>(deep),
              absl::StatusCode::kResourceExhausted, {"nesting"});
}

TEST(BadInputTest, UnknownAndQuantizedDtypes) {
  auto with_dtype = [](std::function<void(Bytes&)> dtype) {
    Bytes b;
    b.ParamPrefix().Map(3).Str("bytes").Bin("\x01").Str("shape").Arr(0);
    b.Str("dtype");
    dtype(b);
    return b.shared();
  };
  ExpectError(with_dtype([](Bytes& b) { b.Str("F8"); }),
              absl::StatusCode::kInvalidArgument,
              {"item.conv1.weight", "unknown dtype \"F8\""});
  ExpectError(with_dtype([](Bytes& b) {
                b.Map(1).Str("QFloat").Map(1).Str("value").Str("Q8S");
              }),
              absl::StatusCode::kInvalidArgument,
              {"item.conv1.weight", "quantized (QFloat)", "not supported"});
  ExpectError(with_dtype([](Bytes& b) { b.Map(1).Str("Bool").Str("U4"); }),
              absl::StatusCode::kInvalidArgument, {"unknown BoolStore"});
  ExpectError(with_dtype([](Bytes& b) { b.Raw({0x05}); }),
              absl::StatusCode::kInvalidArgument,
              {"dtype: expected a name", "found unsigned int"});
}

TEST(BadInputTest, MalformedBodies) {
  Bytes extra;
  extra.ParamPrefix().Map(3).Str("bytes").Bin("").Str("shape").Arr(0);
  extra.Str("dtypes").Str("F32");
  ExpectError(extra.shared(), absl::StatusCode::kInvalidArgument,
              {"unexpected tensor body key \"dtypes\""});
  Bytes missing;
  missing.ParamPrefix().Map(2).Str("bytes").Bin("").Str("shape").Arr(0);
  ExpectError(missing.shared(), absl::StatusCode::kInvalidArgument,
              {"must be {bytes, shape, dtype}"});
  Bytes not_map;
  not_map.ParamPrefix().Raw({0xc0});
  ExpectError(not_map.shared(), absl::StatusCode::kInvalidArgument,
              {"item.conv1.weight", "expected a tensor body map"});
  Bytes bad_id;
  bad_id.Map(1).Str("item").Map(2).Str("id").Raw({0x01}).Str("param").Map(0);
  ExpectError(bad_id.shared(), absl::StatusCode::kInvalidArgument,
              {"parameter id: expected a string"});
  Bytes neg_shape;
  neg_shape.ParamPrefix().Map(3).Str("bytes").Bin("").Str("shape").Arr(1);
  neg_shape.Raw({0xff}).Str("dtype").Str("F32");
  ExpectError(neg_shape.shared(), absl::StatusCode::kInvalidArgument,
              {"shape[0]: expected an unsigned int"});
  Bytes mixed;
  mixed.ParamPrefix().Map(2).Str("value").Arr(2).Raw({0x01});
  mixed.Raw({0xca, 0, 0, 0, 0}).Str("shape").Arr(1).Raw({2});
  ExpectError(mixed.shared(), absl::StatusCode::kInvalidArgument,
              {"mix floats, integers"});
  Bytes int_key;
  int_key.Map(1).Str("item").Map(1).Raw({0x01}).Raw({0xc0});
  ExpectError(int_key.shared(), absl::StatusCode::kInvalidArgument,
              {"expected a string map key"});
  Bytes ext;
  ext.Map(1).Str("item").Raw({0xd4, 0x01, 0x02});
  ExpectError(ext.shared(), absl::StatusCode::kInvalidArgument,
              {"extension types"});
}

std::string Gzip(const std::string& data) {
  z_stream zs;
  std::memset(&zs, 0, sizeof(zs));
  deflateInit2(&zs, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&zs, data.size()), '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = data.size();
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = out.size();
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

TEST(BadInputTest, CorruptAndTruncatedGzip) {
  const std::string gz =
      ReadFileOrDie(FixturePath("cnn-mnist-f16-burn0.11.0.mpk.gz"));
  std::string corrupt = gz;
  for (size_t i = 1000; i < 1100; ++i) corrupt[i] ^= 0x5a;
  ExpectError(std::make_shared<const std::string>(corrupt),
              absl::StatusCode::kDataLoss, {"bad.mpk", "corrupt gzip"});
  ExpectError(std::make_shared<const std::string>(gz.substr(0, gz.size() / 2)),
              absl::StatusCode::kDataLoss, {"truncated"});
  ExpectError(std::make_shared<const std::string>("\x1f\x8b"),
              absl::StatusCode::kDataLoss, {"gzip"});
}

TEST(BadInputTest, GzipBombIsBounded) {
  // 64 MiB of zeros deflates to ~64 KiB; the limit stops it at 1 MiB.
  const std::string bomb = Gzip(std::string(64 << 20, '\0'));
  ASSERT_LT(bomb.size(), 200000u);
  DecodeOptions options;
  options.max_inflated_bytes = 1 << 20;
  ExpectError(std::make_shared<const std::string>(bomb),
              absl::StatusCode::kResourceExhausted,
              {"inflates beyond the limit of 1048576 bytes"}, options);
}

TEST(BadInputTest, CopyToFloat32ChecksSizes) {
  Tensor t;
  t.dtype = DType::kF32;
  t.shape = {2, 2};
  static const std::string kBytes(16, '\0');
  t.bytes = kBytes;
  std::vector<float> out(3);
  absl::Status s = CopyToFloat32(t, absl::MakeSpan(out));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("holds 3 floats"), std::string::npos);
  t.bytes = absl::string_view(kBytes).substr(0, 8);
  out.resize(4);
  EXPECT_FALSE(CopyToFloat32(t, absl::MakeSpan(out)).ok());
}

TEST(BadInputTest, MissingFile) {
  absl::StatusOr<Record> r = DecodeRecordFile("/nonexistent/model.mpk");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("/nonexistent/model.mpk"),
            std::string::npos);
}

TEST(BadInputTest, TreeSizeIsBounded) {
  // One megabyte of nils would make a tree of ~150 MB.
  std::string many = std::string("\x81\xa4item\xdd\x00\x10\x00\x00", 11) +
                     std::string(1 << 20, '\xc0');
  DecodeOptions options;
  options.max_values = 100000;
  ExpectError(std::make_shared<const std::string>(many),
              absl::StatusCode::kResourceExhausted,
              {"more than 100000 values", "item[99999]"}, options);
  options.max_values = 2 << 20;
  EXPECT_TRUE(
      DecodeRecord(std::make_shared<const std::string>(many), "nils", options)
          .ok());
}

}  // namespace
}  // namespace ember::recorder
