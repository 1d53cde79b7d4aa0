#include "recorder/codec.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <exception>
#include <limits>
#include <memory>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "common/status_macros.h"
#include "msgpack.hpp"
#include "recorder/half.h"
#include "recorder/record.h"

namespace ember::recorder {
namespace {

// ---------------------------------------------------------------------------
// Encoding flags kept in Tensor::encoding_flags so the writer reproduces the
// input. Zero means Burn 0.14-0.20's canonical form.

// Bits 0-2: order of the body keys, an index into kTensorDataOrders (for
// {bytes, shape, dtype}) or kValueShapeOrders (for {value, shape}).
constexpr uint32_t kOrderMask = 0x7;
// The parameter map was written {"param", "id"} instead of {"id", "param"}.
constexpr uint32_t kParamFirst = 1u << 4;
// `bytes` was an array of integers rather than msgpack bin.
constexpr uint32_t kBytesAsArray = 1u << 5;
// Bits 6-7: spelling of a Bool dtype.
constexpr uint32_t kBoolSpellingShift = 6;
constexpr uint32_t kBoolSpellingMask = 0x3u << kBoolSpellingShift;
enum BoolSpelling : uint32_t {
  kBoolUnit = 0,    // "Bool" (Burn <= 0.20)
  kBoolNative = 1,  // {"Bool": "Native"} (Burn 0.21)
  kBoolU8 = 2,      // {"Bool": "U8"}: one byte per element
  kBoolU32 = 3,     // {"Bool": "U32"}: four bytes per element
};
// The dtype was "Flex32" (f32 bytes).
constexpr uint32_t kFlex32 = 1u << 8;

enum BodyKey { kKeyBytes, kKeyShape, kKeyDType, kKeyValue };
constexpr std::array<std::array<BodyKey, 3>, 6> kTensorDataOrders = {{
    {kKeyBytes, kKeyShape, kKeyDType},
    {kKeyBytes, kKeyDType, kKeyShape},
    {kKeyShape, kKeyBytes, kKeyDType},
    {kKeyShape, kKeyDType, kKeyBytes},
    {kKeyDType, kKeyBytes, kKeyShape},
    {kKeyDType, kKeyShape, kKeyBytes},
}};
constexpr std::array<std::array<BodyKey, 2>, 2> kValueShapeOrders = {{
    {kKeyValue, kKeyShape},
    {kKeyShape, kKeyValue},
}};

// Burn's metadata strings per setting, in the order float, int, settings.
struct SettingsStrings {
  absl::string_view float_type;
  absl::string_view int_type;
  absl::string_view settings;
};

SettingsStrings StringsFor(Precision precision) {
  switch (precision) {
    case Precision::kFull:
      return {"f32", "i32", "FullPrecisionSettings"};
    case Precision::kHalf:
      return {"half::binary16::f16", "i16", "HalfPrecisionSettings"};
    case Precision::kDouble:
      return {"f64", "i64", "DoublePrecisionSettings"};
  }
  return {"f32", "i32", "FullPrecisionSettings"};
}

std::string FormatString(Precision precision, RecordFormat format) {
  return absl::StrCat(
      "burn_core::record::file::",
      format == RecordFormat::kMpkGz ? "NamedMpkGzFileRecorder"
                                     : "NamedMpkFileRecorder",
      "<burn_core::record::settings::", StringsFor(precision).settings, ">");
}

// ---------------------------------------------------------------------------
// Gunzip with a bound on the inflated size.

absl::StatusOr<std::shared_ptr<const std::string>> Gunzip(
    const std::string& in, absl::string_view source, uint64_t limit) {
  z_stream zs;
  std::memset(&zs, 0, sizeof(zs));
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) {
    return absl::InternalError(absl::StrCat(source, ": inflateInit failed"));
  }
  auto out = std::make_shared<std::string>();
  // Start from a few times the input (typical ratios are 1-4x for weights)
  // and grow geometrically; never from the size the trailer claims.
  uint64_t capacity = std::min<uint64_t>(
      limit, std::max<uint64_t>(in.size() * 4, uint64_t{1} << 16));
  out->resize(capacity);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  uint64_t in_left = in.size();
  uint64_t produced = 0;
  int rc = Z_OK;
  while (true) {
    if (zs.avail_in == 0) {
      const uInt chunk = static_cast<uInt>(
          std::min<uint64_t>(in_left, std::numeric_limits<uInt>::max()));
      zs.avail_in = chunk;
      in_left -= chunk;
    }
    if (produced == out->size()) {
      if (out->size() >= limit) {
        inflateEnd(&zs);
        return absl::ResourceExhaustedError(
            absl::StrCat(source, ": gzip payload inflates beyond the limit of ",
                         limit, " bytes (DecodeOptions::max_inflated_bytes)"));
      }
      out->resize(std::min<uint64_t>(limit, out->size() * 2));
    }
    const uint64_t room = out->size() - produced;
    zs.next_out = reinterpret_cast<Bytef*>(&(*out)[produced]);
    zs.avail_out = static_cast<uInt>(
        std::min<uint64_t>(room, std::numeric_limits<uInt>::max()));
    const uInt before = zs.avail_out;
    rc = inflate(&zs, Z_NO_FLUSH);
    produced += before - zs.avail_out;
    if (rc == Z_STREAM_END) {
      // Concatenated gzip members are one stream (RFC 1952).
      if (zs.avail_in == 0 && in_left == 0) break;
      if (inflateReset(&zs) != Z_OK) break;
      continue;
    }
    if (rc == Z_BUF_ERROR && zs.avail_in == 0 && in_left == 0) {
      inflateEnd(&zs);
      return absl::DataLossError(
          absl::StrCat(source, ": gzip stream is truncated after ", produced,
                       " inflated bytes"));
    }
    if (rc != Z_OK && rc != Z_BUF_ERROR) {
      std::string msg = zs.msg != nullptr ? zs.msg : "error";
      inflateEnd(&zs);
      return absl::DataLossError(absl::StrCat(source, ": corrupt gzip data (",
                                              msg, ") after ", produced,
                                              " inflated bytes"));
    }
  }
  inflateEnd(&zs);
  out->resize(produced);
  out->shrink_to_fit();
  return std::shared_ptr<const std::string>(std::move(out));
}

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

class Reader {
 public:
  Reader(std::shared_ptr<const std::string> buffer, absl::string_view source,
         const DecodeOptions& options)
      : buffer_(std::move(buffer)),
        data_(buffer_->data()),
        size_(buffer_->size()),
        source_(source),
        max_depth_(options.max_depth) {}

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
  absl::Status ReadMetadataHints(uint64_t metadata_pos);

  void PushKey(absl::string_view key) {
    if (!path_.empty()) path_ += '.';
    path_.append(key.data(), key.size());
  }

  std::shared_ptr<const std::string> buffer_;
  const char* data_;
  uint64_t size_;
  std::string source_;
  int max_depth_;
  uint64_t pos_ = 0;
  std::string path_;
  // From the metadata: how old `{value, shape}` integers are meant.
  bool float_is_half_ = false;
  bool float_is_double_ = false;
  DType int_dtype_ = DType::kI64;
};

template <typename T>
T LoadBigEndian(const char* p) {
  T v = 0;
  for (size_t i = 0; i < sizeof(T); ++i) {
    v = static_cast<T>((v << 8) | static_cast<uint8_t>(p[i]));
  }
  return v;
}

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

absl::StatusOr<DType> ParseDTypeNameImpl(absl::string_view name) {
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
    auto parsed = ParseDTypeNameImpl(name);
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
  const uint64_t elements_pos = pos_;

  // Pass 1: classify the elements (they decide the dtype).
  bool any_f32 = false, any_f64 = false, any_int = false, any_neg = false,
       any_bool = false;
  uint64_t max_uint = 0;
  int64_t min_int = 0;
  for (uint64_t i = 0; i < count; ++i) {
    EMBER_ASSIGN_OR_RETURN(Header e, ReadHeader());
    switch (e.kind) {
      case Kind::kFloat32:
        any_f32 = true;
        break;
      case Kind::kFloat64:
        any_f64 = true;
        break;
      case Kind::kUint:
        any_int = true;
        max_uint = std::max(max_uint, e.uint_value);
        break;
      case Kind::kNegInt:
        any_int = any_neg = true;
        min_int = std::min(min_int, e.int_value);
        break;
      case Kind::kBool:
        any_bool = true;
        break;
      default:
        return Error(absl::StrCat("value[", i, "]: expected a number, found ",
                                  KindName(e.kind)));
    }
  }
  const int kinds = int{any_f32} + int{any_f64} + int{any_int} + int{any_bool};
  if (kinds > 1) {
    pos_ = start_pos;
    return Error("value: elements mix floats, integers and bools");
  }

  // The dtype: floats say so themselves; integers are f16 bit patterns in a
  // half-precision file when they all fit u16, otherwise the settings' int
  // type. Empty arrays take the settings' float type.
  DType dtype;
  if (any_f32) {
    dtype = DType::kF32;
  } else if (any_f64) {
    dtype = DType::kF64;
  } else if (any_bool) {
    dtype = DType::kBool;
  } else if (any_int) {
    if (float_is_half_ && !any_neg && max_uint <= 0xFFFF) {
      dtype = DType::kF16;
    } else {
      dtype = int_dtype_;
    }
  } else {
    dtype = float_is_half_     ? DType::kF16
            : float_is_double_ ? DType::kF64
                               : DType::kF32;
  }
  if (any_int && dtype != DType::kF16) {
    const bool fits =
        dtype == DType::kI64 ? max_uint <= uint64_t{INT64_MAX}
        : dtype == DType::kI32
            ? max_uint <= uint64_t{INT32_MAX} && min_int >= INT32_MIN
            : max_uint <= uint64_t{INT16_MAX} && min_int >= INT16_MIN;
    if (!fits) {
      return Error(
          absl::StrCat("value: integers out of range for ", DTypeName(dtype)));
    }
  }

  // Pass 2: pack the elements once, little-endian.
  const int size = DTypeSize(dtype);
  auto owned = std::make_shared<std::string>();
  owned->resize(count * size);  // count is bounded by the bytes read above
  char* out = owned->data();
  pos_ = elements_pos;
  for (uint64_t i = 0; i < count; ++i) {
    EMBER_ASSIGN_OR_RETURN(Header e, ReadHeader());
    char* dst = out + i * size;
    switch (dtype) {
      case DType::kF32:
        StoreLE(dst, static_cast<float>(e.float_value));
        break;
      case DType::kF64:
        StoreLE(dst, e.float_value);
        break;
      case DType::kF16:
        StoreLE(dst, static_cast<uint16_t>(e.uint_value));
        break;
      case DType::kBool:
        *dst = e.bool_value ? 1 : 0;
        break;
      case DType::kI16:
      case DType::kI32:
      case DType::kI64: {
        const int64_t v = e.kind == Kind::kUint
                              ? static_cast<int64_t>(e.uint_value)
                              : e.int_value;
        if (dtype == DType::kI16) StoreLE(dst, static_cast<int16_t>(v));
        if (dtype == DType::kI32) StoreLE(dst, static_cast<int32_t>(v));
        if (dtype == DType::kI64) StoreLE(dst, v);
        break;
      }
      default:
        return Error("value: unexpected element type");
    }
  }
  tensor->dtype = dtype;
  tensor->bytes = *owned;
  tensor->storage = std::move(owned);
  return absl::OkStatus();
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

// ---------------------------------------------------------------------------
// The writer: canonical compact MessagePack through msgpack::packer.

struct StringSink {
  std::string* out;
  void write(const char* data, size_t size) { out->append(data, size); }
};
using Packer = msgpack::packer<StringSink>;

// msgpack-cxx's pack_float/pack_double write integral values as integers
// (and lose the sign of -0.0); rmp-serde always writes `ca`/`cb`. Floats
// therefore go straight to the sink, which the packer writes through
// unbuffered, so the byte order of the output is kept.
void PackF32(StringSink& sink, float v) {
  uint32_t bits;
  std::memcpy(&bits, &v, 4);
  char buf[5] = {static_cast<char>(0xca), static_cast<char>(bits >> 24),
                 static_cast<char>(bits >> 16), static_cast<char>(bits >> 8),
                 static_cast<char>(bits)};
  sink.write(buf, 5);
}

void PackF64(StringSink& sink, double v) {
  uint64_t bits;
  std::memcpy(&bits, &v, 8);
  char buf[9];
  buf[0] = static_cast<char>(0xcb);
  for (int i = 0; i < 8; ++i) {
    buf[1 + i] = static_cast<char>(bits >> (56 - 8 * i));
  }
  sink.write(buf, 9);
}

void PackString(Packer& pk, absl::string_view s) {
  pk.pack_str(static_cast<uint32_t>(s.size()));
  pk.pack_str_body(s.data(), static_cast<uint32_t>(s.size()));
}

absl::Status PackTensorElements(Packer& pk, StringSink& sink, const Tensor& t) {
  const uint64_t n = t.NumElements();
  const int size = DTypeSize(t.dtype);
  if (t.bytes.size() != n * size) {
    return absl::InvalidArgumentError(
        absl::StrCat("tensor ", t.id, " holds ", t.bytes.size(),
                     " bytes, its shape needs ", n * size));
  }
  pk.pack_array(static_cast<uint32_t>(n));
  const char* p = t.bytes.data();
  for (uint64_t i = 0; i < n; ++i, p += size) {
    switch (t.dtype) {
      case DType::kF32: {
        float v;
        std::memcpy(&v, p, 4);
        PackF32(sink, v);
        break;
      }
      case DType::kF64: {
        double v;
        std::memcpy(&v, p, 8);
        PackF64(sink, v);
        break;
      }
      case DType::kF16:
      case DType::kU16: {
        uint16_t v;
        std::memcpy(&v, p, 2);
        pk.pack_uint16(v);
        break;
      }
      case DType::kI16: {
        int16_t v;
        std::memcpy(&v, p, 2);
        pk.pack_int16(v);
        break;
      }
      case DType::kI32: {
        int32_t v;
        std::memcpy(&v, p, 4);
        pk.pack_int32(v);
        break;
      }
      case DType::kI64: {
        int64_t v;
        std::memcpy(&v, p, 8);
        pk.pack_int64(v);
        break;
      }
      case DType::kI8:
        pk.pack_int8(static_cast<int8_t>(*p));
        break;
      case DType::kU8:
        pk.pack_uint8(static_cast<uint8_t>(*p));
        break;
      case DType::kU32: {
        uint32_t v;
        std::memcpy(&v, p, 4);
        pk.pack_uint32(v);
        break;
      }
      case DType::kU64: {
        uint64_t v;
        std::memcpy(&v, p, 8);
        pk.pack_uint64(v);
        break;
      }
      case DType::kBool:
        if (*p != 0) {
          pk.pack_true();
        } else {
          pk.pack_false();
        }
        break;
      case DType::kBF16:
        return absl::InvalidArgumentError(absl::StrCat(
            "tensor ", t.id,
            ": BF16 cannot be written in the {value, shape} layout"));
    }
  }
  return absl::OkStatus();
}

void PackShape(Packer& pk, const Tensor& t) {
  pk.pack_array(static_cast<uint32_t>(t.shape.size()));
  for (uint64_t d : t.shape) pk.pack_uint64(d);
}

void PackDType(Packer& pk, const Tensor& t) {
  if (t.dtype == DType::kF32 && (t.encoding_flags & kFlex32) != 0) {
    PackString(pk, "Flex32");
    return;
  }
  if (t.dtype != DType::kBool) {
    PackString(pk, DTypeName(t.dtype));
    return;
  }
  const uint32_t spelling =
      (t.encoding_flags & kBoolSpellingMask) >> kBoolSpellingShift;
  if (spelling == kBoolUnit) {
    PackString(pk, "Bool");
    return;
  }
  pk.pack_map(1);
  PackString(pk, "Bool");
  PackString(pk, spelling == kBoolNative ? "Native"
                 : spelling == kBoolU8   ? "U8"
                                         : "U32");
}

void PackBytes(Packer& pk, const Tensor& t) {
  const uint32_t spelling =
      (t.encoding_flags & kBoolSpellingMask) >> kBoolSpellingShift;
  const bool widen = t.dtype == DType::kBool && spelling == kBoolU32;
  std::string widened;
  absl::string_view bytes = t.bytes;
  if (widen) {
    widened.resize(t.bytes.size() * 4);
    for (size_t i = 0; i < t.bytes.size(); ++i) {
      const uint32_t v = t.bytes[i] != 0 ? 1 : 0;
      std::memcpy(&widened[4 * i], &v, 4);
    }
    bytes = widened;
  }
  if ((t.encoding_flags & kBytesAsArray) != 0) {
    pk.pack_array(static_cast<uint32_t>(bytes.size()));
    for (char c : bytes) pk.pack_uint8(static_cast<uint8_t>(c));
    return;
  }
  pk.pack_bin(static_cast<uint32_t>(bytes.size()));
  pk.pack_bin_body(bytes.data(), static_cast<uint32_t>(bytes.size()));
}

absl::Status PackTensor(Packer& pk, StringSink& sink, const Tensor& t) {
  if (t.bytes.size() > std::numeric_limits<uint32_t>::max()) {
    return absl::InvalidArgumentError(
        absl::StrCat("tensor ", t.id, " has ", t.bytes.size(),
                     " bytes; MessagePack bin holds at most 4 GiB"));
  }
  const bool param_first = (t.encoding_flags & kParamFirst) != 0;
  pk.pack_map(2);
  if (!param_first) {
    PackString(pk, "id");
    PackString(pk, t.id);
  }
  PackString(pk, "param");
  const uint32_t order = t.encoding_flags & kOrderMask;
  if (t.layout == TensorLayout::kValueShape) {
    pk.pack_map(2);
    for (BodyKey key : kValueShapeOrders[order & 1]) {
      if (key == kKeyValue) {
        PackString(pk, "value");
        EMBER_RETURN_IF_ERROR(PackTensorElements(pk, sink, t));
      } else {
        PackString(pk, "shape");
        PackShape(pk, t);
      }
    }
  } else {
    pk.pack_map(3);
    for (BodyKey key : kTensorDataOrders[order < 6 ? order : 0]) {
      if (key == kKeyBytes) {
        PackString(pk, "bytes");
        PackBytes(pk, t);
      } else if (key == kKeyShape) {
        PackString(pk, "shape");
        PackShape(pk, t);
      } else {
        PackString(pk, "dtype");
        PackDType(pk, t);
      }
    }
  }
  if (param_first) {
    PackString(pk, "id");
    PackString(pk, t.id);
  }
  return absl::OkStatus();
}

absl::Status PackValue(Packer& pk, StringSink& sink, const Value& v) {
  switch (v.type()) {
    case Value::Type::kNil:
      pk.pack_nil();
      return absl::OkStatus();
    case Value::Type::kBool:
      if (v.bool_value()) {
        pk.pack_true();
      } else {
        pk.pack_false();
      }
      return absl::OkStatus();
    case Value::Type::kInt:
      if (v.is_negative()) {
        pk.pack_int64(v.int_value());
      } else {
        pk.pack_uint64(v.uint_value());
      }
      return absl::OkStatus();
    case Value::Type::kFloat32:
      PackF32(sink, static_cast<float>(v.float_value()));
      return absl::OkStatus();
    case Value::Type::kFloat64:
      PackF64(sink, v.float_value());
      return absl::OkStatus();
    case Value::Type::kString:
      PackString(pk, v.string_value());
      return absl::OkStatus();
    case Value::Type::kBinary:
      pk.pack_bin(static_cast<uint32_t>(v.binary_value().size()));
      pk.pack_bin_body(v.binary_value().data(),
                       static_cast<uint32_t>(v.binary_value().size()));
      return absl::OkStatus();
    case Value::Type::kArray:
      pk.pack_array(static_cast<uint32_t>(v.array().size()));
      for (const Value& item : v.array()) {
        EMBER_RETURN_IF_ERROR(PackValue(pk, sink, item));
      }
      return absl::OkStatus();
    case Value::Type::kMap:
      pk.pack_map(static_cast<uint32_t>(v.map().size()));
      for (const auto& [key, item] : v.map()) {
        PackString(pk, key);
        EMBER_RETURN_IF_ERROR(PackValue(pk, sink, item));
      }
      return absl::OkStatus();
    case Value::Type::kTensor:
      return PackTensor(pk, sink, v.tensor());
  }
  return absl::InternalError("unknown value type");
}

uint64_t EstimateSize(const Value& v) {
  switch (v.type()) {
    case Value::Type::kTensor: {
      const Tensor& t = v.tensor();
      return t.layout == TensorLayout::kValueShape ? t.bytes.size() * 3 + 64
                                                   : t.bytes.size() + 64;
    }
    case Value::Type::kArray: {
      uint64_t n = 8;
      for (const Value& item : v.array()) n += EstimateSize(item);
      return n;
    }
    case Value::Type::kMap: {
      uint64_t n = 8;
      for (const auto& [key, item] : v.map()) {
        n += key.size() + 2 + EstimateSize(item);
      }
      return n;
    }
    default:
      return 16 + v.string_value().size() + v.binary_value().size();
  }
}

absl::StatusOr<std::string> Gzip(const std::string& payload) {
  z_stream zs;
  std::memset(&zs, 0, sizeof(zs));
  if (deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) !=
      Z_OK) {
    return absl::InternalError("deflateInit2 failed");
  }
  // Burn's header: no name, mtime 0, OS 255 (unknown).
  gz_header header;
  std::memset(&header, 0, sizeof(header));
  header.os = 255;
  deflateSetHeader(&zs, &header);
  std::string out;
  out.resize(deflateBound(&zs, payload.size()) + 64);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(payload.data()));
  uint64_t in_left = payload.size();
  uint64_t produced = 0;
  int rc = Z_OK;
  do {
    if (zs.avail_in == 0 && in_left > 0) {
      const uInt chunk = static_cast<uInt>(
          std::min<uint64_t>(in_left, std::numeric_limits<uInt>::max()));
      zs.avail_in = chunk;
      in_left -= chunk;
    }
    if (produced == out.size()) out.resize(out.size() * 2);
    zs.next_out = reinterpret_cast<Bytef*>(&out[produced]);
    zs.avail_out = static_cast<uInt>(std::min<uint64_t>(
        out.size() - produced, std::numeric_limits<uInt>::max()));
    const uInt before = zs.avail_out;
    rc = deflate(&zs, in_left == 0 ? Z_FINISH : Z_NO_FLUSH);
    produced += before - zs.avail_out;
  } while (rc == Z_OK || rc == Z_BUF_ERROR);
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) {
    return absl::InternalError(absl::StrCat("deflate failed: ", rc));
  }
  out.resize(produced);
  return out;
}

// ---------------------------------------------------------------------------
// Precision conversion.

DType TargetDType(DType dtype, Precision precision) {
  if (dtype == DType::kBool) return dtype;
  if (IsFloat(dtype)) {
    switch (precision) {
      case Precision::kFull:
        return DType::kF32;
      case Precision::kHalf:
        return DType::kF16;
      case Precision::kDouble:
        return DType::kF64;
    }
  }
  switch (precision) {
    case Precision::kFull:
      return DType::kI32;
    case Precision::kHalf:
      return DType::kI16;
    case Precision::kDouble:
      return DType::kI64;
  }
  return dtype;
}

// Reads element i of an integer tensor as a signed 128-bit-safe pair.
bool ReadInt(const char* p, DType dtype, int64_t* out) {
  switch (dtype) {
    case DType::kI64:
      std::memcpy(out, p, 8);
      return true;
    case DType::kI32: {
      int32_t v;
      std::memcpy(&v, p, 4);
      *out = v;
      return true;
    }
    case DType::kI16: {
      int16_t v;
      std::memcpy(&v, p, 2);
      *out = v;
      return true;
    }
    case DType::kI8:
      *out = static_cast<int8_t>(*p);
      return true;
    case DType::kU64: {
      uint64_t v;
      std::memcpy(&v, p, 8);
      if (v > uint64_t{INT64_MAX}) return false;
      *out = static_cast<int64_t>(v);
      return true;
    }
    case DType::kU32: {
      uint32_t v;
      std::memcpy(&v, p, 4);
      *out = v;
      return true;
    }
    case DType::kU16: {
      uint16_t v;
      std::memcpy(&v, p, 2);
      *out = v;
      return true;
    }
    case DType::kU8:
      *out = static_cast<uint8_t>(*p);
      return true;
    default:
      return false;
  }
}

absl::StatusOr<Tensor> ConvertTensor(const Tensor& in, DType target,
                                     absl::string_view path) {
  Tensor out;
  out.id = in.id;
  out.layout = TensorLayout::kTensorData;
  out.dtype = target;
  out.shape = in.shape;
  out.encoding_flags = in.encoding_flags & kParamFirst;
  const uint64_t n = in.NumElements();
  auto owned = std::make_shared<std::string>(n * DTypeSize(target), '\0');
  char* dst = owned->data();
  if (IsFloat(target)) {
    if (in.dtype == DType::kF64 && target == DType::kF16) {
      for (uint64_t i = 0; i < n; ++i) {
        double v;
        std::memcpy(&v, in.bytes.data() + 8 * i, 8);
        StoreLE(dst + 2 * i, DoubleToHalfScalar(v));
      }
    } else if (in.dtype == DType::kF64 && target == DType::kF32) {
      for (uint64_t i = 0; i < n; ++i) {
        double v;
        std::memcpy(&v, in.bytes.data() + 8 * i, 8);
        StoreLE(dst + 4 * i, static_cast<float>(v));
      }
    } else {
      // Every other float source widens to f32 exactly first.
      std::vector<float> wide(n);
      EMBER_RETURN_IF_ERROR(CopyToFloat32(in, absl::MakeSpan(wide)));
      if (target == DType::kF32) {
        if (n > 0) std::memcpy(dst, wide.data(), 4 * n);
      } else if (target == DType::kF16) {
        FloatToHalf(wide.data(), reinterpret_cast<uint16_t*>(dst), n);
      } else {
        for (uint64_t i = 0; i < n; ++i) {
          StoreLE(dst + 8 * i, static_cast<double>(wide[i]));
        }
      }
    }
  } else {
    const int in_size = DTypeSize(in.dtype);
    const int64_t lo = target == DType::kI16   ? INT16_MIN
                       : target == DType::kI32 ? INT32_MIN
                                               : INT64_MIN;
    const int64_t hi = target == DType::kI16   ? INT16_MAX
                       : target == DType::kI32 ? INT32_MAX
                                               : INT64_MAX;
    for (uint64_t i = 0; i < n; ++i) {
      int64_t v = 0;
      if (!ReadInt(in.bytes.data() + in_size * i, in.dtype, &v) || v < lo ||
          v > hi) {
        return absl::InvalidArgumentError(absl::StrCat(
            "item.", path, ": element ", i, " of ", DTypeName(in.dtype),
            " tensor does not fit ", DTypeName(target)));
      }
      if (target == DType::kI16) StoreLE(dst + 2 * i, static_cast<int16_t>(v));
      if (target == DType::kI32) StoreLE(dst + 4 * i, static_cast<int32_t>(v));
      if (target == DType::kI64) StoreLE(dst + 8 * i, v);
    }
  }
  out.bytes = *owned;
  out.storage = std::move(owned);
  return out;
}

// Whether any tensor under `v` changes dtype at `precision`.
bool NeedsConversion(const Value& v, Precision precision) {
  switch (v.type()) {
    case Value::Type::kTensor:
      return v.tensor().dtype != TargetDType(v.tensor().dtype, precision);
    case Value::Type::kArray:
      for (const Value& item : v.array()) {
        if (NeedsConversion(item, precision)) return true;
      }
      return false;
    case Value::Type::kMap:
      for (const auto& [key, item] : v.map()) {
        if (NeedsConversion(item, precision)) return true;
      }
      return false;
    default:
      return false;
  }
}

// Converts every tensor under `v` and moves value/shape bodies to the
// tensor-data layout. Sets *relaid when an old body was rewritten.
absl::Status ConvertTree(Value& v, Precision precision, std::string& path,
                         bool* relaid) {
  switch (v.type()) {
    case Value::Type::kTensor: {
      const Tensor& t = v.tensor();
      const DType target = TargetDType(t.dtype, precision);
      if (t.layout == TensorLayout::kValueShape) *relaid = true;
      if (target != t.dtype) {
        EMBER_ASSIGN_OR_RETURN(Tensor converted,
                               ConvertTensor(t, target, path));
        v.set_tensor(std::move(converted));
      } else if (t.layout == TensorLayout::kValueShape ||
                 (t.encoding_flags & (kOrderMask | kBytesAsArray)) != 0) {
        Tensor copy = t;
        copy.layout = TensorLayout::kTensorData;
        copy.encoding_flags &= ~(kOrderMask | kBytesAsArray);
        v.set_tensor(std::move(copy));
      }
      return absl::OkStatus();
    }
    case Value::Type::kArray:
      for (size_t i = 0; i < v.mutable_array().size(); ++i) {
        const size_t size = path.size();
        absl::StrAppend(&path, "[", i, "]");
        EMBER_RETURN_IF_ERROR(
            ConvertTree(v.mutable_array()[i], precision, path, relaid));
        path.resize(size);
      }
      return absl::OkStatus();
    case Value::Type::kMap:
      for (auto& [key, item] : v.mutable_map()) {
        const size_t size = path.size();
        if (!path.empty()) path += '.';
        path += key;
        EMBER_RETURN_IF_ERROR(ConvertTree(item, precision, path, relaid));
        path.resize(size);
      }
      return absl::OkStatus();
    default:
      return absl::OkStatus();
  }
}

// Sets `key` in map `m` to a string, appending it when missing.
void SetString(Value& m, absl::string_view key, absl::string_view value) {
  for (auto& [k, v] : m.mutable_map()) {
    if (k == key) {
      v = Value::String(std::string(value));
      return;
    }
  }
  m.mutable_map().emplace_back(std::string(key),
                               Value::String(std::string(value)));
}

Value* FindMutable(Value& m, absl::string_view key) {
  for (auto& [k, v] : m.mutable_map()) {
    if (k == key) return &v;
  }
  return nullptr;
}

absl::StatusOr<std::shared_ptr<const std::string>> ReadWholeFile(
    const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    const std::string msg = absl::StrCat(path, ": ", std::strerror(err));
    return err == ENOENT ? absl::NotFoundError(msg)
                         : absl::PermissionDeniedError(msg);
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": not a regular file"));
  }
  auto data = std::make_shared<std::string>();
  data->resize(static_cast<size_t>(st.st_size));
  size_t done = 0;
  while (done < data->size()) {
    const ssize_t n = read(fd, data->data() + done, data->size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      close(fd);
      return absl::DataLossError(absl::StrCat(path, ": short read at byte ",
                                              done, " of ", data->size()));
    }
    done += static_cast<size_t>(n);
  }
  close(fd);
  return std::shared_ptr<const std::string>(std::move(data));
}

}  // namespace

absl::StatusOr<RecordFormat> FormatForPath(absl::string_view path) {
  if (absl::EndsWith(path, ".mpk.gz")) return RecordFormat::kMpkGz;
  if (absl::EndsWith(path, ".mpk")) return RecordFormat::kMpk;
  return absl::InvalidArgumentError(absl::StrCat(
      path, ": unknown record extension (expected .mpk or .mpk.gz)"));
}

absl::string_view FormatExtension(RecordFormat format) {
  return format == RecordFormat::kMpkGz ? ".mpk.gz" : ".mpk";
}

absl::string_view PrecisionName(Precision precision) {
  switch (precision) {
    case Precision::kFull:
      return "full";
    case Precision::kHalf:
      return "half";
    case Precision::kDouble:
      return "double";
  }
  return "full";
}

absl::StatusOr<Precision> ParsePrecision(absl::string_view name) {
  const std::string lower = absl::AsciiStrToLower(name);
  if (lower == "full") return Precision::kFull;
  if (lower == "half") return Precision::kHalf;
  if (lower == "double") return Precision::kDouble;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown precision \"", absl::CEscape(name),
                   "\" (expected full, half or double)"));
}

absl::string_view PrecisionSettingsName(Precision precision) {
  return StringsFor(precision).settings;
}

absl::StatusOr<DType> ParseDTypeName(absl::string_view name) {
  return ParseDTypeNameImpl(name);
}

absl::StatusOr<Record> DecodeRecord(std::shared_ptr<const std::string> file,
                                    absl::string_view source) {
  return DecodeRecord(std::move(file), source, DecodeOptions());
}

absl::StatusOr<Record> DecodeRecord(std::shared_ptr<const std::string> file,
                                    absl::string_view source,
                                    const DecodeOptions& options) {
  if (file == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": no data"));
  }
  // Allocation failures are the only exceptions that can arise here; they
  // become a status like every other failure.
  try {
    if (file->size() >= 2 && static_cast<uint8_t>((*file)[0]) == 0x1f &&
        static_cast<uint8_t>((*file)[1]) == 0x8b) {
      EMBER_ASSIGN_OR_RETURN(file,
                             Gunzip(*file, source, options.max_inflated_bytes));
    } else if (file->size() > options.max_inflated_bytes) {
      return absl::ResourceExhaustedError(
          absl::StrCat(source, ": ", file->size(),
                       " bytes exceed DecodeOptions::max_inflated_bytes"));
    }
    if (file->empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(source, ": empty file, not a Burn record"));
    }
    Reader reader(std::move(file), source, options);
    return reader.ReadRecord();
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError(
        absl::StrCat(source, ": out of memory while decoding"));
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat(source, ": ", e.what()));
  }
}

absl::StatusOr<Record> DecodeRecordFile(const std::string& path) {
  return DecodeRecordFile(path, DecodeOptions());
}

absl::StatusOr<Record> DecodeRecordFile(const std::string& path,
                                        const DecodeOptions& options) {
  EMBER_ASSIGN_OR_RETURN(std::shared_ptr<const std::string> data,
                         ReadWholeFile(path));
  return DecodeRecord(std::move(data), path, options);
}

absl::StatusOr<std::string> EncodeRecord(const Record& record,
                                         RecordFormat format) {
  // msgpack-cxx throws on allocation failure and oversized containers; no
  // exception leaves this function.
  try {
    std::string payload;
    payload.reserve(EstimateSize(record.top()));
    StringSink sink{&payload};
    Packer pk(sink);
    EMBER_RETURN_IF_ERROR(PackValue(pk, sink, record.top()));
    if (format == RecordFormat::kMpk) return payload;
    return Gzip(payload);
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError("out of memory while encoding");
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("encoding failed: ", e.what()));
  }
}

absl::Status WriteRecordFile(const Record& record, const std::string& path,
                             RecordFormat format) {
  EMBER_ASSIGN_OR_RETURN(std::string bytes, EncodeRecord(record, format));
  const size_t slash = path.rfind('/');
  const std::string dir =
      slash == std::string::npos ? "." : path.substr(0, slash == 0 ? 1 : slash);
  std::string tmp = path + ".tmp.XXXXXX";
  const int fd = mkstemp(tmp.data());
  if (fd < 0) {
    return absl::PermissionDeniedError(absl::StrCat(
        path, ": cannot create a temporary file: ", std::strerror(errno)));
  }
  auto fail = [&](absl::string_view what) {
    const std::string msg =
        absl::StrCat(path, ": ", what, ": ", std::strerror(errno));
    close(fd);
    unlink(tmp.c_str());
    return absl::InternalError(msg);
  };
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail("write failed");
    done += static_cast<size_t>(n);
  }
  if (fchmod(fd, 0644) != 0) return fail("fchmod failed");
  if (fsync(fd) != 0) return fail("fsync failed");
  if (close(fd) != 0) {
    unlink(tmp.c_str());
    return absl::InternalError(absl::StrCat(path, ": close failed"));
  }
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string msg =
        absl::StrCat(path, ": rename failed: ", std::strerror(errno));
    unlink(tmp.c_str());
    return absl::InternalError(msg);
  }
  const int dfd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    const int rc = fsync(dfd);
    close(dfd);
    if (rc != 0) {
      return absl::InternalError(
          absl::StrCat(dir, ": fsync of the directory failed"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<Record> ConvertRecord(const Record& record, Precision precision,
                                     RecordFormat format) {
  try {
    Value top = record.top();
    Value* item = top.is_map() ? FindMutable(top, "item") : nullptr;
    if (item == nullptr) {
      return absl::InvalidArgumentError(
          "not a Burn record: the top level has no \"item\"");
    }
    const bool convert = NeedsConversion(*item, precision);
    const std::string recorder = record.metadata().format;
    const bool format_matches =
        format == RecordFormat::kMpkGz
            ? absl::StrContains(recorder, "NamedMpkGzFileRecorder")
            : absl::StrContains(recorder, "NamedMpkFileRecorder");
    // Already what was asked for: the same tree, so the same bytes.
    if (!convert && format_matches) return record;

    bool relaid = false;
    if (convert) {
      std::string path;
      EMBER_RETURN_IF_ERROR(ConvertTree(*item, precision, path, &relaid));
      if (FindMutable(top, "_b") == nullptr) {
        top.mutable_map().emplace_back("_b", Value::MakeArray({}));
      }
    }
    Value* meta = FindMutable(top, "metadata");
    if (meta == nullptr) {
      // Burn's loader needs the field; build it in Burn's field order.
      Map fields;
      for (absl::string_view key :
           {"float", "int", "format", "version", "settings"}) {
        fields.emplace_back(std::string(key), Value::String(""));
      }
      top.mutable_map().insert(top.mutable_map().begin(),
                               {"metadata", Value::MakeMap(std::move(fields))});
      meta = &top.mutable_map().front().second;
      relaid = true;  // no version to keep
    } else if (!meta->is_map()) {
      *meta = Value::MakeMap({});
      relaid = true;
    }
    const SettingsStrings s = StringsFor(precision);
    SetString(*meta, "float", s.float_type);
    SetString(*meta, "int", s.int_type);
    SetString(*meta, "format", FormatString(precision, format));
    if (relaid || meta->Find("version") == nullptr) {
      SetString(*meta, "version", "0.14.0");
    }
    SetString(*meta, "settings", s.settings);
    return Record(std::move(top));
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError("out of memory while converting");
  }
}

absl::StatusOr<Precision> RecordPrecision(const Record& record) {
  bool seen = false;
  DType first = DType::kF32;
  for (const TensorEntry& t : record.Tensors()) {
    if (!IsFloat(t.tensor->dtype)) continue;
    if (!seen) {
      first = t.tensor->dtype;
      seen = true;
    } else if (t.tensor->dtype != first) {
      return absl::InvalidArgumentError(
          absl::StrCat("item.", t.path, " is ", DTypeName(t.tensor->dtype),
                       " but earlier float tensors are ", DTypeName(first),
                       ": the record has no single precision"));
    }
  }
  if (seen) {
    switch (first) {
      case DType::kF32:
        return Precision::kFull;
      case DType::kF16:
        return Precision::kHalf;
      case DType::kF64:
        return Precision::kDouble;
      default:
        return absl::InvalidArgumentError(
            absl::StrCat("float tensors are ", DTypeName(first),
                         ", which no Burn precision setting writes"));
    }
  }
  const std::string float_type = record.metadata().float_type;
  if (absl::StrContains(float_type, "f16")) return Precision::kHalf;
  if (float_type == "f64") return Precision::kDouble;
  return Precision::kFull;
}

absl::Status CopyToFloat32(const Tensor& tensor, absl::Span<float> out) {
  const uint64_t n = tensor.NumElements();
  if (out.size() != n) {
    return absl::InvalidArgumentError(
        absl::StrCat("tensor ", tensor.id, ": output holds ", out.size(),
                     " floats, the tensor has ", n, " elements"));
  }
  const int size = DTypeSize(tensor.dtype);
  if (tensor.bytes.size() != n * size) {
    return absl::InvalidArgumentError(absl::StrCat(
        "tensor ", tensor.id, ": ", tensor.bytes.size(), " bytes for ", n, " ",
        DTypeName(tensor.dtype), " elements"));
  }
  if (n == 0) return absl::OkStatus();
  const char* src = tensor.bytes.data();
  float* dst = out.data();
  switch (tensor.dtype) {
    case DType::kF32:
      std::memcpy(dst, src, 4 * n);
      return absl::OkStatus();
    case DType::kF16:
      HalfToFloat(reinterpret_cast<const uint16_t*>(src), dst, n);
      return absl::OkStatus();
    case DType::kBF16:
      BFloat16ToFloat(reinterpret_cast<const uint16_t*>(src), dst, n);
      return absl::OkStatus();
    case DType::kF64:
      for (uint64_t i = 0; i < n; ++i) {
        double v;
        std::memcpy(&v, src + 8 * i, 8);
        dst[i] = static_cast<float>(v);
      }
      return absl::OkStatus();
    case DType::kBool:
      for (uint64_t i = 0; i < n; ++i) dst[i] = src[i] != 0 ? 1.0f : 0.0f;
      return absl::OkStatus();
    case DType::kU64:
      for (uint64_t i = 0; i < n; ++i) {
        uint64_t v;
        std::memcpy(&v, src + 8 * i, 8);
        dst[i] = static_cast<float>(v);
      }
      return absl::OkStatus();
    default:
      for (uint64_t i = 0; i < n; ++i) {
        int64_t v = 0;
        ReadInt(src + size * i, tensor.dtype, &v);
        dst[i] = static_cast<float>(v);
      }
      return absl::OkStatus();
  }
}

}  // namespace ember::recorder
