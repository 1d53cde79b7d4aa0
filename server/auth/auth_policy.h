// Bearer-token access control shared by every Ember gRPC service.
//
// Tokens come from a token file (see `LoadTokenFile` for its format), one
// role per line. A call carries its token as gRPC metadata
// `authorization: Bearer <token>`; each RPC handler asks the policy whether
// the call may do what it is about to do, before it touches anything:
//
//   EMBER_ASSIGN_OR_RETURN(AuthPolicy::Options options,
//                          AuthPolicy::LoadTokenFile("/etc/ember/tokens"));
//   EMBER_ASSIGN_OR_RETURN(std::unique_ptr<AuthPolicy> policy,
//                          AuthPolicy::Create(std::move(options)));
//   ...
//   grpc::Status status = policy->Check(*context, Permission::kWrite);
//   if (!status.ok()) return status;
//
// Tokens are kept only as SHA-256 digests and compared in constant time;
// neither a token nor its digest is ever logged or put in an error message.

#ifndef EMBER_SERVER_AUTH_AUTH_POLICY_H_
#define EMBER_SERVER_AUTH_AUTH_POLICY_H_

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/status.h"

namespace ember::auth {

// What a call wants to do.
enum class Permission {
  // Change the repository: upload records, load and unload models.
  kWrite,
  // Read weights: download records, list records.
  kRead,
  // Run inference and read model metadata.
  kInfer,
};

// "write", "read" or "infer".
absl::string_view PermissionName(Permission permission);

// Decides, from a call's bearer token, whether it may do something.
// Immutable after Create; thread-safe.
//
// Rules:
//  - A permission with no token configured is open: any call may do it,
//    with or without a token. `write` always needs a token unless the
//    policy is `Open()`.
//  - The write token grants every permission; the read token grants
//    kRead and kInfer; the infer token grants kInfer only.
//  - No `authorization` header, or one that is not `Bearer <token>`:
//    UNAUTHENTICATED. A token that does not grant the permission:
//    PERMISSION_DENIED.
class AuthPolicy {
 public:
  struct Options {
    // Accepted tokens per role. Several tokens per role may be given (for
    // rotation). Each token is 16..4096 printable ASCII characters without
    // spaces.
    std::vector<std::string> write_tokens;
    std::vector<std::string> read_tokens;
    std::vector<std::string> infer_tokens;
  };

  // Fails with INVALID_ARGUMENT when `write_tokens` is empty or a token is
  // malformed (the message names the role and position, not the token).
  static absl::StatusOr<std::unique_ptr<AuthPolicy>> Create(Options options);

  // A policy that allows every call: for servers that rely on a network
  // boundary instead of tokens. The daemon should log a warning when it
  // uses one.
  static std::unique_ptr<AuthPolicy> Open();

  // Reads a token file. Format, one entry per line:
  //
  //   # comment
  //   write: <token>
  //   read: <token>
  //   infer: <token>
  //
  // Blank lines and lines starting with `#` are ignored; spaces around the
  // role and token are ignored; roles may repeat. Errors name the file and
  // line but never echo a token. Logs a warning when the file is readable
  // by group or others.
  static absl::StatusOr<Options> LoadTokenFile(const std::string& path);

  // OK when the call's token grants `permission` (see the class comment).
  grpc::Status Check(const grpc::ServerContext& context,
                     Permission permission) const;

  // Same decision from the raw `authorization` header value; `header` is
  // nullptr when the call has none. Exposed for callers that are not
  // gRPC handlers.
  grpc::Status CheckHeader(const absl::string_view* header,
                           Permission permission) const;

  // True when `permission` needs a token at all.
  bool Requires(Permission permission) const;

 private:
  using Digest = std::array<unsigned char, 32>;

  AuthPolicy() = default;
  // Index of the strongest role the token holds: 0 write, 1 read,
  // 2 infer; -1 when it matches no configured token.
  int RoleOf(absl::string_view token) const;

  bool open_ = false;
  // Per role (write, read, infer), digests of the accepted tokens.
  std::array<std::vector<Digest>, 3> digests_;
};

}  // namespace ember::auth

#endif  // EMBER_SERVER_AUTH_AUTH_POLICY_H_
