// Throwaway PKI for tests: a CA, a server certificate for "localhost" and
// a client certificate, made with the `openssl` command line in a temp
// directory.
//
//   absl::StatusOr<TestCertificates> certs =
//       MakeTestCertificates(std::string(getenv("TEST_TMPDIR")) + "/pki");
//   ASSERT_TRUE(certs.ok()) << certs.status();
//   TlsOptions tls{certs->server_cert, certs->server_key, certs->ca_cert};

#ifndef EMBER_SERVER_AUTH_TEST_CERTIFICATES_H_
#define EMBER_SERVER_AUTH_TEST_CERTIFICATES_H_

#include <string>

#include "absl/status/statusor.h"

namespace ember::auth {

// Paths of PEM files; the `*_pem` members hold their contents.
struct TestCertificates {
  std::string ca_cert;
  std::string server_cert;  // CN and subjectAltName "localhost"
  std::string server_key;
  std::string client_cert;  // signed by the same CA
  std::string client_key;
  std::string other_key;  // a key that matches no certificate

  std::string ca_pem;
  std::string client_cert_pem;
  std::string client_key_pem;
};

// Creates `dir` and the files in it. FAILED_PRECONDITION when the openssl
// command is missing; INTERNAL when a command fails.
absl::StatusOr<TestCertificates> MakeTestCertificates(const std::string& dir);

// Whole contents of a file ("" when unreadable).
std::string ReadWholeFile(const std::string& path);

}  // namespace ember::auth

#endif  // EMBER_SERVER_AUTH_TEST_CERTIFICATES_H_
