#include "recorder/mpk_writer.h"

#include <cstdint>
#include <string>

#include "gtest/gtest.h"
#include "recorder/record.h"

namespace ember::recorder::internal {
namespace {

std::string Hex(const std::string& s) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

std::string Write(const Value& v) {
  absl::StatusOr<std::string> out = WriteMpkPayload(v);
  EXPECT_TRUE(out.ok()) << out.status();
  return out.ok() ? Hex(*out) : "";
}

// rmp-serde's output: the smallest marker for every value.
TEST(MpkWriterTest, CanonicalCompactMarkers) {
  EXPECT_EQ(Write(Value::Nil()), "c0");
  EXPECT_EQ(Write(Value::Bool(true)), "c3");
  EXPECT_EQ(Write(Value::Uint(5)), "05");
  EXPECT_EQ(Write(Value::Uint(127)), "7f");
  EXPECT_EQ(Write(Value::Uint(128)), "cc80");
  EXPECT_EQ(Write(Value::Uint(256)), "cd0100");
  EXPECT_EQ(Write(Value::Uint(65536)), "ce00010000");
  EXPECT_EQ(Write(Value::Uint(uint64_t{1} << 32)), "cf0000000100000000");
  EXPECT_EQ(Write(Value::Int(5)), "05");  // non-negative signed: as unsigned
  EXPECT_EQ(Write(Value::Int(-1)), "ff");
  EXPECT_EQ(Write(Value::Int(-32)), "e0");
  EXPECT_EQ(Write(Value::Int(-33)), "d0df");
  EXPECT_EQ(Write(Value::Int(-129)), "d1ff7f");
  EXPECT_EQ(Write(Value::String("abc")), "a3616263");
  EXPECT_EQ(Write(Value::String(std::string(32, 'x'))).substr(0, 4), "d920");
  EXPECT_EQ(Write(Value::String(std::string(256, 'x'))).substr(0, 6), "da0100");
  EXPECT_EQ(Write(Value::Binary("\x01\x02", nullptr)), "c4020102");
  EXPECT_EQ(Write(Value::MakeArray({})), "90");
  Map sixteen;
  for (int i = 0; i < 16; ++i) {
    sixteen.emplace_back(std::string(1, 'a' + i), Value::Nil());
  }
  EXPECT_EQ(Write(Value::MakeMap(sixteen)).substr(0, 6), "de0010");
}

// Floats always keep their float marker, even when integral or -0.
TEST(MpkWriterTest, FloatsStayFloats) {
  EXPECT_EQ(Write(Value::Float32(1.0f)), "ca3f800000");
  EXPECT_EQ(Write(Value::Float32(-0.0f)), "ca80000000");
  EXPECT_EQ(Write(Value::Float32(0.0f)), "ca00000000");
  EXPECT_EQ(Write(Value::Float64(2.0)), "cb4000000000000000");
  EXPECT_EQ(Write(Value::Float64(-0.0)), "cb8000000000000000");
}

TEST(MpkWriterTest, TensorsInCanonicalForm) {
  static const std::string kBytes("\x00\x00\x80\x3f", 4);
  Tensor t;
  t.id = "ab";
  t.dtype = DType::kF32;
  t.shape = {1};
  t.bytes = kBytes;
  // {"id":"ab","param":{"bytes":bin,"shape":[1],"dtype":"F32"}}
  EXPECT_EQ(Write(Value::MakeTensor(t)),
            "82a26964a26162a5706172616d83a56279746573c4040000803f"
            "a5736861706591"
            "01a56474797065a3463332");
}

TEST(MpkWriterTest, RefusesInconsistentTensors) {
  static const std::string kBytes(6, '\0');
  Tensor t;
  t.dtype = DType::kF32;
  t.shape = {2};
  t.bytes = kBytes;
  absl::StatusOr<std::string> out = WriteMpkPayload(Value::MakeTensor(t));
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("do not match shape [2]"),
            std::string::npos);
}

}  // namespace
}  // namespace ember::recorder::internal
