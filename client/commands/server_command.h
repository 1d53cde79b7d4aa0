// What every `ember` command that talks to a server shares: the connection
// flags (--server, --tls, --ca, --cert, --key, --token-file, --timeout and
// their environment variables), the mapping of errors to exit codes, and
// small output functions (aligned tables, byte sizes).
//
//   class PingCommand : public Command {
//     void DefineArgs(ArgParser& args) override { server_.Define(args); }
//     absl::Status Validate() override { return server_.Validate(); }
//     absl::Status Run(std::ostream& out) override {
//       EMBER_ASSIGN_OR_RETURN(std::unique_ptr<EmberClient> client,
//                              server_.Connect());
//       absl::StatusOr<bool> live = client->ServerLive();
//       if (!live.ok()) return ServerError(live.status());
//       ...
//     }
//     ServerFlags server_;
//   };

#ifndef EMBER_CLIENT_COMMANDS_SERVER_COMMAND_H_
#define EMBER_CLIENT_COMMANDS_SERVER_COMMAND_H_

#include <cstdint>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/commands/arg_parser.h"
#include "client/ember_client.h"

namespace ember::client {

// Environment variables read when the matching flag is not given.
inline constexpr char kServerEnv[] = "EMBER_SERVER";
inline constexpr char kTokenFileEnv[] = "EMBER_TOKEN_FILE";

// The connection flags of one invocation; not thread-safe.
class ServerFlags {
 public:
  // Declares the flags on `args`.
  void Define(ArgParser& args);

  // Checks the values (a usage error when wrong): the timeout parses and
  // is positive, --cert and --key come together.
  absl::Status Validate();

  // Client options from the flags and environment, with the token read
  // from its file. Errors name the file; a token is never printed.
  absl::StatusOr<ClientOptions> MakeOptions() const;
  // EmberClient::Create(MakeOptions()).
  absl::StatusOr<std::unique_ptr<EmberClient>> Connect() const;

  // The address used: --server, else $EMBER_SERVER, else localhost:8001.
  std::string server() const;
  // The parsed --timeout (after Validate). Default 60 s.
  absl::Duration timeout() const { return timeout_; }

 private:
  std::string server_;
  bool tls_ = false;
  std::string ca_file_;
  std::string cert_file_;
  std::string key_file_;
  std::string token_file_;
  std::string timeout_text_ = "60s";
  absl::Duration timeout_ = absl::Seconds(60);
};

// Reads a token file: the whole file, surrounding whitespace removed; it
// must hold one token without spaces. Errors name the file, never the
// contents.
absl::StatusOr<std::string> ReadTokenFile(const std::string& path);

// "30s", "2m", "1h30m", "500ms", or a plain number of seconds.
absl::StatusOr<absl::Duration> ParseTimeout(const std::string& text);

// Prepares a failed call's status for the dispatcher: exit code 3 when the
// server was never reached (IsConnectionFailure), else exit code 1 and the
// message led by the code ("NOT_FOUND: model ...").
absl::Status ServerError(absl::Status status);

// 512 -> "512 B", 20255 -> "19.8 KiB", 1221583 -> "1.2 MiB".
std::string HumanBytes(uint64_t bytes);

// Writes `rows` (the first one the header) with columns padded to their
// widest cell and separated by two spaces; no trailing spaces.
void PrintTable(const std::vector<std::vector<std::string>>& rows,
                std::ostream& out);

}  // namespace ember::client

#endif  // EMBER_CLIENT_COMMANDS_SERVER_COMMAND_H_
