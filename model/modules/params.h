// Reading a module's parameters out of its sub-record, as f32.
//
// A module record is a map keyed by field name (Burn's struct layout). These
// helpers find a parameter by key, check its rank, and convert it to f32
// whatever precision the file stored. Every error names the full record path
// of the parameter and the shape that was found or expected.
//
//   EMBER_RETURN_IF_ERROR(CheckModuleRecord(record, "fc1"));
//   EMBER_ASSIGN_OR_RETURN(Param w, LoadParam(record, "fc1", "weight", 2));
//   EMBER_ASSIGN_OR_RETURN(std::optional<Param> b,
//                          LoadOptionalParam(record, "fc1", "bias", 1));

#ifndef EMBER_MODEL_MODULES_PARAMS_H_
#define EMBER_MODEL_MODULES_PARAMS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "recorder/record.h"

namespace ember::model {

// A parameter converted to f32, row-major.
struct Param {
  std::string path;  // full record path, "fc1.weight"
  std::vector<int64_t> shape;
  // Empty when loaded under a ShapeOnlyScope.
  std::vector<float> values;
  // Loaded under a ShapeOnlyScope: checked like any other, not converted.
  bool shape_only = false;

  int64_t dim(int i) const { return shape[i]; }
  int64_t num_elements() const;
};

// While one exists on a thread, LoadParam and LoadOptionalParam on that
// thread make every check they make otherwise (presence, kind, rank,
// shape, byte count) but convert nothing: the Param they return has no
// values and `shape_only` set. Converting cannot fail once those checks
// pass, so a build under this scope fails exactly when a real build
// would. Modules skip work derived from values (transposes, folds,
// packing) for such params, keep their dimensions, and must never run:
// see CheckModel in model/model_builder.h, the one user. Scopes nest.
class ShapeOnlyScope {
 public:
  ShapeOnlyScope();
  ~ShapeOnlyScope();
  ShapeOnlyScope(const ShapeOnlyScope&) = delete;
  ShapeOnlyScope& operator=(const ShapeOnlyScope&) = delete;

  // Whether a scope is open on this thread.
  static bool Active();
};

// "fc1" + "weight" -> "fc1.weight"; "" + "weight" -> "weight".
std::string JoinRecordPath(absl::string_view path, absl::string_view key);
// "layers" + 1 -> "layers[1]".
std::string IndexRecordPath(absl::string_view path, size_t index);

// Fails unless `record` (found at `path`) is a module map.
absl::Status CheckModuleRecord(const recorder::Value& record,
                               absl::string_view path);

// Looks `key` up in the module map `record` (found at `path`) and returns it
// as f32. Fails when the key is missing or nil, is not a parameter, does not
// have rank `rank`, or cannot be converted.
absl::StatusOr<Param> LoadParam(const recorder::Value& record,
                                absl::string_view path, absl::string_view key,
                                int rank);

// Like LoadParam, but a missing or nil key (Burn's `Option<Param>` = None)
// gives std::nullopt.
absl::StatusOr<std::optional<Param>> LoadOptionalParam(
    const recorder::Value& record, absl::string_view path,
    absl::string_view key, int rank);

// Fails unless `param` has exactly `expected` shape (-1 matches any size);
// the message names `what` the shape must agree with.
absl::Status CheckParamShape(const Param& param,
                             const std::vector<int64_t>& expected,
                             absl::string_view what);

// Looks up a sub-module map `key` inside `record`; the error names the
// path. Missing or nil keys fail.
absl::StatusOr<const recorder::Value*> FindSubModule(
    const recorder::Value& record, absl::string_view path,
    absl::string_view key);

}  // namespace ember::model

#endif  // EMBER_MODEL_MODULES_PARAMS_H_
