// A small JSON library for Ember: a value type that keeps object keys in
// insertion order, a parser whose errors give line and column, and a writer
// with correct string escaping and shortest round-trip number formatting
// (a float written with Value::Float reads back as the same f32; a double
// as the same f64).
//
//   EMBER_ASSIGN_OR_RETURN(json::Value doc, json::Parse(text));
//   const json::Value* outputs = doc.Find("outputs");
//   if (outputs == nullptr || !outputs->is_array()) { ... }
//   for (const json::Value& v : outputs->array()) sum += v.number();
//
//   json::Value out = json::Value::MakeObject();
//   out.Set("name", json::Value::String("lenet"));
//   out.Set("score", json::Value::Float(0.25f));
//   std::string text = json::Write(out);  // {"name":"lenet","score":0.25}
//
// Values are plain data: copies are deep; not thread-safe to mutate while
// shared, safe to read from many threads.

#ifndef EMBER_COMMON_JSON_H_
#define EMBER_COMMON_JSON_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ember::json {

class Value {
 public:
  enum class Type { kNull, kBool, kNumber, kString, kArray, kObject };
  // How a number is held, which decides how it is written.
  enum class NumberKind {
    kInt,     // int64_t, written as an integer
    kUint,    // uint64_t above INT64_MAX, written as an integer
    kDouble,  // written in the shortest form that reads back as this f64
    kFloat,   // written in the shortest form that reads back as this f32
  };
  using Array = std::vector<Value>;
  using Object = std::vector<std::pair<std::string, Value>>;  // in order

  Value() = default;  // null
  static Value Null() { return Value(); }
  static Value Bool(bool v);
  static Value Int(int64_t v);
  static Value Uint(uint64_t v);
  static Value Double(double v);
  static Value Float(float v);
  static Value String(std::string v);
  static Value MakeArray(Array items = {});
  static Value MakeObject(Object members = {});

  Type type() const { return type_; }
  bool is_null() const { return type_ == Type::kNull; }
  bool is_bool() const { return type_ == Type::kBool; }
  bool is_number() const { return type_ == Type::kNumber; }
  bool is_string() const { return type_ == Type::kString; }
  bool is_array() const { return type_ == Type::kArray; }
  bool is_object() const { return type_ == Type::kObject; }
  // True for numbers held exactly as integers (kInt or kUint).
  bool is_integer() const {
    return type_ == Type::kNumber &&
           (kind_ == NumberKind::kInt || kind_ == NumberKind::kUint);
  }

  bool bool_value() const { return bool_; }
  NumberKind number_kind() const { return kind_; }
  // Any number as a double (integers beyond 2^53 round).
  double number() const;
  // Integers as held; other numbers truncate toward zero (check
  // is_integer() first when that matters).
  int64_t int_value() const;
  uint64_t uint_value() const;
  const std::string& string_value() const { return string_; }
  const Array& array() const { return array_; }
  Array& mutable_array() { return array_; }
  const Object& object() const { return object_; }
  Object& mutable_object() { return object_; }

  // Object lookup; nullptr when this is not an object or lacks `key`.
  const Value* Find(absl::string_view key) const;
  // Sets `key` (replacing an existing member in place, else appending).
  // Turns a null value into an object first.
  void Set(absl::string_view key, Value value);
  // Appends to an array (turns a null value into an array first).
  void Append(Value value);

  // Deep equality; numbers compare by value (1 == 1.0).
  bool operator==(const Value& other) const;
  bool operator!=(const Value& other) const { return !(*this == other); }

 private:
  Type type_ = Type::kNull;
  NumberKind kind_ = NumberKind::kInt;
  bool bool_ = false;
  int64_t int_ = 0;
  uint64_t uint_ = 0;
  double double_ = 0;
  std::string string_;
  Array array_;
  Object object_;
};

struct ParseOptions {
  // Deepest nesting of arrays and objects accepted (protects the stack).
  int max_depth = 256;
};

// Parses one JSON text (RFC 8259): whitespace around a single value, nothing
// else. Integers that fit int64/uint64 are kept exactly; other numbers are
// doubles. Duplicate object keys: the last one wins. Errors are
// InvalidArgument "line L, column C: <what is wrong>" (1-based; columns count
// bytes).
absl::StatusOr<Value> Parse(absl::string_view text,
                            const ParseOptions& options = ParseOptions());

struct WriteOptions {
  // 0 writes compact one-line JSON; N > 0 puts each member and element on
  // its own line indented by N spaces per level.
  int indent = 0;
};

// Writes `value` as JSON text. Strings are escaped per RFC 8259 (quote,
// backslash and control characters; other bytes pass through as UTF-8).
// JSON has no NaN or infinity: such numbers are written as null.
std::string Write(const Value& value,
                  const WriteOptions& options = WriteOptions());
// Appends `s` as a quoted, escaped JSON string to `out`.
void AppendQuoted(absl::string_view s, std::string* out);
// Shortest text that reads back as exactly `v` (no NaN/inf handling).
std::string FormatDouble(double v);
std::string FormatFloat(float v);

}  // namespace ember::json

#endif  // EMBER_COMMON_JSON_H_
