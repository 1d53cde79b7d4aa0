#include "server/auth/auth_policy.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "glog/logging.h"

namespace ember::auth {
namespace {

constexpr int kRoleCount = 3;
constexpr absl::string_view kRoleNames[kRoleCount] = {"write", "read", "infer"};
constexpr size_t kMinTokenLength = 16;
constexpr size_t kMaxTokenLength = 4096;

// Which role index grants which permission: a lower index is stronger.
int WeakestRoleFor(Permission permission) {
  switch (permission) {
    case Permission::kWrite:
      return 0;
    case Permission::kRead:
      return 1;
    case Permission::kInfer:
      return 2;
  }
  return 0;
}

absl::Status ValidateToken(absl::string_view token, absl::string_view where) {
  if (token.size() < kMinTokenLength || token.size() > kMaxTokenLength) {
    return absl::InvalidArgumentError(absl::StrCat(
        where, ": a token must have ", kMinTokenLength, " to ", kMaxTokenLength,
        " characters, this one has ", token.size()));
  }
  for (char c : token) {
    if (c <= ' ' || c > '~') {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ": a token may only hold printable ASCII without spaces"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::string_view PermissionName(Permission permission) {
  return kRoleNames[WeakestRoleFor(permission)];
}

absl::StatusOr<std::unique_ptr<AuthPolicy>> AuthPolicy::Create(
    Options options) {
  if (options.write_tokens.empty()) {
    return absl::InvalidArgumentError(
        "auth policy: at least one write token is required (use an open "
        "policy to serve without tokens)");
  }
  std::unique_ptr<AuthPolicy> policy(new AuthPolicy());
  const std::vector<std::string>* lists[kRoleCount] = {
      &options.write_tokens, &options.read_tokens, &options.infer_tokens};
  for (int role = 0; role < kRoleCount; ++role) {
    for (size_t i = 0; i < lists[role]->size(); ++i) {
      const std::string& token = (*lists[role])[i];
      absl::Status valid = ValidateToken(
          token, absl::StrCat(kRoleNames[role], " token #", i + 1));
      if (!valid.ok()) return valid;
      Digest digest;
      SHA256(reinterpret_cast<const unsigned char*>(token.data()), token.size(),
             digest.data());
      policy->digests_[role].push_back(digest);
    }
  }
  return policy;
}

std::unique_ptr<AuthPolicy> AuthPolicy::Open() {
  std::unique_ptr<AuthPolicy> policy(new AuthPolicy());
  policy->open_ = true;
  return policy;
}

absl::StatusOr<AuthPolicy::Options> AuthPolicy::LoadTokenFile(
    const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat("token file ", path, ": cannot be opened for reading"));
  }
  struct stat st;
  if (stat(path.c_str(), &st) == 0 && (st.st_mode & (S_IRWXG | S_IRWXO))) {
    LOG(WARNING) << "token file " << path
                 << " is accessible by group or others; chmod 600 it";
  }

  Options options;
  std::vector<std::string>* lists[kRoleCount] = {
      &options.write_tokens, &options.read_tokens, &options.infer_tokens};
  std::string line;
  int line_number = 0;
  while (std::getline(in, line)) {
    ++line_number;
    absl::string_view text = absl::StripAsciiWhitespace(line);
    if (text.empty() || absl::StartsWith(text, "#")) continue;
    const std::string where = absl::StrCat(path, ":", line_number);

    std::pair<absl::string_view, absl::string_view> parts =
        absl::StrSplit(text, absl::MaxSplits(':', 1));
    absl::string_view role = absl::StripAsciiWhitespace(parts.first);
    absl::string_view token = absl::StripAsciiWhitespace(parts.second);
    int index = -1;
    for (int r = 0; r < kRoleCount; ++r) {
      if (role == kRoleNames[r]) index = r;
    }
    if (index < 0 || text.find(':') == absl::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ": expected `write: <token>`, `read: <token>` or ",
          "`infer: <token>`"));
    }
    absl::Status valid = ValidateToken(token, where);
    if (!valid.ok()) return valid;
    lists[index]->emplace_back(token);
  }
  if (in.bad()) {
    return absl::DataLossError(
        absl::StrCat("token file ", path, ": read error"));
  }
  if (options.write_tokens.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("token file ", path, ": no `write: <token>` line"));
  }
  return options;
}

bool AuthPolicy::Requires(Permission permission) const {
  if (open_) return false;
  // Writes always need a token. Reads need one when read or infer tokens
  // exist (guarding inference but not the weights themselves would be a
  // configuration mistake); inference needs one when infer tokens exist.
  const int weakest = WeakestRoleFor(permission);
  if (weakest == 0) return true;
  for (int role = weakest; role < kRoleCount; ++role) {
    if (!digests_[role].empty()) return true;
  }
  return false;
}

int AuthPolicy::RoleOf(absl::string_view token) const {
  Digest digest;
  SHA256(reinterpret_cast<const unsigned char*>(token.data()), token.size(),
         digest.data());
  // Every configured digest is compared, whatever matched before, so the
  // time taken says nothing about which token (if any) matched.
  int best = -1;
  for (int role = kRoleCount - 1; role >= 0; --role) {
    for (const Digest& known : digests_[role]) {
      const bool match =
          CRYPTO_memcmp(known.data(), digest.data(), digest.size()) == 0;
      best = match ? role : best;
    }
  }
  return best;
}

grpc::Status AuthPolicy::Check(const grpc::ServerContext& context,
                               Permission permission) const {
  if (!Requires(permission)) return grpc::Status::OK;
  const auto& metadata = context.client_metadata();
  auto it = metadata.find("authorization");
  if (it == metadata.end()) return CheckHeader(nullptr, permission);
  const absl::string_view header(it->second.data(), it->second.size());
  return CheckHeader(&header, permission);
}

grpc::Status AuthPolicy::CheckHeader(const absl::string_view* header,
                                     Permission permission) const {
  if (!Requires(permission)) return grpc::Status::OK;
  const std::string needed(PermissionName(permission));
  if (header == nullptr) {
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                        "this call needs a " + needed +
                            " token: send metadata `authorization: Bearer "
                            "<token>`");
  }
  absl::string_view value = absl::StripAsciiWhitespace(*header);
  constexpr absl::string_view kScheme = "bearer ";
  if (value.size() <= kScheme.size() ||
      !absl::EqualsIgnoreCase(value.substr(0, kScheme.size()), kScheme)) {
    return grpc::Status(
        grpc::StatusCode::UNAUTHENTICATED,
        "the authorization metadata must read `Bearer <token>`");
  }
  absl::string_view token =
      absl::StripAsciiWhitespace(value.substr(kScheme.size()));
  const int role = RoleOf(token);
  if (role < 0 || role > WeakestRoleFor(permission)) {
    return grpc::Status(
        grpc::StatusCode::PERMISSION_DENIED,
        "the bearer token does not grant " + needed + " access");
  }
  return grpc::Status::OK;
}

}  // namespace ember::auth
