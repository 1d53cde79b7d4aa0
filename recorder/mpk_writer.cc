#include "recorder/mpk_writer.h"

#include <cstdint>
#include <cstring>
#include <limits>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "common/status_macros.h"
#include "msgpack.hpp"
#include "recorder/record.h"
#include "recorder/tensor_encoding.h"

namespace ember::recorder::internal {
namespace {

// Where the packer's output goes (msgpack-cxx calls `write`).
class Sink {
 public:
  virtual ~Sink() = default;
  virtual void write(const char* data, size_t size) = 0;
};

class StringSink : public Sink {
 public:
  explicit StringSink(std::string* out) : out_(out) {}
  void write(const char* data, size_t size) override {
    out_->append(data, size);
  }

 private:
  std::string* out_;
};

// Gathers small writes into one buffer and hands large ones (tensor
// payloads) to the ByteSink as they are, without copying them. After the
// first error it drops everything.
class StreamSink : public Sink {
 public:
  explicit StreamSink(const ByteSink& out) : out_(out) {
    buffer_.reserve(kBufferSize);
  }
  void write(const char* data, size_t size) override {
    if (!status_.ok()) return;
    if (size >= kDirectSize) {
      Flush();
      if (status_.ok()) status_ = out_(absl::string_view(data, size));
      return;
    }
    if (buffer_.size() + size > kBufferSize) Flush();
    buffer_.append(data, size);
  }
  absl::Status Finish() {
    Flush();
    return status_;
  }

 private:
  static constexpr size_t kBufferSize = size_t{1} << 20;
  static constexpr size_t kDirectSize = size_t{64} << 10;

  void Flush() {
    if (status_.ok() && !buffer_.empty()) status_ = out_(buffer_);
    buffer_.clear();
  }

  const ByteSink& out_;
  std::string buffer_;
  absl::Status status_;
};

using Packer = msgpack::packer<Sink>;

// msgpack-cxx's pack_float/pack_double write integral values as integers
// (and lose the sign of -0.0); rmp-serde always writes `ca`/`cb`. Floats
// therefore go straight to the sink, which the packer writes through
// unbuffered, so the byte order of the output is kept.
void PackF32(Sink& sink, float v) {
  uint32_t bits;
  std::memcpy(&bits, &v, 4);
  char buf[5] = {static_cast<char>(0xca), static_cast<char>(bits >> 24),
                 static_cast<char>(bits >> 16), static_cast<char>(bits >> 8),
                 static_cast<char>(bits)};
  sink.write(buf, 5);
}

void PackF64(Sink& sink, double v) {
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

absl::Status PackTensorElements(Packer& pk, Sink& sink, const Tensor& t) {
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

absl::Status PackTensor(Packer& pk, Sink& sink, const Tensor& t) {
  // Refuse a tree whose tensor bytes disagree with its shape rather than
  // write a file Burn cannot load.
  uint64_t count = 1, expected = 0;
  for (uint64_t d : t.shape) {
    if (__builtin_mul_overflow(count, d, &count)) count = UINT64_MAX;
  }
  if (__builtin_mul_overflow(count, uint64_t(DTypeSize(t.dtype)), &expected) ||
      expected != t.bytes.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "tensor ", t.id, ": ", t.bytes.size(), " bytes do not match shape [",
        absl::StrJoin(t.shape, ", "), "] of ", DTypeName(t.dtype)));
  }
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

absl::Status PackValue(Packer& pk, Sink& sink, const Value& v) {
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

}  // namespace

absl::StatusOr<std::string> WriteMpkPayload(const Value& top) {
  std::string payload;
  payload.reserve(EstimateSize(top));
  StringSink sink(&payload);
  Packer pk(sink);
  EMBER_RETURN_IF_ERROR(PackValue(pk, sink, top));
  return payload;
}

absl::Status WriteMpkPayloadTo(const Value& top, const ByteSink& out) {
  StreamSink sink(out);
  Packer pk(sink);
  absl::Status packed = PackValue(pk, sink, top);
  absl::Status written = sink.Finish();
  return packed.ok() ? written : packed;
}

}  // namespace ember::recorder::internal
