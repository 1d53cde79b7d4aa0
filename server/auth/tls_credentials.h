// Builds gRPC server credentials for TLS and mutual TLS from PEM files.
//
// The files are read and checked here, at startup, so a wrong path or a key
// that does not belong to the certificate fails with a message that names
// the file instead of a handshake error on the first call:
//
//   TlsOptions tls;
//   tls.cert_file = "/etc/ember/server.pem";
//   tls.key_file = "/etc/ember/server.key";
//   tls.client_ca_file = "/etc/ember/clients-ca.pem";  // mutual TLS
//   EMBER_ASSIGN_OR_RETURN(std::shared_ptr<grpc::ServerCredentials> creds,
//                          MakeServerCredentials(tls));
//   builder.AddListeningPort("0.0.0.0:8001", creds);

#ifndef EMBER_SERVER_AUTH_TLS_CREDENTIALS_H_
#define EMBER_SERVER_AUTH_TLS_CREDENTIALS_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/security/server_credentials.h"

namespace ember::auth {

struct TlsOptions {
  // PEM certificate chain of the server (leaf first). Required.
  std::string cert_file;
  // PEM private key of that certificate. Required.
  std::string key_file;
  // PEM bundle of CAs that sign client certificates. Empty (the default)
  // means plain TLS: clients are not asked for a certificate. Set, it
  // means mutual TLS: every client must present a certificate that chains
  // to one of these CAs, or the handshake fails.
  std::string client_ca_file;
};

// Reads and checks the files of `options` and returns TLS credentials.
// Errors: NOT_FOUND / PERMISSION_DENIED for a file that cannot be read,
// INVALID_ARGUMENT for a file that holds no PEM certificate or key, or a
// key that does not match the certificate.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const TlsOptions& options);

// Unauthenticated, unencrypted credentials (loopback or a trusted network).
std::shared_ptr<grpc::ServerCredentials> MakeInsecureServerCredentials();

}  // namespace ember::auth

#endif  // EMBER_SERVER_AUTH_TLS_CREDENTIALS_H_
