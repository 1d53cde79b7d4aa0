// Parsing and validation of a declarative layer's `settings` map.
//
// Settings are the values a Burn record does not carry (stride, epsilon,
// axis, ...). Each getter parses one key, applies its documented default
// when the key is absent, and rejects values that do not parse or are out
// of range. After reading every key a layer type knows, `CheckAllUsed`
// rejects the rest, so a misspelt key is an error, not a silent default.
//
//   LayerSettings settings(layer.settings());
//   EMBER_ASSIGN_OR_RETURN(std::vector<int64_t> stride,
//                          settings.GetInts("stride", {1, 1}, 2));
//   EMBER_RETURN_IF_ERROR(settings.CheckAllUsed());

#ifndef EMBER_MODEL_LAYER_SETTINGS_H_
#define EMBER_MODEL_LAYER_SETTINGS_H_

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/map.h"

namespace ember::model {

// Not thread-safe: one instance reads one layer's settings while it is
// built.
class LayerSettings {
 public:
  explicit LayerSettings(
      const google::protobuf::Map<std::string, std::string>& settings);
  explicit LayerSettings(std::map<std::string, std::string> settings);

  bool Has(absl::string_view key) const;

  // An integer in [min, max].
  absl::StatusOr<int64_t> GetInt(absl::string_view key, int64_t default_value,
                                 int64_t min, int64_t max);
  // A finite number in [min, max].
  absl::StatusOr<double> GetFloat(absl::string_view key, double default_value,
                                  double min, double max);
  // "true" or "false".
  absl::StatusOr<bool> GetBool(absl::string_view key, bool default_value);
  // A comma-separated list of integers, each in [`min`, 2^31]. A single value
  // is repeated `count` times ("2" -> {2, 2}); otherwise exactly `count` values
  // are required.
  absl::StatusOr<std::vector<int64_t>> GetInts(
      absl::string_view key, std::vector<int64_t> default_value, int count,
      int64_t min);
  // A comma-separated list of any length, each value in [`min`, 2^31].
  // Required.
  absl::StatusOr<std::vector<int64_t>> GetIntList(absl::string_view key,
                                                  int64_t min);
  // The raw string, or `default_value` when absent.
  std::string GetString(absl::string_view key, absl::string_view default_value);

  // Fails naming every key no getter asked for.
  absl::Status CheckAllUsed() const;

 private:
  const std::string* Find(absl::string_view key);

  std::map<std::string, std::string> settings_;
  std::set<std::string> used_;
};

}  // namespace ember::model

#endif  // EMBER_MODEL_LAYER_SETTINGS_H_
