#include "recorder/mpk_reader.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "common/status_macros.h"
#include "recorder/record.h"
#include "recorder/tensor_encoding.h"

namespace ember::recorder::internal {
namespace {

// ---------------------------------------------------------------------------
// The MessagePack reader.
//
// A small recursive-descent reader rather than msgpack-cxx's parser: it
// checks every length a header claims against the bytes that remain before
// reserving anything, enforces a nesting limit, knows the record path and
// byte offset of each value for error messages, hands out bin payloads as
// views into the buffer, and packs old `{value, shape}` number arrays
// straight into element bytes without building a node per number. It never
// throws.

enum class Kind {
  kNil,
  kBool,
  kUint,
  kNegInt,
  kFloat32,
  kFloat64,
  kString,
  kBinary,
  kArray,
  kMap,
};

absl::string_view KindName(Kind kind) {
  switch (kind) {
    case Kind::kNil:
      return "nil";
    case Kind::kBool:
      return "bool";
    case Kind::kUint:
      return "unsigned int";
    case Kind::kNegInt:
      return "negative int";
    case Kind::kFloat32:
      return "float32";
    case Kind::kFloat64:
      return "float64";
    case Kind::kString:
      return "string";
    case Kind::kBinary:
      return "bin";
    case Kind::kArray:
      return "array";
    case Kind::kMap:
      return "map";
  }
  return "?";
}

// One decoded header. For strings and bin, `data`/`length` is the payload;
// for arrays and maps `length` is the entry count.
struct Header {
  Kind kind = Kind::kNil;
  bool bool_value = false;
  uint64_t uint_value = 0;
  int64_t int_value = 0;
  double float_value = 0;
  const char* data = nullptr;
  uint64_t length = 0;
};

// One element of an old `{value, shape}` array. These arrays hold one
// MessagePack number per tensor element, so they get a decoder of their own
// that returns no status and builds no header.
struct Number {
  Kind kind = Kind::kUint;
  uint64_t uint_value = 0;  // kUint, and kBool as 0 or 1
  int64_t int_value = 0;    // kNegInt
  double float_value = 0;   // kFloat32, kFloat64

  int64_t Signed() const {
    return kind == Kind::kNegInt ? int_value : static_cast<int64_t>(uint_value);
  }
};

template <typename T>
T LoadBigEndian(const char* p) {
  T v = 0;
  for (size_t i = 0; i < sizeof(T); ++i) {
    v = static_cast<T>((v << 8) | static_cast<uint8_t>(p[i]));
  }
  return v;
}

// Decodes the number at `p` (before `end`). Returns the bytes it takes, or 0
// when what is there is not a complete int, float or bool.
inline size_t DecodeNumber(const char* p, const char* end, Number* n) {
  if (p >= end) return 0;
  const uint8_t m = static_cast<uint8_t>(*p);
  const size_t left = static_cast<size_t>(end - p);
  if (m <= 0x7f) {
    n->kind = Kind::kUint;
    n->uint_value = m;
    return 1;
  }
  if (m >= 0xe0) {
    n->kind = Kind::kNegInt;
    n->int_value = static_cast<int8_t>(m);
    return 1;
  }
  switch (m) {
    case 0xc2:
    case 0xc3:
      n->kind = Kind::kBool;
      n->uint_value = m == 0xc3;
      return 1;
    case 0xca: {
      if (left < 5) return 0;
      const uint32_t bits = LoadBigEndian<uint32_t>(p + 1);
      float f;
      std::memcpy(&f, &bits, 4);
      n->kind = Kind::kFloat32;
      n->float_value = f;
      return 5;
    }
    case 0xcb: {
      if (left < 9) return 0;
      const uint64_t bits = LoadBigEndian<uint64_t>(p + 1);
      std::memcpy(&n->float_value, &bits, 8);
      n->kind = Kind::kFloat64;
      return 9;
    }
    case 0xcc:
    case 0xcd:
    case 0xce:
    case 0xcf: {
      const size_t width = size_t{1} << (m - 0xcc);
      if (left < 1 + width) return 0;
      uint64_t v = 0;
      for (size_t i = 0; i < width; ++i) {
        v = (v << 8) | static_cast<uint8_t>(p[1 + i]);
      }
      n->kind = Kind::kUint;
      n->uint_value = v;
      return 1 + width;
    }
    case 0xd0:
    case 0xd1:
    case 0xd2:
    case 0xd3: {
      const size_t width = size_t{1} << (m - 0xd0);
      if (left < 1 + width) return 0;
      uint64_t v = 0;
      for (size_t i = 0; i < width; ++i) {
        v = (v << 8) | static_cast<uint8_t>(p[1 + i]);
      }
      const int shift = 64 - 8 * static_cast<int>(width);
      const int64_t sv = static_cast<int64_t>(v << shift) >> shift;
      if (sv >= 0) {
        n->kind = Kind::kUint;
        n->uint_value = static_cast<uint64_t>(sv);
      } else {
        n->kind = Kind::kNegInt;
        n->int_value = sv;
      }
      return 1 + width;
    }
    default:
      return 0;
  }
}

// One pass over one payload: construct, call ReadRecord once. Not
// thread-safe (it keeps the read position and current record path).
class Reader {
 public:
  Reader(absl::string_view bytes, std::shared_ptr<const void> owner,
         absl::string_view source, const ReaderLimits& limits)
      : buffer_(std::move(owner)),
        data_(bytes.data()),
        size_(bytes.size()),
        source_(source),
        max_depth_(limits.max_depth),
        max_values_(limits.max_values) {}

  absl::StatusOr<Record> ReadRecord();

 private:
  // Errors name the file, the record path and the offset.
  absl::Status Error(absl::string_view what) const {
    return absl::InvalidArgumentError(
        absl::StrCat(source_, ": ", path_.empty() ? "<top>" : path_, " (byte ",
                     pos_, "): ", what));
  }

  absl::StatusOr<Header> ReadHeader();
  absl::Status Need(uint64_t n) const {
    if (n > size_ - pos_) {
      return Error(absl::StrCat("truncated: need ", n, " more bytes, ",
                                size_ - pos_, " left"));
    }
    return absl::OkStatus();
  }
  absl::Status Skip(int depth);
  absl::StatusOr<std::string> ReadKey();
  absl::StatusOr<Value> ReadValue(int depth);
  absl::StatusOr<Value> ReadMap(const Header& header, int depth);
  absl::StatusOr<Value> ReadParam(uint64_t length, int depth);
  absl::StatusOr<Tensor> ReadBody(int depth);
  absl::StatusOr<std::vector<uint64_t>> ReadShape();
  absl::StatusOr<uint32_t> ReadDType(DType* dtype);
  absl::Status ReadByteArray(const Header& header, Tensor* tensor);
  absl::Status ReadValueArray(Tensor* tensor);
  absl::StatusOr<DType> ValueArrayDType(bool any_f32, bool any_f64,
                                        bool any_bool, bool any_int,
                                        bool any_neg, uint64_t max_uint,
                                        int64_t min_int) const;
  absl::Status ReadMetadataHints(uint64_t metadata_pos);

  void PushKey(absl::string_view key) {
    if (!path_.empty()) path_ += '.';
    path_.append(key.data(), key.size());
  }

  std::shared_ptr<const void> buffer_;  // keeps data_ alive
  const char* data_;
  uint64_t size_;
  std::string source_;
  int max_depth_;
  uint64_t max_values_;
  uint64_t values_ = 0;  // tree nodes built so far
  uint64_t pos_ = 0;
  std::string path_;
  // From the metadata: how old `{value, shape}` integers are meant.
  bool float_is_half_ = false;
  bool float_is_double_ = false;
  DType int_dtype_ = DType::kI64;
};

absl::StatusOr<Header> Reader::ReadHeader() {
  EMBER_RETURN_IF_ERROR(Need(1));
  const uint8_t m = static_cast<uint8_t>(data_[pos_++]);
  Header h;
  auto fixed = [&](int n) -> absl::Status { return Need(n); };
  auto payload = [&](uint64_t length, Kind kind) -> absl::Status {
    EMBER_RETURN_IF_ERROR(Need(length));
    h.kind = kind;
    h.data = data_ + pos_;
    h.length = length;
    pos_ += length;
    return absl::OkStatus();
  };
  if (m <= 0x7f) {
    h.kind = Kind::kUint;
    h.uint_value = m;
  } else if (m <= 0x8f) {
    h.kind = Kind::kMap;
    h.length = m & 0x0f;
  } else if (m <= 0x9f) {
    h.kind = Kind::kArray;
    h.length = m & 0x0f;
  } else if (m <= 0xbf) {
    EMBER_RETURN_IF_ERROR(payload(m & 0x1f, Kind::kString));
  } else if (m >= 0xe0) {
    h.kind = Kind::kNegInt;
    h.int_value = static_cast<int8_t>(m);
  } else {
    switch (m) {
      case 0xc0:
        h.kind = Kind::kNil;
        break;
      case 0xc2:
      case 0xc3:
        h.kind = Kind::kBool;
        h.bool_value = m == 0xc3;
        break;
      case 0xc4:
      case 0xd9: {
        EMBER_RETURN_IF_ERROR(fixed(1));
        const uint64_t n = static_cast<uint8_t>(data_[pos_++]);
        EMBER_RETURN_IF_ERROR(
            payload(n, m == 0xc4 ? Kind::kBinary : Kind::kString));
        break;
      }
      case 0xc5:
      case 0xda: {
        EMBER_RETURN_IF_ERROR(fixed(2));
        const uint64_t n = LoadBigEndian<uint16_t>(data_ + pos_);
        pos_ += 2;
        EMBER_RETURN_IF_ERROR(
            payload(n, m == 0xc5 ? Kind::kBinary : Kind::kString));
        break;
      }
      case 0xc6:
      case 0xdb: {
        EMBER_RETURN_IF_ERROR(fixed(4));
        const uint64_t n = LoadBigEndian<uint32_t>(data_ + pos_);
        pos_ += 4;
        EMBER_RETURN_IF_ERROR(
            payload(n, m == 0xc6 ? Kind::kBinary : Kind::kString));
        break;
      }
      case 0xca: {
        EMBER_RETURN_IF_ERROR(fixed(4));
        const uint32_t bits = LoadBigEndian<uint32_t>(data_ + pos_);
        pos_ += 4;
        float f;
        std::memcpy(&f, &bits, 4);
        h.kind = Kind::kFloat32;
        h.float_value = f;
        break;
      }
      case 0xcb: {
        EMBER_RETURN_IF_ERROR(fixed(8));
        const uint64_t bits = LoadBigEndian<uint64_t>(data_ + pos_);
        pos_ += 8;
        double d;
        std::memcpy(&d, &bits, 8);
        h.kind = Kind::kFloat64;
        h.float_value = d;
        break;
      }
      case 0xcc:
      case 0xcd:
      case 0xce:
      case 0xcf: {
        const int n = 1 << (m - 0xcc);
        EMBER_RETURN_IF_ERROR(fixed(n));
        uint64_t v = 0;
        for (int i = 0; i < n; ++i) {
          v = (v << 8) | static_cast<uint8_t>(data_[pos_ + i]);
        }
        pos_ += n;
        h.kind = Kind::kUint;
        h.uint_value = v;
        break;
      }
      case 0xd0:
      case 0xd1:
      case 0xd2:
      case 0xd3: {
        const int n = 1 << (m - 0xd0);
        EMBER_RETURN_IF_ERROR(fixed(n));
        uint64_t v = 0;
        for (int i = 0; i < n; ++i) {
          v = (v << 8) | static_cast<uint8_t>(data_[pos_ + i]);
        }
        pos_ += n;
        // Sign-extend from n bytes.
        const int shift = 64 - 8 * n;
        const int64_t s = static_cast<int64_t>(v << shift) >> shift;
        if (s >= 0) {
          h.kind = Kind::kUint;
          h.uint_value = static_cast<uint64_t>(s);
        } else {
          h.kind = Kind::kNegInt;
          h.int_value = s;
        }
        break;
      }
      case 0xdc:
      case 0xde:
        EMBER_RETURN_IF_ERROR(fixed(2));
        h.kind = m == 0xdc ? Kind::kArray : Kind::kMap;
        h.length = LoadBigEndian<uint16_t>(data_ + pos_);
        pos_ += 2;
        break;
      case 0xdd:
      case 0xdf:
        EMBER_RETURN_IF_ERROR(fixed(4));
        h.kind = m == 0xdd ? Kind::kArray : Kind::kMap;
        h.length = LoadBigEndian<uint32_t>(data_ + pos_);
        pos_ += 4;
        break;
      default:
        --pos_;
        return Error(absl::StrCat(
            "unsupported MessagePack marker 0x", absl::Hex(m),
            m == 0xc1 ? " (never used)" : " (extension types are not Burn's)"));
    }
  }
  if (h.kind == Kind::kArray || h.kind == Kind::kMap) {
    // Every element takes at least one byte: refuse counts the remaining
    // bytes cannot hold before anyone reserves memory for them.
    const uint64_t min_bytes = h.kind == Kind::kMap ? 2 * h.length : h.length;
    if (min_bytes > size_ - pos_) {
      return Error(absl::StrCat(KindName(h.kind), " claims ", h.length,
                                " entries but only ", size_ - pos_,
                                " bytes remain"));
    }
  }
  return h;
}

absl::Status Reader::Skip(int depth) {
  if (depth > max_depth_) {
    return absl::ResourceExhaustedError(
        absl::StrCat(source_, ": ", path_, " (byte ", pos_,
                     "): nesting deeper than ", max_depth_, " levels"));
  }
  // Numbers (old tensor bodies hold millions) take the fast path.
  Number number;
  const size_t used = DecodeNumber(data_ + pos_, data_ + size_, &number);
  if (used != 0) {
    pos_ += used;
    return absl::OkStatus();
  }
  EMBER_ASSIGN_OR_RETURN(Header h, ReadHeader());
  if (h.kind == Kind::kArray || h.kind == Kind::kMap) {
    const uint64_t n = h.kind == Kind::kMap ? 2 * h.length : h.length;
    for (uint64_t i = 0; i < n; ++i) {
      EMBER_RETURN_IF_ERROR(Skip(depth + 1));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> Reader::ReadKey() {
  EMBER_ASSIGN_OR_RETURN(Header h, ReadHeader());
  if (h.kind != Kind::kString) {
    return Error(
        absl::StrCat("expected a string map key, found ", KindName(h.kind)));
  }
  return std::string(h.data, h.length);
}

absl::StatusOr<Value> Reader::ReadValue(int depth) {
  if (++values_ > max_values_) {
    return absl::ResourceExhaustedError(absl::StrCat(
        source_, ": ", path_, " (byte ", pos_, "): more than ", max_values_,
        " values outside tensors (DecodeOptions::max_values)"));
  }
  if (depth > max_depth_) {
    return absl::ResourceExhaustedError(
        absl::StrCat(source_, ": ", path_, " (byte ", pos_,
                     "): nesting deeper than ", max_depth_, " levels"));
  }
  EMBER_ASSIGN_OR_RETURN(Header h, ReadHeader());
  switch (h.kind) {
    case Kind::kNil:
      return Value::Nil();
    case Kind::kBool:
      return Value::Bool(h.bool_value);
    case Kind::kUint:
      return Value::Uint(h.uint_value);
    case Kind::kNegInt:
      return Value::Int(h.int_value);
    case Kind::kFloat32:
      return Value::Float32(static_cast<float>(h.float_value));
    case Kind::kFloat64:
      return Value::Float64(h.float_value);
    case Kind::kString:
      return Value::String(std::string(h.data, h.length));
    case Kind::kBinary:
      return Value::Binary(absl::string_view(h.data, h.length), buffer_);
    case Kind::kArray: {
      Array items;
      // Bounded by the remaining bytes (checked in ReadHeader), and capped
      // so a large claim grows with the data actually parsed.
      items.reserve(std::min<uint64_t>(h.length, 4096));
      for (uint64_t i = 0; i < h.length; ++i) {
        const size_t size = path_.size();
        absl::StrAppend(&path_, "[", i, "]");
        EMBER_ASSIGN_OR_RETURN(Value v, ReadValue(depth + 1));
        path_.resize(size);
        items.push_back(std::move(v));
      }
      return Value::MakeArray(std::move(items));
    }
    case Kind::kMap:
      return ReadMap(h, depth);
  }
  return Error("unreachable value kind");
}

absl::StatusOr<Value> Reader::ReadMap(const Header& header, int depth) {
  if (header.length == 2) {
    // A parameter is a map with exactly the keys "id" and "param". A probe
    // that fails falls through to the generic parse, which reports the
    // problem with its exact path.
    const uint64_t start = pos_;
    absl::StatusOr<std::string> k1 = ReadKey();
    absl::StatusOr<std::string> k2 = absl::InternalError("not probed");
    if (k1.ok() && (*k1 == "id" || *k1 == "param") && Skip(depth + 1).ok()) {
      k2 = ReadKey();
    }
    pos_ = start;
    if (k1.ok() && k2.ok() &&
        ((*k1 == "id" && *k2 == "param") || (*k1 == "param" && *k2 == "id"))) {
      return ReadParam(header.length, depth);
    }
  }
  Map entries;
  entries.reserve(std::min<uint64_t>(header.length, 4096));
  for (uint64_t i = 0; i < header.length; ++i) {
    EMBER_ASSIGN_OR_RETURN(std::string key, ReadKey());
    const size_t size = path_.size();
    PushKey(key);
    EMBER_ASSIGN_OR_RETURN(Value v, ReadValue(depth + 1));
    path_.resize(size);
    entries.emplace_back(std::move(key), std::move(v));
  }
  return Value::MakeMap(std::move(entries));
}

absl::StatusOr<Value> Reader::ReadParam(uint64_t length, int depth) {
  std::string id;
  bool have_id = false;
  bool have_body = false;
  bool param_first = false;
  Tensor tensor;
  for (uint64_t i = 0; i < length; ++i) {
    EMBER_ASSIGN_OR_RETURN(std::string key, ReadKey());
    if (key == "id") {
      EMBER_ASSIGN_OR_RETURN(Header h, ReadHeader());
      if (h.kind != Kind::kString) {
        return Error(absl::StrCat("parameter id: expected a string, found ",
                                  KindName(h.kind)));
      }
      id.assign(h.data, h.length);
      have_id = true;
    } else {
      param_first = !have_id;
      const size_t size = path_.size();
      EMBER_ASSIGN_OR_RETURN(tensor, ReadBody(depth + 1));
      path_.resize(size);
      have_body = true;
    }
  }
  if (!have_id || !have_body) {
    return Error("parameter map needs both \"id\" and \"param\"");
  }
  tensor.id = std::move(id);
  if (param_first) tensor.encoding_flags |= kParamFirst;
  return Value::MakeTensor(std::move(tensor));
}

absl::StatusOr<std::vector<uint64_t>> Reader::ReadShape() {
  EMBER_ASSIGN_OR_RETURN(Header h, ReadHeader());
  if (h.kind != Kind::kArray) {
    return Error(absl::StrCat("shape: expected an array of sizes, found ",
                              KindName(h.kind)));
  }
  std::vector<uint64_t> shape;
  shape.reserve(h.length);  // bounded by the remaining bytes
  for (uint64_t i = 0; i < h.length; ++i) {
    EMBER_ASSIGN_OR_RETURN(Header d, ReadHeader());
    if (d.kind != Kind::kUint) {
      return Error(absl::StrCat("shape[", i,
                                "]: expected an unsigned int, "
                                "found ",
                                KindName(d.kind)));
    }
    shape.push_back(d.uint_value);
  }
  return shape;
}

}  // namespace

absl::StatusOr<DType> DTypeFromName(absl::string_view name) {
  static constexpr std::pair<absl::string_view, DType> kNames[] = {
      {"F64", DType::kF64},   {"F32", DType::kF32}, {"F16", DType::kF16},
      {"BF16", DType::kBF16}, {"I64", DType::kI64}, {"I32", DType::kI32},
      {"I16", DType::kI16},   {"I8", DType::kI8},   {"U64", DType::kU64},
      {"U32", DType::kU32},   {"U16", DType::kU16}, {"U8", DType::kU8},
      {"Bool", DType::kBool},
  };
  for (const auto& [n, d] : kNames) {
    if (n == name) return d;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown dtype \"", absl::CEscape(name), "\""));
}

namespace {

// Returns the encoding flags the dtype spelling needs.
absl::StatusOr<uint32_t> Reader::ReadDType(DType* dtype) {
  EMBER_ASSIGN_OR_RETURN(Header h, ReadHeader());
  if (h.kind == Kind::kString) {
    absl::string_view name(h.data, h.length);
    if (name == "Flex32") {
      *dtype = DType::kF32;
      return kFlex32;
    }
    if (name == "QFloat") {
      return Error("quantized (QFloat) tensors are not supported");
    }
    auto parsed = DTypeFromName(name);
    if (!parsed.ok()) return Error(parsed.status().message());
    *dtype = *parsed;
    return uint32_t{kBoolUnit} << kBoolSpellingShift;
  }
  if (h.kind == Kind::kMap && h.length == 1) {
    EMBER_ASSIGN_OR_RETURN(std::string variant, ReadKey());
    if (variant == "QFloat") {
      return Error(
          "quantized (QFloat) tensors are not supported; dequantize the "
          "model in Burn and save it with a float precision setting");
    }
    if (variant != "Bool") {
      return Error(absl::StrCat("unknown dtype variant \"",
                                absl::CEscape(variant), "\""));
    }
    EMBER_ASSIGN_OR_RETURN(Header store, ReadHeader());
    if (store.kind != Kind::kString) {
      return Error(absl::StrCat("Bool dtype: expected a BoolStore name, found ",
                                KindName(store.kind)));
    }
    absl::string_view s(store.data, store.length);
    *dtype = DType::kBool;
    if (s == "Native") return uint32_t{kBoolNative} << kBoolSpellingShift;
    if (s == "U8") return uint32_t{kBoolU8} << kBoolSpellingShift;
    if (s == "U32") return uint32_t{kBoolU32} << kBoolSpellingShift;
    return Error(absl::StrCat("unknown BoolStore \"", absl::CEscape(s), "\""));
  }
  return Error(absl::StrCat(
      "dtype: expected a name or a 1-entry map, found ", KindName(h.kind),
      h.kind == Kind::kMap ? absl::StrCat(" of ", h.length, " entries") : ""));
}

absl::Status Reader::ReadByteArray(const Header& header, Tensor* tensor) {
  auto owned = std::make_shared<std::string>();
  owned->reserve(header.length);  // bounded by the remaining bytes
  for (uint64_t i = 0; i < header.length; ++i) {
    EMBER_ASSIGN_OR_RETURN(Header b, ReadHeader());
    if (b.kind != Kind::kUint || b.uint_value > 255) {
      return Error(absl::StrCat("bytes[", i, "]: expected an int 0-255"));
    }
    owned->push_back(static_cast<char>(b.uint_value));
  }
  tensor->bytes = *owned;
  tensor->storage = std::move(owned);
  tensor->encoding_flags |= kBytesAsArray;
  return absl::OkStatus();
}

// Checked product of the dims; false on overflow.
bool ShapeElements(const std::vector<uint64_t>& shape, uint64_t* out) {
  uint64_t n = 1;
  for (uint64_t d : shape) {
    if (__builtin_mul_overflow(n, d, &n)) return false;
  }
  *out = n;
  return true;
}

template <typename T>
void StoreLE(char* dst, T v) {
  std::memcpy(dst, &v, sizeof(T));  // little-endian hosts only (x86, ARM)
}

absl::Status Reader::ReadValueArray(Tensor* tensor) {
  const uint64_t start_pos = pos_;
  EMBER_ASSIGN_OR_RETURN(Header h, ReadHeader());
  if (h.kind != Kind::kArray) {
    return Error(absl::StrCat("value: expected an array of numbers, found ",
                              KindName(h.kind)));
  }
  const uint64_t count = h.length;
  const char* const end = data_ + size_;

  // Pass 1: classify the elements (they decide the dtype) and find the end.
  bool any_f32 = false, any_f64 = false, any_int = false, any_neg = false,
       any_bool = false;
  uint64_t max_uint = 0;
  int64_t min_int = 0;
  const char* const first = data_ + pos_;
  const char* p = first;
  for (uint64_t i = 0; i < count; ++i) {
    Number n;
    const size_t used = DecodeNumber(p, end, &n);
    if (used == 0) {
      // Not a complete number: let the general reader say what is there.
      pos_ = p - data_;
      EMBER_ASSIGN_OR_RETURN(Header e, ReadHeader());
      return Error(absl::StrCat("value[", i, "]: expected a number, found ",
                                KindName(e.kind)));
    }
    p += used;
    switch (n.kind) {
      case Kind::kFloat32:
        any_f32 = true;
        break;
      case Kind::kFloat64:
        any_f64 = true;
        break;
      case Kind::kUint:
        any_int = true;
        max_uint = std::max(max_uint, n.uint_value);
        break;
      case Kind::kNegInt:
        any_int = any_neg = true;
        min_int = std::min(min_int, n.int_value);
        break;
      default:
        any_bool = true;
        break;
    }
  }
  const int kinds = int{any_f32} + int{any_f64} + int{any_int} + int{any_bool};
  if (kinds > 1) {
    pos_ = start_pos;
    return Error("value: elements mix floats, integers and bools");
  }
  EMBER_ASSIGN_OR_RETURN(const DType dtype,
                         ValueArrayDType(any_f32, any_f64, any_bool, any_int,
                                         any_neg, max_uint, min_int));

  // Pass 2: pack the elements once, little-endian. Pass 1 has checked every
  // element, so decoding cannot fail here.
  const int size = DTypeSize(dtype);
  auto owned = std::make_shared<std::string>();
  owned->resize(count * size);  // count is bounded by the bytes read above
  char* out = owned->data();
  p = first;
  for (uint64_t i = 0; i < count; ++i) {
    Number n;
    p += DecodeNumber(p, end, &n);
    char* dst = out + i * size;
    switch (dtype) {
      case DType::kF32:
        StoreLE(dst, static_cast<float>(n.float_value));
        break;
      case DType::kF64:
        StoreLE(dst, n.float_value);
        break;
      case DType::kF16:
        StoreLE(dst, static_cast<uint16_t>(n.uint_value));
        break;
      case DType::kBool:
        *dst = n.uint_value != 0 ? 1 : 0;
        break;
      case DType::kI16:
        StoreLE(dst, static_cast<int16_t>(n.Signed()));
        break;
      case DType::kI32:
        StoreLE(dst, static_cast<int32_t>(n.Signed()));
        break;
      default:
        StoreLE(dst, n.Signed());
        break;
    }
  }
  pos_ = p - data_;
  tensor->dtype = dtype;
  tensor->bytes = *owned;
  tensor->storage = std::move(owned);
  return absl::OkStatus();
}

absl::StatusOr<DType> Reader::ValueArrayDType(bool any_f32, bool any_f64,
                                              bool any_bool, bool any_int,
                                              bool any_neg, uint64_t max_uint,
                                              int64_t min_int) const {
  // Floats say what they are; integers are f16 bit patterns in a
  // half-precision file when they all fit u16, otherwise the settings' int
  // type. Empty arrays take the settings' float type.
  if (any_f32) return DType::kF32;
  if (any_f64) return DType::kF64;
  if (any_bool) return DType::kBool;
  if (!any_int) {
    return float_is_half_     ? DType::kF16
           : float_is_double_ ? DType::kF64
                              : DType::kF32;
  }
  if (float_is_half_ && !any_neg && max_uint <= 0xFFFF) return DType::kF16;
  const DType dtype = int_dtype_;
  const bool fits =
      dtype == DType::kI64 ? max_uint <= uint64_t{INT64_MAX}
      : dtype == DType::kI32
          ? max_uint <= uint64_t{INT32_MAX} && min_int >= INT32_MIN
          : max_uint <= uint64_t{INT16_MAX} && min_int >= INT16_MIN;
  if (!fits) {
    return Error(
        absl::StrCat("value: integers out of range for ", DTypeName(dtype)));
  }
  return dtype;
}

absl::StatusOr<Tensor> Reader::ReadBody(int depth) {
  if (depth > max_depth_) {
    return absl::ResourceExhaustedError(absl::StrCat(
        source_, ": ", path_, ": nesting deeper than ", max_depth_, " levels"));
  }
  EMBER_ASSIGN_OR_RETURN(Header h, ReadHeader());
  if (h.kind != Kind::kMap) {
    return Error(
        absl::StrCat("expected a tensor body map ({bytes, shape, dtype} or "
                     "{value, shape}), found ",
                     KindName(h.kind)));
  }
  Tensor tensor;
  std::vector<BodyKey> order;
  bool have_shape = false, have_dtype = false, have_bytes = false,
       have_value = false;
  uint32_t dtype_flags = 0;
  for (uint64_t i = 0; i < h.length; ++i) {
    EMBER_ASSIGN_OR_RETURN(std::string key, ReadKey());
    if (key == "shape" && !have_shape) {
      EMBER_ASSIGN_OR_RETURN(tensor.shape, ReadShape());
      have_shape = true;
      order.push_back(kKeyShape);
    } else if (key == "dtype" && !have_dtype) {
      EMBER_ASSIGN_OR_RETURN(dtype_flags, ReadDType(&tensor.dtype));
      have_dtype = true;
      order.push_back(kKeyDType);
    } else if (key == "bytes" && !have_bytes && !have_value) {
      EMBER_ASSIGN_OR_RETURN(Header b, ReadHeader());
      if (b.kind == Kind::kBinary) {
        tensor.bytes = absl::string_view(b.data, b.length);
        tensor.storage = buffer_;
      } else if (b.kind == Kind::kArray) {
        EMBER_RETURN_IF_ERROR(ReadByteArray(b, &tensor));
      } else {
        return Error(
            absl::StrCat("bytes: expected bin, found ", KindName(b.kind)));
      }
      have_bytes = true;
      order.push_back(kKeyBytes);
    } else if (key == "value" && !have_value && !have_bytes) {
      EMBER_RETURN_IF_ERROR(ReadValueArray(&tensor));
      have_value = true;
      order.push_back(kKeyValue);
    } else {
      return Error(absl::StrCat("unexpected tensor body key \"",
                                absl::CEscape(key), "\""));
    }
  }
  if (!have_shape || (!have_bytes && !have_value) ||
      (have_bytes && !have_dtype) || (have_value && have_dtype)) {
    return Error(absl::StrCat(
        "tensor body must be {bytes, shape, dtype} or {value, shape}, found ",
        h.length, " keys"));
  }

  uint64_t count = 0;
  if (!ShapeElements(tensor.shape, &count)) {
    return Error("shape: element count overflows 64 bits");
  }
  std::string shape_text =
      absl::StrCat("[", absl::StrJoin(tensor.shape, ", "), "]");
  uint32_t flags = dtype_flags | (tensor.encoding_flags & kBytesAsArray);
  if (have_bytes) {
    tensor.layout = TensorLayout::kTensorData;
    for (uint32_t o = 0; o < kTensorDataOrders.size(); ++o) {
      if (std::equal(order.begin(), order.end(),
                     kTensorDataOrders[o].begin())) {
        flags |= o;
      }
    }
    const uint32_t bool_store =
        (dtype_flags & kBoolSpellingMask) >> kBoolSpellingShift;
    const uint64_t element_size =
        tensor.dtype == DType::kBool && bool_store == kBoolU32
            ? 4
            : DTypeSize(tensor.dtype);
    uint64_t expected = 0;
    if (__builtin_mul_overflow(count, element_size, &expected) ||
        expected != tensor.bytes.size()) {
      return Error(absl::StrCat(
          "shape ", shape_text, " of ", DTypeName(tensor.dtype), " needs ",
          count, " x ", element_size, " bytes, found ", tensor.bytes.size()));
    }
    if (element_size == 4 && tensor.dtype == DType::kBool) {
      // One byte per element in memory; the writer widens it back.
      auto packed = std::make_shared<std::string>(count, '\0');
      for (uint64_t i = 0; i < count; ++i) {
        uint32_t v;
        std::memcpy(&v, tensor.bytes.data() + 4 * i, 4);
        (*packed)[i] = v != 0 ? 1 : 0;
      }
      tensor.bytes = *packed;
      tensor.storage = std::move(packed);
    }
  } else {
    tensor.layout = TensorLayout::kValueShape;
    if (order[0] == kKeyShape) flags |= 1;
    const uint64_t found = tensor.bytes.size() / DTypeSize(tensor.dtype);
    if (found != count) {
      return Error(absl::StrCat("shape ", shape_text, " needs ", count,
                                " values, found ", found));
    }
  }
  tensor.encoding_flags = flags;
  return tensor;
}

absl::Status Reader::ReadMetadataHints(uint64_t metadata_pos) {
  const uint64_t saved = pos_;
  pos_ = metadata_pos;
  path_ = "metadata";
  EMBER_ASSIGN_OR_RETURN(Value meta, ReadValue(1));
  pos_ = saved;
  if (!meta.is_map()) return absl::OkStatus();  // informational only
  const Value* f = meta.Find("float");
  if (f != nullptr && f->type() == Value::Type::kString) {
    float_is_half_ = absl::StrContains(f->string_value(), "f16");
    float_is_double_ = f->string_value() == "f64";
  }
  const Value* i = meta.Find("int");
  if (i != nullptr && i->type() == Value::Type::kString) {
    if (i->string_value() == "i16") int_dtype_ = DType::kI16;
    if (i->string_value() == "i32") int_dtype_ = DType::kI32;
    if (i->string_value() == "i64") int_dtype_ = DType::kI64;
  }
  return absl::OkStatus();
}

absl::StatusOr<Record> Reader::ReadRecord() {
  EMBER_ASSIGN_OR_RETURN(Header top, ReadHeader());
  if (top.kind != Kind::kMap) {
    return Error(absl::StrCat(
        "not a Burn record: expected a MessagePack map at the top, found ",
        KindName(top.kind)));
  }
  // The metadata says how old integer bodies are meant; read it first
  // wherever it sits. A scan failure is reported by the full parse below,
  // which knows the exact record path.
  const uint64_t entries_pos = pos_;
  bool have_item = false;
  absl::Status scan;
  for (uint64_t i = 0; i < top.length && scan.ok(); ++i) {
    absl::StatusOr<std::string> key = ReadKey();
    if (!key.ok()) {
      scan = key.status();
      break;
    }
    const uint64_t value_pos = pos_;
    path_ = *key;
    scan = Skip(1);
    if (scan.ok() && *key == "metadata") scan = ReadMetadataHints(value_pos);
    if (*key == "item") have_item = true;
  }
  path_.clear();
  if (scan.ok() && !have_item) {
    return Error("not a Burn record: the top-level map has no \"item\" key");
  }
  if (scan.ok() && pos_ != size_) {
    return Error(
        absl::StrCat(size_ - pos_, " unexpected bytes after the record"));
  }
  pos_ = entries_pos;
  Map entries;
  for (uint64_t i = 0; i < top.length; ++i) {
    EMBER_ASSIGN_OR_RETURN(std::string key, ReadKey());
    path_ = key;
    EMBER_ASSIGN_OR_RETURN(Value v, ReadValue(1));
    entries.emplace_back(std::move(key), std::move(v));
  }
  if (!scan.ok()) return scan;
  return Record(Value::MakeMap(std::move(entries)));
}

}  // namespace

absl::StatusOr<Record> ReadMpkPayload(absl::string_view payload,
                                      std::shared_ptr<const void> owner,
                                      absl::string_view source,
                                      const ReaderLimits& limits) {
  if (payload.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": empty file, not a Burn record"));
  }
  Reader reader(payload, std::move(owner), source, limits);
  return reader.ReadRecord();
}

}  // namespace ember::recorder::internal
