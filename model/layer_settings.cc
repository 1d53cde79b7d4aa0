#include "model/layer_settings.h"

#include <cmath>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace ember::model {
namespace {

// Largest value a list setting (kernel, stride, shape, ...) may hold; far
// above any real model, and small enough that sizes computed from a few of
// them cannot overflow.
constexpr int64_t kMaxListValue = int64_t{1} << 31;

absl::Status BadValue(absl::string_view key, absl::string_view value,
                      absl::string_view expected) {
  return absl::InvalidArgumentError(absl::StrCat("setting '", key, "': value '",
                                                 value, "' is not ", expected));
}

}  // namespace

LayerSettings::LayerSettings(
    const google::protobuf::Map<std::string, std::string>& settings)
    : settings_(settings.begin(), settings.end()) {}

LayerSettings::LayerSettings(std::map<std::string, std::string> settings)
    : settings_(std::move(settings)) {}

bool LayerSettings::Has(absl::string_view key) const {
  return settings_.count(std::string(key)) > 0;
}

const std::string* LayerSettings::Find(absl::string_view key) {
  auto it = settings_.find(std::string(key));
  if (it == settings_.end()) return nullptr;
  used_.insert(it->first);
  return &it->second;
}

absl::StatusOr<int64_t> LayerSettings::GetInt(absl::string_view key,
                                              int64_t default_value,
                                              int64_t min, int64_t max) {
  const std::string* raw = Find(key);
  if (raw == nullptr) return default_value;
  int64_t value;
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(*raw), &value) ||
      value < min || value > max) {
    return BadValue(key, *raw,
                    absl::StrCat("an integer in [", min, ", ", max, "]"));
  }
  return value;
}

absl::StatusOr<double> LayerSettings::GetFloat(absl::string_view key,
                                               double default_value, double min,
                                               double max) {
  const std::string* raw = Find(key);
  if (raw == nullptr) return default_value;
  double value;
  if (!absl::SimpleAtod(absl::StripAsciiWhitespace(*raw), &value) ||
      !std::isfinite(value) || value < min || value > max) {
    return BadValue(key, *raw,
                    absl::StrCat("a number in [", min, ", ", max, "]"));
  }
  return value;
}

absl::StatusOr<bool> LayerSettings::GetBool(absl::string_view key,
                                            bool default_value) {
  const std::string* raw = Find(key);
  if (raw == nullptr) return default_value;
  absl::string_view v = absl::StripAsciiWhitespace(*raw);
  if (v == "true") return true;
  if (v == "false") return false;
  return BadValue(key, *raw, "'true' or 'false'");
}

absl::StatusOr<std::vector<int64_t>> LayerSettings::GetInts(
    absl::string_view key, std::vector<int64_t> default_value, int count,
    int64_t min) {
  if (!Has(key)) return default_value;
  std::string raw = *Find(key);
  absl::StatusOr<std::vector<int64_t>> values = GetIntList(key, min);
  if (!values.ok()) return values.status();
  if (values->size() == 1 && count > 1) {
    values->assign(count, values->front());
  }
  if (static_cast<int>(values->size()) != count) {
    return BadValue(key, raw,
                    absl::StrCat("1 or ", count, " comma-separated integers"));
  }
  return values;
}

absl::StatusOr<std::vector<int64_t>> LayerSettings::GetIntList(
    absl::string_view key, int64_t min) {
  const std::string* raw = Find(key);
  if (raw == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("setting '", key, "' is required"));
  }
  std::vector<int64_t> values;
  for (absl::string_view part : absl::StrSplit(*raw, ',')) {
    int64_t value;
    if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(part), &value) ||
        value < min || value > kMaxListValue) {
      return BadValue(key, *raw,
                      absl::StrCat("a comma-separated list of integers in [",
                                   min, ", ", kMaxListValue, "]"));
    }
    values.push_back(value);
  }
  return values;
}

std::string LayerSettings::GetString(absl::string_view key,
                                     absl::string_view default_value) {
  const std::string* raw = Find(key);
  if (raw == nullptr) return std::string(default_value);
  return std::string(absl::StripAsciiWhitespace(*raw));
}

absl::Status LayerSettings::CheckAllUsed() const {
  std::vector<std::string> unknown;
  for (const auto& [key, value] : settings_) {
    if (used_.count(key) == 0) unknown.push_back(key);
  }
  if (unknown.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("unknown setting(s) for this layer type: '",
                   absl::StrJoin(unknown, "', '"), "'"));
}

}  // namespace ember::model
