#include "model/modules/params.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "common/status_macros.h"
#include "model/tensor.h"
#include "recorder/codec.h"

namespace ember::model {
namespace {

absl::string_view ValueTypeName(const recorder::Value& v) {
  using Type = recorder::Value::Type;
  switch (v.type()) {
    case Type::kNil:
      return "nil";
    case Type::kBool:
      return "a boolean";
    case Type::kInt:
      return "an integer";
    case Type::kFloat32:
    case Type::kFloat64:
      return "a float";
    case Type::kString:
      return "a string";
    case Type::kBinary:
      return "binary data";
    case Type::kArray:
      return "an array";
    case Type::kMap:
      return "a map";
    case Type::kTensor:
      return "a parameter";
  }
  return "an unknown value";
}

// Largest element count accepted for one parameter (16 Gi floats), so that
// a corrupt shape fails with a status instead of exhausting memory.
constexpr uint64_t kMaxParamElements = uint64_t{1} << 34;

// How many ShapeOnlyScopes are open on this thread.
thread_local int shape_only_depth = 0;

// Elements converted per step: 32 KiB of f32 on the stack, small enough to
// stay in cache between the conversion and the copy into the parameter.
constexpr uint64_t kConversionBlock = 8192;

absl::StatusOr<Param> ConvertParam(const recorder::Tensor& tensor,
                                   std::string path, int rank) {
  Param param;
  param.path = std::move(path);
  uint64_t count = 1;
  for (uint64_t d : tensor.shape) {
    if (d > kMaxParamElements || (d != 0 && count > kMaxParamElements / d)) {
      return absl::InvalidArgumentError(
          absl::StrCat("record path '", param.path, "': shape is too large"));
    }
    count *= d;
    param.shape.push_back(static_cast<int64_t>(d));
  }
  if (static_cast<int>(param.shape.size()) != rank) {
    return absl::InvalidArgumentError(
        absl::StrCat("record path '", param.path, "': expected a rank-", rank,
                     " tensor, got shape ", ShapeToString(param.shape)));
  }
  // Checked before allocating, so a shape that promises more elements than
  // the bytes hold cannot make the conversion allocate for it.
  const uint64_t want_bytes = count * recorder::DTypeSize(tensor.dtype);
  if (tensor.bytes.size() != want_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "record path '", param.path, "': shape ", ShapeToString(param.shape),
        " of ", recorder::DTypeName(tensor.dtype), " needs ", want_bytes,
        " bytes, the parameter holds ", tensor.bytes.size()));
  }
  if (ShapeOnlyScope::Active()) {
    param.shape_only = true;
    return param;
  }
  // Converted a block at a time through a small buffer and appended, so
  // each element of `values` is written once; resize() would first zero
  // the whole parameter, one extra pass over memory as large as the model.
  param.values.reserve(count);
  const uint64_t element_bytes = recorder::DTypeSize(tensor.dtype);
  float block[kConversionBlock];
  recorder::Tensor part;
  part.id = tensor.id;
  part.layout = tensor.layout;
  part.dtype = tensor.dtype;
  for (uint64_t done = 0; done < count;) {
    const uint64_t n = std::min<uint64_t>(kConversionBlock, count - done);
    part.shape = {n};
    part.bytes = tensor.bytes.substr(done * element_bytes, n * element_bytes);
    absl::Status converted =
        recorder::CopyToFloat32(part, absl::Span<float>(block, n));
    if (!converted.ok()) {
      return absl::Status(converted.code(),
                          absl::StrCat("record path '", param.path,
                                       "': ", converted.message()));
    }
    param.values.insert(param.values.end(), block, block + n);
    done += n;
  }
  return param;
}

}  // namespace

int64_t Param::num_elements() const {
  int64_t count = 1;
  for (int64_t d : shape) count *= d;
  return count;
}

ShapeOnlyScope::ShapeOnlyScope() { ++shape_only_depth; }
ShapeOnlyScope::~ShapeOnlyScope() { --shape_only_depth; }
bool ShapeOnlyScope::Active() { return shape_only_depth > 0; }

std::string JoinRecordPath(absl::string_view path, absl::string_view key) {
  if (path.empty()) return std::string(key);
  return absl::StrCat(path, ".", key);
}

std::string IndexRecordPath(absl::string_view path, size_t index) {
  return absl::StrCat(path, "[", index, "]");
}

absl::Status CheckModuleRecord(const recorder::Value& record,
                               absl::string_view path) {
  if (!record.is_map()) {
    return absl::InvalidArgumentError(
        absl::StrCat("record path '", path, "': expected a module (map), got ",
                     ValueTypeName(record)));
  }
  return absl::OkStatus();
}

absl::StatusOr<Param> LoadParam(const recorder::Value& record,
                                absl::string_view path, absl::string_view key,
                                int rank) {
  EMBER_ASSIGN_OR_RETURN(std::optional<Param> param,
                         LoadOptionalParam(record, path, key, rank));
  if (!param.has_value()) {
    return absl::NotFoundError(absl::StrCat(
        "record path '", JoinRecordPath(path, key),
        "': missing parameter (expected a rank-", rank, " tensor)"));
  }
  return std::move(*param);
}

absl::StatusOr<std::optional<Param>> LoadOptionalParam(
    const recorder::Value& record, absl::string_view path,
    absl::string_view key, int rank) {
  EMBER_RETURN_IF_ERROR(CheckModuleRecord(record, path));
  const recorder::Value* value = record.Find(key);
  if (value == nullptr || value->is_nil()) return std::optional<Param>();
  std::string full = JoinRecordPath(path, key);
  if (!value->is_tensor()) {
    return absl::InvalidArgumentError(
        absl::StrCat("record path '", full, "': expected a parameter, got ",
                     ValueTypeName(*value)));
  }
  EMBER_ASSIGN_OR_RETURN(Param param,
                         ConvertParam(value->tensor(), std::move(full), rank));
  return std::optional<Param>(std::move(param));
}

absl::Status CheckParamShape(const Param& param,
                             const std::vector<int64_t>& expected,
                             absl::string_view what) {
  bool fits = param.shape.size() == expected.size();
  for (size_t i = 0; fits && i < expected.size(); ++i) {
    fits = expected[i] < 0 || expected[i] == param.shape[i];
  }
  if (fits) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      "record path '", param.path, "': shape ", ShapeToString(param.shape),
      " does not match ", ShapeToString(expected), " required by ", what));
}

absl::StatusOr<const recorder::Value*> FindSubModule(
    const recorder::Value& record, absl::string_view path,
    absl::string_view key) {
  EMBER_RETURN_IF_ERROR(CheckModuleRecord(record, path));
  const recorder::Value* value = record.Find(key);
  std::string full = JoinRecordPath(path, key);
  if (value == nullptr || value->is_nil()) {
    return absl::NotFoundError(
        absl::StrCat("record path '", full, "': missing module"));
  }
  EMBER_RETURN_IF_ERROR(CheckModuleRecord(*value, full));
  return value;
}

}  // namespace ember::model
