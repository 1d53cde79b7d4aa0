#include "client/commands/tensor_file.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/status_macros.h"
#include "recorder/half.h"

namespace ember::client {
namespace {

constexpr absl::string_view kNpyMagic("\x93NUMPY", 6);
// Largest input file read: emberd's default message limit.
constexpr size_t kMaxInputBytes = size_t{256} << 20;

template <typename T>
T Load(const char* p) {
  T value;
  std::memcpy(&value, p, sizeof(T));
  return value;
}

absl::Status JsonError(absl::string_view source, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(source, ": ", what));
}

// Flattens nested arrays of numbers (and booleans) into `values`, checking
// that every array at one depth has the same length; `shape` gets the
// lengths.
absl::Status Flatten(const json::Value& value, size_t depth,
                     std::vector<int64_t>* shape,
                     std::vector<const json::Value*>* values,
                     absl::string_view source) {
  if (!value.is_array()) {
    if (!value.is_number() && !value.is_bool()) {
      return JsonError(source, "\"data\" may hold only numbers and booleans");
    }
    if (depth != shape->size()) {
      return JsonError(source, "\"data\" is not rectangular");
    }
    values->push_back(&value);
    return absl::OkStatus();
  }
  const int64_t length = value.array().size();
  if (depth == shape->size()) {
    if (!values->empty()) {
      return JsonError(source, "\"data\" is not rectangular");
    }
    shape->push_back(length);
  } else if (depth > shape->size() || (*shape)[depth] != length) {
    return JsonError(source, "\"data\" is not rectangular");
  }
  for (const json::Value& item : value.array()) {
    EMBER_RETURN_IF_ERROR(Flatten(item, depth + 1, shape, values, source));
  }
  return absl::OkStatus();
}

// Builds the bytes of 64-bit integer tensors from exact JSON integers (a
// double cannot hold every INT64).
absl::StatusOr<Tensor> ExactIntegers(Tensor tensor,
                                     const std::vector<const json::Value*>& v,
                                     absl::string_view source) {
  const bool is_signed = tensor.datatype == "INT64";
  for (size_t i = 0; i < v.size(); ++i) {
    const json::Value& value = *v[i];
    if (!value.is_integer() && !value.is_bool()) {
      return JsonError(source, absl::StrCat("element ", i,
                                            " of \"data\" is "
                                            "not an integer (",
                                            tensor.datatype, ")"));
    }
    if (value.is_bool()) {
      const int64_t b = value.bool_value() ? 1 : 0;
      tensor.data.append(reinterpret_cast<const char*>(&b), 8);
      continue;
    }
    const bool big = value.number_kind() == json::Value::NumberKind::kUint;
    if (is_signed && big) {
      return JsonError(source, absl::StrCat("element ", i,
                                            " of \"data\" is out of range "
                                            "for INT64"));
    }
    if (!is_signed && !big && value.int_value() < 0) {
      return JsonError(source, absl::StrCat("element ", i,
                                            " of \"data\" is negative, "
                                            "which UINT64 cannot hold"));
    }
    const uint64_t bits =
        big ? value.uint_value() : static_cast<uint64_t>(value.int_value());
    tensor.data.append(reinterpret_cast<const char*>(&bits), 8);
  }
  return tensor;
}

// Value of `key` in a .npy header dict, e.g. "'<f4'" or "(4, 42)".
absl::StatusOr<std::string> NpyField(absl::string_view header,
                                     absl::string_view key,
                                     absl::string_view source) {
  size_t at = header.find(absl::StrCat("'", key, "'"));
  if (at == absl::string_view::npos) {
    at = header.find(absl::StrCat("\"", key, "\""));
  }
  if (at == absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": .npy header has no '", key, "'"));
  }
  at = header.find(':', at);
  if (at == absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": malformed .npy header"));
  }
  absl::string_view rest =
      absl::StripLeadingAsciiWhitespace(header.substr(at + 1));
  size_t end;
  if (!rest.empty() && rest[0] == '(') {
    end = rest.find(')');
    if (end != absl::string_view::npos) ++end;
  } else if (!rest.empty() && (rest[0] == '\'' || rest[0] == '"')) {
    end = rest.find(rest[0], 1);
    if (end != absl::string_view::npos) ++end;
  } else {
    end = rest.find_first_of(",}");
  }
  if (end == absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": malformed .npy header near '", key, "'"));
  }
  return std::string(absl::StripAsciiWhitespace(rest.substr(0, end)));
}

// Datatype for a NumPy dtype code like "f4"; empty when unsupported.
std::string NpyDatatype(absl::string_view code) {
  static constexpr std::pair<const char*, const char*> kTypes[] = {
      {"f2", "FP16"},   {"f4", "FP32"},   {"f8", "FP64"},   {"i1", "INT8"},
      {"i2", "INT16"},  {"i4", "INT32"},  {"i8", "INT64"},  {"u1", "UINT8"},
      {"u2", "UINT16"}, {"u4", "UINT32"}, {"u8", "UINT64"}, {"b1", "BOOL"},
  };
  for (const auto& [npy, datatype] : kTypes) {
    if (code == npy) return datatype;
  }
  return "";
}

}  // namespace

absl::StatusOr<Tensor> ReadTensorFile(const std::string& name,
                                      const std::string& path, std::istream& in,
                                      const std::string& default_datatype) {
  std::string source = path == "-" ? "stdin" : path;
  std::ifstream file;
  std::istream* stream = &in;
  if (path != "-") {
    file.open(path, std::ios::binary);
    if (!file) {
      return absl::NotFoundError(
          absl::StrCat("input '", name, "': cannot read ", path));
    }
    stream = &file;
  }
  // Bounded, so a device or an endless pipe cannot exhaust memory.
  std::string bytes;
  char buffer[1 << 16];
  while (stream->read(buffer, sizeof(buffer)) || stream->gcount() > 0) {
    bytes.append(buffer, stream->gcount());
    if (bytes.size() > kMaxInputBytes) {
      return absl::InvalidArgumentError(absl::StrCat(
          source, ": input '", name, "' is larger than ", kMaxInputBytes >> 20,
          " MiB, the largest message a server takes"));
    }
  }
  if (absl::StartsWith(bytes, kNpyMagic)) {
    return ParseNpy(name, bytes, source);
  }
  return ParseTensorJson(name, bytes, source, default_datatype);
}

absl::StatusOr<Tensor> ParseTensorJson(const std::string& name,
                                       absl::string_view text,
                                       absl::string_view source,
                                       const std::string& default_datatype) {
  absl::StatusOr<json::Value> doc = json::Parse(text);
  if (!doc.ok()) {
    return JsonError(
        source, absl::StrCat("not JSON or .npy: ", doc.status().message()));
  }
  if (!doc->is_object()) {
    return JsonError(source, "expected {\"shape\": [...], \"data\": [...]}");
  }
  const json::Value* data = doc->Find("data");
  if (data == nullptr || !data->is_array()) {
    return JsonError(source, "needs a \"data\" array");
  }
  Tensor tensor;
  tensor.name = name;
  tensor.datatype = default_datatype.empty() ? "FP32" : default_datatype;
  if (const json::Value* dt = doc->Find("datatype"); dt != nullptr) {
    if (!dt->is_string()) return JsonError(source, "\"datatype\" is a string");
    tensor.datatype = absl::AsciiStrToUpper(dt->string_value());
  }

  std::vector<int64_t> nested_shape;
  std::vector<const json::Value*> values;
  EMBER_RETURN_IF_ERROR(Flatten(*data, 0, &nested_shape, &values, source));
  if (const json::Value* shape = doc->Find("shape"); shape != nullptr) {
    if (!shape->is_array()) return JsonError(source, "\"shape\" is an array");
    for (const json::Value& dim : shape->array()) {
      if (!dim.is_integer() || dim.int_value() < 0) {
        return JsonError(source, "\"shape\" holds non-negative integers only");
      }
      tensor.shape.push_back(dim.int_value());
    }
  } else {
    tensor.shape = nested_shape;
  }

  if (tensor.datatype == "INT64" || tensor.datatype == "UINT64") {
    if (tensor.ElementCount() != static_cast<int64_t>(values.size())) {
      return JsonError(
          source, absl::StrCat("shape [", absl::StrJoin(tensor.shape, ", "),
                               "] does not match the ", values.size(),
                               " values of \"data\""));
    }
    return ExactIntegers(std::move(tensor), values, source);
  }
  std::vector<double> numbers;
  numbers.reserve(values.size());
  for (const json::Value* v : values) {
    numbers.push_back(v->is_bool() ? (v->bool_value() ? 1 : 0) : v->number());
  }
  absl::StatusOr<Tensor> built = Tensor::FromDoubles(
      name, tensor.datatype, std::move(tensor.shape), numbers);
  if (!built.ok()) return JsonError(source, built.status().message());
  return built;
}

absl::StatusOr<Tensor> ParseNpy(const std::string& name,
                                absl::string_view bytes,
                                absl::string_view source) {
  auto error = [&](absl::string_view what) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": ", what));
  };
  if (bytes.size() < 10 || !absl::StartsWith(bytes, kNpyMagic)) {
    return error("not a .npy file");
  }
  const uint8_t major = bytes[6];
  size_t header_start;
  size_t header_length;
  if (major == 1) {
    header_start = 10;
    header_length = Load<uint16_t>(bytes.data() + 8);
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) return error("truncated .npy header");
    header_start = 12;
    header_length = Load<uint32_t>(bytes.data() + 8);
  } else {
    return error(absl::StrCat(".npy format version ", major,
                              " is not supported (1, 2 and 3 are)"));
  }
  if (bytes.size() - header_start < header_length) {
    return error("truncated .npy header");
  }
  const absl::string_view header = bytes.substr(header_start, header_length);
  const absl::string_view body = bytes.substr(header_start + header_length);

  EMBER_ASSIGN_OR_RETURN(std::string descr, NpyField(header, "descr", source));
  EMBER_ASSIGN_OR_RETURN(std::string fortran,
                         NpyField(header, "fortran_order", source));
  EMBER_ASSIGN_OR_RETURN(std::string shape_text,
                         NpyField(header, "shape", source));
  if (fortran == "True") {
    return error(
        "array is in Fortran (column-major) order; save it in C order "
        "(numpy.ascontiguousarray) and try again");
  }
  if (fortran != "False") return error("malformed fortran_order in header");

  descr = std::string(absl::StripPrefix(
      absl::StripSuffix(absl::StripPrefix(descr, "'"), "'"), "\""));
  descr = std::string(absl::StripSuffix(descr, "\""));
  if (descr.size() < 3) {
    return error(absl::StrCat("unsupported .npy dtype ", descr));
  }
  const char order = descr[0];
  Tensor tensor;
  tensor.name = name;
  tensor.datatype = NpyDatatype(absl::string_view(descr).substr(1));
  if (tensor.datatype.empty() ||
      (order != '<' && order != '>' && order != '|' && order != '=')) {
    return error(
        absl::StrCat("unsupported .npy dtype '", descr,
                     "' (supported: f2 f4 f8 i1 i2 i4 i8 u1 u2 u4 u8 b1)"));
  }

  if (shape_text.size() < 2 || shape_text.front() != '(' ||
      shape_text.back() != ')') {
    return error(absl::StrCat("malformed .npy shape ", shape_text));
  }
  for (absl::string_view dim : absl::StrSplit(
           absl::string_view(shape_text).substr(1, shape_text.size() - 2), ',',
           absl::SkipWhitespace())) {
    int64_t value = 0;
    if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(dim), &value) ||
        value < 0) {
      return error(absl::StrCat("malformed .npy shape ", shape_text));
    }
    tensor.shape.push_back(value);
  }

  const int64_t count = tensor.ElementCount();
  const size_t size = DatatypeSize(tensor.datatype);
  if (count < 0 ||
      static_cast<uint64_t>(count) >
          std::numeric_limits<uint64_t>::max() / size ||
      body.size() != static_cast<uint64_t>(count) * size) {
    return error(absl::StrCat("shape ", shape_text, " of ", descr, " needs ",
                              count * size,
                              " data bytes but the "
                              "file has ",
                              body.size()));
  }
  tensor.data = std::string(body);
  if (order == '>' && size > 1) {
    for (size_t at = 0; at < tensor.data.size(); at += size) {
      std::reverse(tensor.data.begin() + at, tensor.data.begin() + at + size);
    }
  }
  return tensor;
}

absl::StatusOr<Tensor> ConvertTensor(const Tensor& tensor,
                                     const std::string& datatype) {
  if (tensor.datatype == datatype) return tensor;
  EMBER_ASSIGN_OR_RETURN(std::vector<double> values, tensor.ToDoubles());
  absl::StatusOr<Tensor> converted =
      Tensor::FromDoubles(tensor.name, datatype, tensor.shape, values);
  if (!converted.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cannot convert input '", tensor.name, "' from ", tensor.datatype,
        " to ", datatype, ": ", converted.status().message()));
  }
  return converted;
}

std::string ElementText(const Tensor& tensor, size_t index) {
  const int size = DatatypeSize(tensor.datatype);
  const char* p = tensor.data.data() + index * size;
  const std::string& t = tensor.datatype;
  if (t == "FP32") return json::FormatFloat(Load<float>(p));
  if (t == "FP16") {
    return json::FormatFloat(recorder::HalfToFloatScalar(Load<uint16_t>(p)));
  }
  if (t == "BF16") {
    return json::FormatFloat(
        recorder::BFloat16ToFloatScalar(Load<uint16_t>(p)));
  }
  if (t == "FP64") return json::FormatDouble(Load<double>(p));
  if (t == "BOOL") return *p != 0 ? "true" : "false";
  if (t == "INT8") return absl::StrCat(Load<int8_t>(p));
  if (t == "INT16") return absl::StrCat(Load<int16_t>(p));
  if (t == "INT32") return absl::StrCat(Load<int32_t>(p));
  if (t == "INT64") return absl::StrCat(Load<int64_t>(p));
  if (t == "UINT8") return absl::StrCat(Load<uint8_t>(p));
  if (t == "UINT16") return absl::StrCat(Load<uint16_t>(p));
  if (t == "UINT32") return absl::StrCat(Load<uint32_t>(p));
  if (t == "UINT64") return absl::StrCat(Load<uint64_t>(p));
  return "?";
}

json::Value TensorToJson(const Tensor& tensor) {
  json::Value out = json::Value::MakeObject();
  out.Set("name", json::Value::String(tensor.name));
  out.Set("datatype", json::Value::String(tensor.datatype));
  json::Value shape = json::Value::MakeArray();
  for (int64_t dim : tensor.shape) shape.Append(json::Value::Int(dim));
  out.Set("shape", std::move(shape));
  json::Value data = json::Value::MakeArray();
  const std::string& t = tensor.datatype;
  if (t == "BYTES") {
    size_t at = 0;
    while (at + 4 <= tensor.data.size()) {
      const uint32_t length = Load<uint32_t>(tensor.data.data() + at);
      data.Append(json::Value::String(tensor.data.substr(at + 4, length)));
      at += 4 + length;
    }
  } else {
    const int size = DatatypeSize(t);
    for (size_t i = 0; size > 0 && i < tensor.data.size() / size; ++i) {
      const char* p = tensor.data.data() + i * size;
      if (t == "FP32") {
        data.Append(json::Value::Float(Load<float>(p)));
      } else if (t == "FP16") {
        data.Append(
            json::Value::Float(recorder::HalfToFloatScalar(Load<uint16_t>(p))));
      } else if (t == "BF16") {
        data.Append(json::Value::Float(
            recorder::BFloat16ToFloatScalar(Load<uint16_t>(p))));
      } else if (t == "FP64") {
        data.Append(json::Value::Double(Load<double>(p)));
      } else if (t == "BOOL") {
        data.Append(json::Value::Bool(*p != 0));
      } else if (t == "UINT64") {
        data.Append(json::Value::Uint(Load<uint64_t>(p)));
      } else if (t == "INT64") {
        data.Append(json::Value::Int(Load<int64_t>(p)));
      } else {
        int64_t value = 0;
        if (t == "INT8") value = Load<int8_t>(p);
        if (t == "INT16") value = Load<int16_t>(p);
        if (t == "INT32") value = Load<int32_t>(p);
        if (t == "UINT8") value = Load<uint8_t>(p);
        if (t == "UINT16") value = Load<uint16_t>(p);
        if (t == "UINT32") value = Load<uint32_t>(p);
        data.Append(json::Value::Int(value));
      }
    }
  }
  out.Set("data", std::move(data));
  return out;
}

}  // namespace ember::client
