#include "recorder/codec.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

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
#include "recorder/gzip.h"
#include "recorder/half.h"
#include "recorder/mpk_reader.h"
#include "recorder/mpk_writer.h"
#include "recorder/record.h"
#include "recorder/tensor_encoding.h"

namespace ember::recorder {
namespace {

using internal::kBytesAsArray;
using internal::kFlex32;
using internal::kOrderMask;
using internal::kParamFirst;

// Spellings a converted record drops for Burn's canonical ones: body key
// order, `bytes` as an int array, and the Flex32 dtype name.
constexpr uint32_t kRewrittenSpellings = kOrderMask | kBytesAsArray | kFlex32;

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

template <typename T>
void StoreLE(char* dst, T v) {
  std::memcpy(dst, &v, sizeof(T));  // little-endian hosts only (x86, ARM)
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

// `n` values of type T at `src` (any alignment), rounded to f32 at `dst`.
template <typename T>
void WidenEach(const char* src, float* dst, uint64_t n) {
  for (uint64_t i = 0; i < n; ++i) {
    T v;
    std::memcpy(&v, src + sizeof(T) * i, sizeof(T));
    dst[i] = static_cast<float>(v);
  }
}

// `n` elements of `dtype` at `src` (any alignment) as f32 at `dst`: exact
// for f16, bf16 and f32, rounded to nearest for wider floats and integers.
void WidenToFloat32(DType dtype, const char* src, float* dst, uint64_t n) {
  if (n == 0) return;
  const int size = DTypeSize(dtype);
  switch (dtype) {
    case DType::kF32:
      std::memcpy(dst, src, 4 * n);
      return;
    case DType::kF16:
      HalfToFloat(reinterpret_cast<const uint16_t*>(src), dst, n);
      return;
    case DType::kBF16:
      BFloat16ToFloat(reinterpret_cast<const uint16_t*>(src), dst, n);
      return;
    case DType::kF64:
      WidenEach<double>(src, dst, n);
      return;
    case DType::kBool:
      for (uint64_t i = 0; i < n; ++i) dst[i] = src[i] != 0 ? 1.0f : 0.0f;
      return;
    case DType::kU64:
      WidenEach<uint64_t>(src, dst, n);
      return;
    default:
      for (uint64_t i = 0; i < n; ++i) {
        int64_t v = 0;
        ReadInt(src + size * i, dtype, &v);
        dst[i] = static_cast<float>(v);
      }
      return;
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
  if (in.bytes.size() != n * DTypeSize(in.dtype)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "item.", path, ": ", in.bytes.size(), " bytes do not match ", n, " ",
        DTypeName(in.dtype), " elements"));
  }
  // Every byte is written below, so the buffer starts uninitialised.
  const uint64_t out_size = n * DTypeSize(target);
  std::shared_ptr<char[]> owned(new char[out_size > 0 ? out_size : 1]);
  char* dst = owned.get();
  const char* src = in.bytes.data();
  if (IsFloat(target)) {
    if (in.dtype == DType::kF64 && target == DType::kF16) {
      for (uint64_t i = 0; i < n; ++i) {
        double v;
        std::memcpy(&v, src + 8 * i, 8);
        StoreLE(dst + 2 * i, DoubleToHalfScalar(v));
      }
    } else if (target == DType::kF32) {
      // Exact from f16, bf16 and f32; f64 rounds once.
      WidenToFloat32(in.dtype, src, reinterpret_cast<float*>(dst), n);
    } else if (target == DType::kF16 && in.dtype == DType::kF32) {
      FloatToHalf(reinterpret_cast<const float*>(src),
                  reinterpret_cast<uint16_t*>(dst), n);
    } else {
      // Through f32 (exact), one cache-sized block at a time.
      const int in_size = DTypeSize(in.dtype);
      constexpr uint64_t kBlock = 4096;
      std::array<float, kBlock> wide;
      for (uint64_t begin = 0; begin < n; begin += kBlock) {
        const uint64_t count = std::min(kBlock, n - begin);
        WidenToFloat32(in.dtype, src + in_size * begin, wide.data(), count);
        if (target == DType::kF16) {
          FloatToHalf(wide.data(), reinterpret_cast<uint16_t*>(dst + 2 * begin),
                      count);
        } else {
          for (uint64_t i = 0; i < count; ++i) {
            StoreLE(dst + 8 * (begin + i), static_cast<double>(wide[i]));
          }
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
      if (!ReadInt(src + in_size * i, in.dtype, &v) || v < lo || v > hi) {
        return absl::InvalidArgumentError(absl::StrCat(
            "item.", path, ": element ", i, " of ", DTypeName(in.dtype),
            " tensor does not fit ", DTypeName(target)));
      }
      if (target == DType::kI16) StoreLE(dst + 2 * i, static_cast<int16_t>(v));
      if (target == DType::kI32) StoreLE(dst + 4 * i, static_cast<int32_t>(v));
      if (target == DType::kI64) StoreLE(dst + 8 * i, v);
    }
  }
  out.bytes = absl::string_view(dst, out_size);
  out.storage = std::move(owned);
  return out;
}

// Whether any tensor under `v` changes dtype at `precision`.
bool NeedsConversion(const Value& v, Precision precision) {
  switch (v.type()) {
    case Value::Type::kTensor:
      // Flex32 is written as F32 by every setting's conversion.
      return v.tensor().dtype != TargetDType(v.tensor().dtype, precision) ||
             (v.tensor().encoding_flags & kFlex32) != 0;
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
                 (t.encoding_flags & kRewrittenSpellings) != 0) {
        // Same elements, written the way Burn's recorder writes them.
        Tensor copy = t;
        copy.layout = TensorLayout::kTensorData;
        copy.encoding_flags &= ~kRewrittenSpellings;
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
  return internal::DTypeFromName(name);
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
  const absl::string_view bytes = *file;
  return DecodeRecord(bytes, std::move(file), source, options);
}

absl::StatusOr<Record> DecodeRecord(absl::string_view bytes,
                                    std::shared_ptr<const void> owner,
                                    absl::string_view source,
                                    const DecodeOptions& options) {
  // The reader never throws; allocation failure is the one exception that
  // can arise, and it becomes a status here like every other failure.
  try {
    if (internal::IsGzip(bytes)) {
      EMBER_ASSIGN_OR_RETURN(
          std::shared_ptr<const std::string> inflated,
          internal::GunzipBounded(bytes, source, options.max_inflated_bytes));
      bytes = *inflated;
      owner = std::move(inflated);
    } else if (bytes.size() > options.max_inflated_bytes) {
      return absl::ResourceExhaustedError(
          absl::StrCat(source, ": ", bytes.size(),
                       " bytes exceed DecodeOptions::max_inflated_bytes"));
    }
    internal::ReaderLimits limits;
    limits.max_depth = options.max_depth;
    limits.max_values = options.max_values;
    return internal::ReadMpkPayload(bytes, std::move(owner), source, limits);
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError(
        absl::StrCat(source, ": out of memory while decoding"));
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
  if (format == RecordFormat::kMpkGz) {
    std::string out;
    EMBER_RETURN_IF_ERROR(
        EncodeRecordTo(record, format, [&out](absl::string_view piece) {
          out.append(piece.data(), piece.size());
          return absl::OkStatus();
        }));
    return out;
  }
  // msgpack-cxx throws on allocation failure; no exception leaves here.
  try {
    return internal::WriteMpkPayload(record.top());
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError("out of memory while encoding");
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("encoding failed: ", e.what()));
  }
}

absl::Status EncodeRecordTo(const Record& record, RecordFormat format,
                            const ByteSink& out) {
  try {
    if (format == RecordFormat::kMpk) {
      return internal::WriteMpkPayloadTo(record.top(), out);
    }
    internal::GzipWriter gz(out);
    EMBER_RETURN_IF_ERROR(internal::WriteMpkPayloadTo(
        record.top(),
        [&gz](absl::string_view piece) { return gz.Write(piece); }));
    return gz.Finish();
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
  // A hidden name that does not end in .mpk, so directory scanners skip it.
  const std::string base =
      slash == std::string::npos ? path : path.substr(slash + 1);
  const std::string prefix =
      slash == std::string::npos ? "" : path.substr(0, slash + 1);
  std::string tmp = absl::StrCat(prefix, ".", base, ".tmp.XXXXXX");
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
  WidenToFloat32(tensor.dtype, tensor.bytes.data(), out.data(), n);
  return absl::OkStatus();
}

}  // namespace ember::recorder
