#include "common/json.h"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <random>
#include <sstream>
#include <string>

#include "absl/status/status.h"
#include "gtest/gtest.h"

namespace ember::json {
namespace {

TEST(JsonTest, ParsesAllValueKinds) {
  absl::StatusOr<Value> v = Parse(
      R"( {"a": [1, -2, 3.5, 1e3, true, false, null], "b": {"c": "d"}} )");
  ASSERT_TRUE(v.ok()) << v.status();
  ASSERT_TRUE(v->is_object());
  const Value* a = v->Find("a");
  ASSERT_NE(a, nullptr);
  ASSERT_EQ(a->array().size(), 7u);
  EXPECT_TRUE(a->array()[0].is_integer());
  EXPECT_EQ(a->array()[0].int_value(), 1);
  EXPECT_EQ(a->array()[1].int_value(), -2);
  EXPECT_FALSE(a->array()[2].is_integer());
  EXPECT_EQ(a->array()[2].number(), 3.5);
  EXPECT_EQ(a->array()[3].number(), 1000.0);
  EXPECT_TRUE(a->array()[4].bool_value());
  EXPECT_FALSE(a->array()[5].bool_value());
  EXPECT_TRUE(a->array()[6].is_null());
  EXPECT_EQ(v->Find("b")->Find("c")->string_value(), "d");
  EXPECT_EQ(v->Find("missing"), nullptr);
}

TEST(JsonTest, KeepsKeyOrderAndLastDuplicateWins) {
  absl::StatusOr<Value> v = Parse(R"({"z":1,"a":2,"z":3})");
  ASSERT_TRUE(v.ok());
  ASSERT_EQ(v->object().size(), 2u);
  EXPECT_EQ(v->object()[0].first, "z");
  EXPECT_EQ(v->object()[0].second.int_value(), 3);
  EXPECT_EQ(Write(*v), R"({"z":3,"a":2})");
}

TEST(JsonTest, LargeIntegersStayExact) {
  absl::StatusOr<Value> v = Parse(
      "[9223372036854775807, -9223372036854775808, "
      "18446744073709551615, 18446744073709551616]");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->array()[0].int_value(), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(v->array()[1].int_value(), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(v->array()[2].uint_value(), std::numeric_limits<uint64_t>::max());
  EXPECT_FALSE(v->array()[3].is_integer());
  EXPECT_EQ(Write(v->array()[2]), "18446744073709551615");
}

TEST(JsonTest, ErrorsGiveLineAndColumn) {
  struct Case {
    const char* text;
    const char* message;
  };
  const Case cases[] = {
      {"{\n  \"a\": 1,\n  \"b\" 2\n}", "line 3, column 7: expected ':'"},
      {"[1, 2", "line 1, column 6: unterminated array"},
      {"[1 2]", "line 1, column 4: expected ',' or ']'"},
      {"\"abc", "line 1, column 5: unterminated string"},
      {"tru", "line 1, column 1: invalid literal"},
      {"01", "line 1, column 2: unexpected text after"},
      {"-", "line 1, column 2: truncated number"},
      {"1.", "line 1, column 3: expected digits after '.'"},
      {"\"\\x\"", "line 1, column 3: invalid escape"},
      {"\"\\ud800\"", "high surrogate not followed"},
      {"\"\\udc00\"", "unpaired low surrogate"},
      {"\"a\tb\"", "control character in string"},
      {"", "line 1, column 1: unexpected end of input"},
      {"{\"a\":1,}", "expected a string key"},
      {"@", "unexpected character '@'"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<Value> v = Parse(c.text);
    ASSERT_FALSE(v.ok()) << c.text;
    EXPECT_EQ(v.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(v.status().message().find(c.message), std::string::npos)
        << c.text << " -> " << v.status().message();
  }
}

TEST(JsonTest, DepthLimit) {
  std::string deep(300, '[');
  deep += std::string(300, ']');
  absl::StatusOr<Value> v = Parse(deep);
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.status().message().find("nesting deeper"), std::string::npos);
  ParseOptions options;
  options.max_depth = 400;
  EXPECT_TRUE(Parse(deep, options).ok());
}

TEST(JsonTest, EscapesStrings) {
  const std::string s = std::string("q\"b\\n\n\r\t\b\f") + '\x01' + '\x1f' +
                        "/\xc3\xa9\xf0\x9f\x98\x80";
  const std::string text = Write(Value::String(s));
  EXPECT_EQ(text,
            "\"q\\\"b\\\\n\\n\\r\\t\\b\\f\\u0001\\u001f/\xc3\xa9"
            "\xf0\x9f\x98\x80\"");
  absl::StatusOr<Value> back = Parse(text);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->string_value(), s);
}

TEST(JsonTest, DecodesUnicodeEscapes) {
  absl::StatusOr<Value> v = Parse(R"("\u00e9\u20ac\ud83d\ude00\/")");
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->string_value(), "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80/");
}

TEST(JsonTest, FloatsRoundTripShortest) {
  EXPECT_EQ(Write(Value::Float(0.1f)), "0.1");
  EXPECT_EQ(Write(Value::Double(0.1)), "0.1");
  EXPECT_EQ(Write(Value::Float(1.0f / 3.0f)), "0.33333334");
  EXPECT_EQ(Write(Value::Double(-0.0)), "-0");
  EXPECT_EQ(Write(Value::Double(std::nan(""))), "null");
  EXPECT_EQ(Write(Value::Float(INFINITY)), "null");

  std::mt19937_64 rng(1234);
  for (int i = 0; i < 20000; ++i) {
    const uint64_t bits = rng();
    double d;
    std::memcpy(&d, &bits, 8);
    const uint32_t fbits = static_cast<uint32_t>(bits >> 17);
    float f;
    std::memcpy(&f, &fbits, 4);
    if (std::isfinite(d)) {
      absl::StatusOr<Value> back = Parse(Write(Value::Double(d)));
      ASSERT_TRUE(back.ok());
      ASSERT_EQ(back->number(), d) << Write(Value::Double(d));
    }
    if (std::isfinite(f)) {
      absl::StatusOr<Value> back = Parse(Write(Value::Float(f)));
      ASSERT_TRUE(back.ok());
      ASSERT_EQ(static_cast<float>(back->number()), f)
          << Write(Value::Float(f));
    }
  }
}

TEST(JsonTest, PrettyWriting) {
  Value v = Value::MakeObject();
  v.Set("a", Value::Int(1));
  Value arr;
  arr.Append(Value::Bool(true));
  arr.Append(Value::Null());
  v.Set("b", arr);
  v.Set("c", Value::MakeArray());
  WriteOptions options;
  options.indent = 2;
  EXPECT_EQ(Write(v, options),
            "{\n  \"a\": 1,\n  \"b\": [\n    true,\n    null\n  ],\n"
            "  \"c\": []\n}");
  absl::StatusOr<Value> back = Parse(Write(v, options));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, v);
}

TEST(JsonTest, EqualityComparesNumbersByValue) {
  EXPECT_EQ(Value::Int(1), Value::Double(1.0));
  EXPECT_NE(Value::Int(1), Value::Int(2));
  EXPECT_NE(Value::String("1"), Value::Int(1));
}

std::string ReadGolden(const std::string& name) {
  std::ifstream in(std::string(std::getenv("TEST_SRCDIR")) +
                       "/ember/tests/fixtures/burn/golden/" + name,
                   std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

const char* const kGoldens[] = {
    "cnn-mnist-f16-burn0.11.0.json", "connect4-mlp-f32-burn0.16.1.json",
    "lenet-mnist-f16-burn0.18.0.json", "lstm-f16-burn0.17.0.json",
    "mlp-mnist-f16-burn0.12.1.json"};

// The golden files written by Python parse, and write back to text that
// parses to the same values (every float reads back exactly).
TEST(JsonTest, GoldenFilesRoundTrip) {
  for (const char* name : kGoldens) {
    const std::string text = ReadGolden(name);
    ASSERT_FALSE(text.empty()) << name;
    absl::StatusOr<Value> doc = Parse(text);
    ASSERT_TRUE(doc.ok()) << name << ": " << doc.status();
    ASSERT_NE(doc->Find("outputs"), nullptr) << name;
    EXPECT_GT(doc->Find("outputs")->array().size(), 0u) << name;
    absl::StatusOr<Value> again = Parse(Write(*doc));
    ASSERT_TRUE(again.ok()) << name;
    EXPECT_EQ(*again, *doc) << name;
  }
}

// Mutated JSON never crashes the parser: it returns a value or an error.
TEST(JsonTest, MutatedTextNeverCrashes) {
  const std::string text = ReadGolden("lstm-f16-burn0.17.0.json");
  std::mt19937_64 rng(42);
  const char kBytes[] = "{}[],:\"\\-+.eE0123456789tfnu \n\x01\xff";
  int ok = 0, failed = 0;
  for (int i = 0; i < 2000; ++i) {
    std::string m = text;
    const int edits = 1 + rng() % 4;
    for (int e = 0; e < edits; ++e) {
      const size_t pos = rng() % m.size();
      if (rng() % 3 == 0) {
        m.resize(pos);
        if (m.empty()) m = "[";
      } else {
        m[pos] = kBytes[rng() % (sizeof(kBytes) - 1)];
      }
    }
    (Parse(m).ok() ? ok : failed)++;
  }
  EXPECT_GT(failed, 0);
  std::printf("parsed %d, refused %d mutated texts\n", ok, failed);
}

}  // namespace
}  // namespace ember::json
