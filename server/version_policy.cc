#include "server/version_policy.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace ember::server {

std::set<int64_t> SelectVersions(const config::VersionPolicy& policy,
                                 const std::set<int64_t>& available) {
  switch (policy.policy_choice_case()) {
    case config::VersionPolicy::kAll:
      return available;
    case config::VersionPolicy::kSpecific: {
      std::set<int64_t> selected;
      for (int64_t v : policy.specific().versions()) {
        if (available.count(v) > 0) selected.insert(v);
      }
      return selected;
    }
    case config::VersionPolicy::kLatest:
    case config::VersionPolicy::POLICY_CHOICE_NOT_SET:
      break;
  }
  uint32_t n = policy.has_latest() ? policy.latest().num_versions() : 1;
  if (n == 0) n = 1;
  std::set<int64_t> selected;
  for (auto it = available.rbegin(); it != available.rend() && n > 0;
       ++it, --n) {
    selected.insert(*it);
  }
  return selected;
}

std::string DescribePolicy(const config::VersionPolicy& policy) {
  switch (policy.policy_choice_case()) {
    case config::VersionPolicy::kAll:
      return "all";
    case config::VersionPolicy::kSpecific:
      return absl::StrCat(
          "specific [", absl::StrJoin(policy.specific().versions(), ", "), "]");
    default:
      break;
  }
  uint32_t n = policy.has_latest() ? policy.latest().num_versions() : 1;
  return absl::StrCat("latest ", n == 0 ? 1 : n);
}

}  // namespace ember::server
