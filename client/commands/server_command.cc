#include "client/commands/server_command.h"

#include <stdlib.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "client/commands/command.h"
#include "common/status_macros.h"

namespace ember::client {

void ServerFlags::Define(ArgParser& args) {
  args.AddString("server", "HOST:PORT", &server_,
                 "server address (default $EMBER_SERVER, else "
                 "localhost:8001)");
  args.AddBool("tls", &tls_, "connect with TLS");
  args.AddString("ca", "FILE", &ca_file_,
                 "PEM file of the CA that signed the server's certificate "
                 "(with --tls; default: the system's CAs)");
  args.AddString("cert", "FILE", &cert_file_,
                 "client certificate (PEM) for mutual TLS, with --key");
  args.AddString("key", "FILE", &key_file_, "private key (PEM) of --cert");
  args.AddString("token-file", "FILE", &token_file_,
                 "file holding the bearer token (default $EMBER_TOKEN_FILE)");
  args.AddString("timeout", "DURATION", &timeout_text_,
                 "deadline of each call, e.g. 30s, 2m (default 60s)");
}

absl::Status ServerFlags::Validate() {
  EMBER_ASSIGN_OR_RETURN(timeout_, ParseTimeout(timeout_text_));
  if (cert_file_.empty() != key_file_.empty()) {
    return absl::InvalidArgumentError("--cert and --key go together");
  }
  if (!tls_ && (!ca_file_.empty() || !cert_file_.empty())) {
    return absl::InvalidArgumentError("--ca, --cert and --key need --tls");
  }
  return absl::OkStatus();
}

std::string ServerFlags::server() const {
  if (!server_.empty()) return server_;
  const char* env = getenv(kServerEnv);
  if (env != nullptr && *env != '\0') return env;
  return "localhost:8001";
}

absl::StatusOr<std::unique_ptr<EmberClient>> ServerFlags::Connect() const {
  EMBER_ASSIGN_OR_RETURN(ClientOptions options, MakeOptions());
  return EmberClient::Create(std::move(options));
}

absl::StatusOr<ClientOptions> ServerFlags::MakeOptions() const {
  ClientOptions options;
  options.server = server();
  options.tls = tls_;
  options.ca_file = ca_file_;
  options.client_cert_file = cert_file_;
  options.client_key_file = key_file_;
  options.timeout = timeout_;
  std::string token_file = token_file_;
  if (token_file.empty()) {
    const char* env = getenv(kTokenFileEnv);
    if (env != nullptr) token_file = env;
  }
  if (!token_file.empty()) {
    EMBER_ASSIGN_OR_RETURN(options.token, ReadTokenFile(token_file));
  }
  return options;
}

absl::StatusOr<std::string> ReadTokenFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(absl::StrCat("cannot read token file ", path));
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  const std::string token(absl::StripAsciiWhitespace(buffer.str()));
  if (token.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("token file ", path, " is empty"));
  }
  for (char c : token) {
    if (absl::ascii_isspace(static_cast<unsigned char>(c)) ||
        !absl::ascii_isprint(static_cast<unsigned char>(c))) {
      return absl::InvalidArgumentError(absl::StrCat(
          "token file ", path,
          " must hold just the token (one word of printable characters)"));
    }
  }
  return token;
}

absl::StatusOr<absl::Duration> ParseTimeout(const std::string& text) {
  absl::Duration duration;
  double seconds = 0;
  if (absl::SimpleAtod(text, &seconds)) {
    duration = absl::Seconds(seconds);
  } else if (!absl::ParseDuration(text, &duration)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--timeout: cannot read \"", text, "\" as a duration (e.g. 30s, 2m)"));
  }
  if (duration <= absl::ZeroDuration() ||
      duration == absl::InfiniteDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--timeout must be positive and finite, not ", text));
  }
  return duration;
}

absl::Status ServerError(absl::Status status) {
  if (IsConnectionFailure(status)) {
    return WithExitCode(std::move(status), kExitUnreachable);
  }
  // The code first, as grpcurl prints it: scripts and people can tell
  // NOT_FOUND from PERMISSION_DENIED without parsing prose.
  return absl::Status(
      status.code(), absl::StrCat(absl::StatusCodeToString(status.code()), ": ",
                                  status.message()));
}

std::string HumanBytes(uint64_t bytes) {
  if (bytes < 1024) return absl::StrCat(bytes, " B");
  static const char* const kUnits[] = {"KiB", "MiB", "GiB", "TiB"};
  double value = bytes / 1024.0;
  int unit = 0;
  while (value >= 1024 && unit < 3) {
    value /= 1024;
    ++unit;
  }
  char text[32];
  std::snprintf(text, sizeof(text), "%.1f %s", value, kUnits[unit]);
  return text;
}

void PrintTable(const std::vector<std::vector<std::string>>& rows,
                std::ostream& out) {
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    if (widths.size() < row.size()) widths.resize(row.size(), 0);
    for (size_t i = 0; i < row.size(); ++i) {
      widths[i] = std::max(widths[i], row[i].size());
    }
  }
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) {
        line += std::string(widths[i] - row[i].size() + 2, ' ');
      }
    }
    line.erase(line.find_last_not_of(' ') + 1);
    out << line << "\n";
  }
}

}  // namespace ember::client
