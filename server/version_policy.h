// Which versions of a model to serve, from the config's version_policy.
//
//   config::VersionPolicy policy;  // empty: latest 1
//   std::vector<int64_t> keep = SelectVersions(policy, {1, 2, 5});  // {5}

#ifndef EMBER_SERVER_VERSION_POLICY_H_
#define EMBER_SERVER_VERSION_POLICY_H_

#include <cstdint>
#include <set>
#include <string>

#include "proto/model_config.pb.h"

namespace ember::server {

// The subset of `available` the policy serves: the N highest for
// `latest` (N = 0 or an unset policy counts as 1), all of them for `all`,
// and the listed ones that are available for `specific`.
std::set<int64_t> SelectVersions(const config::VersionPolicy& policy,
                                 const std::set<int64_t>& available);

// "latest 2", "all", "specific [1, 3]": for logs and reasons.
std::string DescribePolicy(const config::VersionPolicy& policy);

}  // namespace ember::server

#endif  // EMBER_SERVER_VERSION_POLICY_H_
