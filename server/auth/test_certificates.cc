#include "server/auth/test_certificates.h"

#include <stdlib.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace ember::auth {
namespace {

absl::Status Run(const std::string& command) {
  const std::string quiet = command + " >/dev/null 2>&1";
  if (system(quiet.c_str()) != 0) {
    return absl::InternalError(absl::StrCat("command failed: ", command));
  }
  return absl::OkStatus();
}

}  // namespace

std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

absl::StatusOr<TestCertificates> MakeTestCertificates(const std::string& dir) {
  if (system("command -v openssl >/dev/null 2>&1") != 0) {
    return absl::FailedPreconditionError(
        "the openssl command line is not installed");
  }
  mkdir(dir.c_str(), 0700);
  TestCertificates c;
  c.ca_cert = dir + "/ca.pem";
  const std::string ca_key = dir + "/ca.key";
  c.server_cert = dir + "/server.pem";
  c.server_key = dir + "/server.key";
  c.client_cert = dir + "/client.pem";
  c.client_key = dir + "/client.key";
  c.other_key = dir + "/other.key";
  const std::string ext = dir + "/server.ext";
  {
    std::ofstream out(ext);
    out << "subjectAltName=DNS:localhost,IP:127.0.0.1\n";
  }

  const std::string req = "openssl req -new -nodes -newkey rsa:2048 ";
  const std::string sign = "openssl x509 -req -days 2 -CA " + c.ca_cert +
                           " -CAkey " + ca_key + " -CAcreateserial ";
  const std::string commands[] = {
      "openssl req -x509 -new -nodes -newkey rsa:2048 -days 2 -subj "
      "/CN=ember-test-ca -keyout " +
          ca_key + " -out " + c.ca_cert,
      req + "-subj /CN=localhost -keyout " + c.server_key + " -out " + dir +
          "/server.csr",
      sign + "-in " + dir + "/server.csr -extfile " + ext + " -out " +
          c.server_cert,
      req + "-subj /CN=ember-test-client -keyout " + c.client_key + " -out " +
          dir + "/client.csr",
      sign + "-in " + dir + "/client.csr -out " + c.client_cert,
      "openssl genrsa -out " + c.other_key + " 2048",
  };
  for (const std::string& command : commands) {
    absl::Status status = Run(command);
    if (!status.ok()) return status;
  }
  c.ca_pem = ReadWholeFile(c.ca_cert);
  c.client_cert_pem = ReadWholeFile(c.client_cert);
  c.client_key_pem = ReadWholeFile(c.client_key);
  return c;
}

}  // namespace ember::auth
