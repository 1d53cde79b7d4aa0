#include "common/json.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <system_error>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace ember::json {

Value Value::Bool(bool v) {
  Value out;
  out.type_ = Type::kBool;
  out.bool_ = v;
  return out;
}

Value Value::Int(int64_t v) {
  Value out;
  out.type_ = Type::kNumber;
  out.kind_ = NumberKind::kInt;
  out.int_ = v;
  return out;
}

Value Value::Uint(uint64_t v) {
  if (v <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return Int(static_cast<int64_t>(v));
  }
  Value out;
  out.type_ = Type::kNumber;
  out.kind_ = NumberKind::kUint;
  out.uint_ = v;
  return out;
}

Value Value::Double(double v) {
  Value out;
  out.type_ = Type::kNumber;
  out.kind_ = NumberKind::kDouble;
  out.double_ = v;
  return out;
}

Value Value::Float(float v) {
  Value out;
  out.type_ = Type::kNumber;
  out.kind_ = NumberKind::kFloat;
  out.double_ = v;
  return out;
}

Value Value::String(std::string v) {
  Value out;
  out.type_ = Type::kString;
  out.string_ = std::move(v);
  return out;
}

Value Value::MakeArray(Array items) {
  Value out;
  out.type_ = Type::kArray;
  out.array_ = std::move(items);
  return out;
}

Value Value::MakeObject(Object members) {
  Value out;
  out.type_ = Type::kObject;
  out.object_ = std::move(members);
  return out;
}

double Value::number() const {
  switch (kind_) {
    case NumberKind::kInt:
      return static_cast<double>(int_);
    case NumberKind::kUint:
      return static_cast<double>(uint_);
    default:
      return double_;
  }
}

int64_t Value::int_value() const {
  switch (kind_) {
    case NumberKind::kInt:
      return int_;
    case NumberKind::kUint:
      return static_cast<int64_t>(uint_);
    default:
      if (!(std::fabs(double_) < 9.2e18)) return 0;
      return static_cast<int64_t>(double_);
  }
}

uint64_t Value::uint_value() const {
  switch (kind_) {
    case NumberKind::kInt:
      return static_cast<uint64_t>(int_);
    case NumberKind::kUint:
      return uint_;
    default:
      if (!(double_ >= 0 && double_ < 1.8e19)) return 0;
      return static_cast<uint64_t>(double_);
  }
}

const Value* Value::Find(absl::string_view key) const {
  if (type_ != Type::kObject) return nullptr;
  for (const auto& [k, v] : object_) {
    if (k == key) return &v;
  }
  return nullptr;
}

void Value::Set(absl::string_view key, Value value) {
  if (type_ == Type::kNull) type_ = Type::kObject;
  for (auto& [k, v] : object_) {
    if (k == key) {
      v = std::move(value);
      return;
    }
  }
  object_.emplace_back(std::string(key), std::move(value));
}

void Value::Append(Value value) {
  if (type_ == Type::kNull) type_ = Type::kArray;
  array_.push_back(std::move(value));
}

bool Value::operator==(const Value& other) const {
  if (type_ != other.type_) return false;
  switch (type_) {
    case Type::kNull:
      return true;
    case Type::kBool:
      return bool_ == other.bool_;
    case Type::kNumber:
      if (is_integer() && other.is_integer()) {
        return kind_ == other.kind_ &&
               (kind_ == NumberKind::kInt ? int_ == other.int_
                                          : uint_ == other.uint_);
      }
      return number() == other.number();
    case Type::kString:
      return string_ == other.string_;
    case Type::kArray:
      return array_ == other.array_;
    case Type::kObject:
      return object_ == other.object_;
  }
  return false;
}

namespace {

class Parser {
 public:
  Parser(absl::string_view text, const ParseOptions& options)
      : text_(text), options_(options) {}

  absl::StatusOr<Value> ParseDocument() {
    SkipSpace();
    Value v;
    absl::Status s = ParseValue(0, &v);
    if (!s.ok()) return s;
    SkipSpace();
    if (pos_ != text_.size()) {
      return Error("unexpected text after the JSON value");
    }
    return v;
  }

 private:
  absl::Status Error(absl::string_view what) const {
    int line = 1;
    size_t line_start = 0;
    for (size_t i = 0; i < pos_ && i < text_.size(); ++i) {
      if (text_[i] == '\n') {
        ++line;
        line_start = i + 1;
      }
    }
    return absl::InvalidArgumentError(absl::StrCat(
        "line ", line, ", column ", pos_ - line_start + 1, ": ", what));
  }

  void SkipSpace() {
    while (pos_ < text_.size()) {
      const char c = text_[pos_];
      if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
      ++pos_;
    }
  }

  bool Consume(absl::string_view word) {
    if (text_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }

  absl::Status ParseValue(int depth, Value* out) {
    if (pos_ >= text_.size()) return Error("unexpected end of input");
    const char c = text_[pos_];
    switch (c) {
      case '{':
        return ParseObject(depth, out);
      case '[':
        return ParseArray(depth, out);
      case '"': {
        std::string s;
        absl::Status st = ParseString(&s);
        if (!st.ok()) return st;
        *out = Value::String(std::move(s));
        return absl::OkStatus();
      }
      case 't':
        if (!Consume("true")) return Error("invalid literal (expected true)");
        *out = Value::Bool(true);
        return absl::OkStatus();
      case 'f':
        if (!Consume("false")) return Error("invalid literal (expected false)");
        *out = Value::Bool(false);
        return absl::OkStatus();
      case 'n':
        if (!Consume("null")) return Error("invalid literal (expected null)");
        *out = Value::Null();
        return absl::OkStatus();
      default:
        if (c == '-' || (c >= '0' && c <= '9')) return ParseNumber(out);
        return Error(absl::StrCat("unexpected character '",
                                  absl::string_view(&c, 1),
                                  "' where a value should start"));
    }
  }

  absl::Status ParseObject(int depth, Value* out) {
    if (depth >= options_.max_depth) {
      return Error(absl::StrCat("nesting deeper than ", options_.max_depth));
    }
    ++pos_;  // '{'
    Value obj = Value::MakeObject();
    SkipSpace();
    if (pos_ < text_.size() && text_[pos_] == '}') {
      ++pos_;
      *out = std::move(obj);
      return absl::OkStatus();
    }
    while (true) {
      SkipSpace();
      if (pos_ >= text_.size() || text_[pos_] != '"') {
        return Error("expected a string key in object");
      }
      std::string key;
      absl::Status st = ParseString(&key);
      if (!st.ok()) return st;
      SkipSpace();
      if (pos_ >= text_.size() || text_[pos_] != ':') {
        return Error(absl::StrCat("expected ':' after key \"", key, "\""));
      }
      ++pos_;
      SkipSpace();
      Value v;
      st = ParseValue(depth + 1, &v);
      if (!st.ok()) return st;
      obj.Set(key, std::move(v));
      SkipSpace();
      if (pos_ >= text_.size()) return Error("unterminated object");
      if (text_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (text_[pos_] == '}') {
        ++pos_;
        *out = std::move(obj);
        return absl::OkStatus();
      }
      return Error("expected ',' or '}' in object");
    }
  }

  absl::Status ParseArray(int depth, Value* out) {
    if (depth >= options_.max_depth) {
      return Error(absl::StrCat("nesting deeper than ", options_.max_depth));
    }
    ++pos_;  // '['
    Value arr = Value::MakeArray();
    SkipSpace();
    if (pos_ < text_.size() && text_[pos_] == ']') {
      ++pos_;
      *out = std::move(arr);
      return absl::OkStatus();
    }
    while (true) {
      SkipSpace();
      Value v;
      absl::Status st = ParseValue(depth + 1, &v);
      if (!st.ok()) return st;
      arr.mutable_array().push_back(std::move(v));
      SkipSpace();
      if (pos_ >= text_.size()) return Error("unterminated array");
      if (text_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (text_[pos_] == ']') {
        ++pos_;
        *out = std::move(arr);
        return absl::OkStatus();
      }
      return Error("expected ',' or ']' in array");
    }
  }

  absl::Status ParseHex4(uint32_t* out) {
    if (text_.size() - pos_ < 4) return Error("truncated \\u escape");
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = text_[pos_ + i];
      v <<= 4;
      if (c >= '0' && c <= '9') {
        v |= c - '0';
      } else if (c >= 'a' && c <= 'f') {
        v |= c - 'a' + 10;
      } else if (c >= 'A' && c <= 'F') {
        v |= c - 'A' + 10;
      } else {
        return Error("invalid hex digit in \\u escape");
      }
    }
    pos_ += 4;
    *out = v;
    return absl::OkStatus();
  }

  static void AppendUtf8(uint32_t cp, std::string* out) {
    if (cp < 0x80) {
      out->push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }

  absl::Status ParseString(std::string* out) {
    ++pos_;  // opening quote
    while (true) {
      if (pos_ >= text_.size()) return Error("unterminated string");
      const char c = text_[pos_];
      if (c == '"') {
        ++pos_;
        return absl::OkStatus();
      }
      if (static_cast<unsigned char>(c) < 0x20) {
        return Error("control character in string (must be escaped)");
      }
      if (c != '\\') {
        out->push_back(c);
        ++pos_;
        continue;
      }
      ++pos_;
      if (pos_ >= text_.size()) return Error("unterminated escape");
      const char e = text_[pos_++];
      switch (e) {
        case '"':
          out->push_back('"');
          break;
        case '\\':
          out->push_back('\\');
          break;
        case '/':
          out->push_back('/');
          break;
        case 'b':
          out->push_back('\b');
          break;
        case 'f':
          out->push_back('\f');
          break;
        case 'n':
          out->push_back('\n');
          break;
        case 'r':
          out->push_back('\r');
          break;
        case 't':
          out->push_back('\t');
          break;
        case 'u': {
          uint32_t cp;
          absl::Status st = ParseHex4(&cp);
          if (!st.ok()) return st;
          if (cp >= 0xDC00 && cp <= 0xDFFF) {
            return Error("unpaired low surrogate in \\u escape");
          }
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (!Consume("\\u")) {
              return Error("high surrogate not followed by \\u low surrogate");
            }
            uint32_t low;
            st = ParseHex4(&low);
            if (!st.ok()) return st;
            if (low < 0xDC00 || low > 0xDFFF) {
              return Error("high surrogate not followed by a low surrogate");
            }
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          }
          AppendUtf8(cp, out);
          break;
        }
        default:
          --pos_;
          return Error(absl::StrCat("invalid escape '\\",
                                    absl::string_view(&e, 1), "'"));
      }
    }
  }

  absl::Status ParseNumber(Value* out) {
    const size_t start = pos_;
    if (text_[pos_] == '-') ++pos_;
    auto digits = [&]() {
      const size_t s = pos_;
      while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') {
        ++pos_;
      }
      return pos_ - s;
    };
    if (pos_ >= text_.size()) return Error("truncated number");
    if (text_[pos_] == '0') {
      ++pos_;
    } else if (digits() == 0) {
      return Error("invalid number");
    }
    bool integral = true;
    if (pos_ < text_.size() && text_[pos_] == '.') {
      ++pos_;
      integral = false;
      if (digits() == 0) return Error("expected digits after '.'");
    }
    if (pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
      ++pos_;
      integral = false;
      if (pos_ < text_.size() && (text_[pos_] == '+' || text_[pos_] == '-')) {
        ++pos_;
      }
      if (digits() == 0) return Error("expected digits in exponent");
    }
    const char* first = text_.data() + start;
    const char* last = text_.data() + pos_;
    if (integral) {
      if (*first == '-') {
        int64_t v;
        auto [p, ec] = std::from_chars(first, last, v);
        if (ec == std::errc() && p == last) {
          *out = Value::Int(v);
          return absl::OkStatus();
        }
      } else {
        uint64_t v;
        auto [p, ec] = std::from_chars(first, last, v);
        if (ec == std::errc() && p == last) {
          *out = Value::Uint(v);
          return absl::OkStatus();
        }
      }
      // Too large for 64 bits: fall through to a double.
    }
    double d;
    auto [p, ec] = std::from_chars(first, last, d);
    if (ec == std::errc::result_out_of_range) {
      // Overflow gives infinity and underflow zero, like strtod.
      d = std::strtod(std::string(first, last).c_str(), nullptr);
    } else if (ec != std::errc() || p != last) {
      pos_ = start;
      return Error("invalid number");
    }
    *out = Value::Double(d);
    return absl::OkStatus();
  }

  absl::string_view text_;
  ParseOptions options_;
  size_t pos_ = 0;
};

void WriteValue(const Value& v, const WriteOptions& options, int level,
                std::string* out);

void Newline(const WriteOptions& options, int level, std::string* out) {
  if (options.indent <= 0) return;
  out->push_back('\n');
  out->append(static_cast<size_t>(options.indent * level), ' ');
}

void WriteNumber(const Value& v, std::string* out) {
  switch (v.number_kind()) {
    case Value::NumberKind::kInt:
      absl::StrAppend(out, v.int_value());
      return;
    case Value::NumberKind::kUint:
      absl::StrAppend(out, v.uint_value());
      return;
    case Value::NumberKind::kDouble:
      if (!std::isfinite(v.number())) {
        out->append("null");
      } else {
        out->append(FormatDouble(v.number()));
      }
      return;
    case Value::NumberKind::kFloat:
      if (!std::isfinite(v.number())) {
        out->append("null");
      } else {
        out->append(FormatFloat(static_cast<float>(v.number())));
      }
      return;
  }
}

void WriteValue(const Value& v, const WriteOptions& options, int level,
                std::string* out) {
  switch (v.type()) {
    case Value::Type::kNull:
      out->append("null");
      return;
    case Value::Type::kBool:
      out->append(v.bool_value() ? "true" : "false");
      return;
    case Value::Type::kNumber:
      WriteNumber(v, out);
      return;
    case Value::Type::kString:
      AppendQuoted(v.string_value(), out);
      return;
    case Value::Type::kArray: {
      out->push_back('[');
      bool first = true;
      for (const Value& item : v.array()) {
        if (!first) out->push_back(',');
        first = false;
        Newline(options, level + 1, out);
        WriteValue(item, options, level + 1, out);
      }
      if (!v.array().empty()) Newline(options, level, out);
      out->push_back(']');
      return;
    }
    case Value::Type::kObject: {
      out->push_back('{');
      bool first = true;
      for (const auto& [key, item] : v.object()) {
        if (!first) out->push_back(',');
        first = false;
        Newline(options, level + 1, out);
        AppendQuoted(key, out);
        out->append(options.indent > 0 ? ": " : ":");
        WriteValue(item, options, level + 1, out);
      }
      if (!v.object().empty()) Newline(options, level, out);
      out->push_back('}');
      return;
    }
  }
}

}  // namespace

absl::StatusOr<Value> Parse(absl::string_view text,
                            const ParseOptions& options) {
  return Parser(text, options).ParseDocument();
}

std::string Write(const Value& value, const WriteOptions& options) {
  std::string out;
  WriteValue(value, options, 0, &out);
  return out;
}

void AppendQuoted(absl::string_view s, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  for (const char c : s) {
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      case '\b':
        out->append("\\b");
        break;
      case '\f':
        out->append("\\f");
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out->append("\\u00");
          out->push_back(kHex[(c >> 4) & 0xF]);
          out->push_back(kHex[c & 0xF]);
        } else {
          out->push_back(c);
        }
    }
  }
  out->push_back('"');
}

std::string FormatDouble(double v) {
  char buf[64];
  auto [p, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  return std::string(buf, p);
}

std::string FormatFloat(float v) {
  char buf[64];
  auto [p, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  return std::string(buf, p);
}

}  // namespace ember::json
