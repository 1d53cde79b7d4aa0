#include "server/auth/tls_credentials.h"

#include <errno.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <string.h>

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "grpcpp/security/server_credentials.h"

namespace ember::auth {
namespace {

absl::StatusOr<std::string> ReadPemFile(const std::string& path,
                                        absl::string_view what) {
  if (path.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("TLS: no ", what, " file given"));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int error = errno;
    const std::string message = absl::StrCat(
        "TLS ", what, " file ", path, ": cannot be read: ", strerror(error));
    if (error == EACCES) return absl::PermissionDeniedError(message);
    return absl::NotFoundError(message);
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    return absl::DataLossError(
        absl::StrCat("TLS ", what, " file ", path, ": read error"));
  }
  return text.str();
}

struct BioDeleter {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct X509Deleter {
  void operator()(X509* cert) const { X509_free(cert); }
};
struct KeyDeleter {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};

std::unique_ptr<BIO, BioDeleter> MemoryBio(const std::string& text) {
  return std::unique_ptr<BIO, BioDeleter>(
      BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

// The first certificate in `pem`, or an error naming `path`.
absl::StatusOr<std::unique_ptr<X509, X509Deleter>> FirstCertificate(
    const std::string& pem, const std::string& path, absl::string_view what) {
  auto bio = MemoryBio(pem);
  std::unique_ptr<X509, X509Deleter> cert(
      PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  ERR_clear_error();
  if (cert == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "TLS ", what, " file ", path, ": holds no PEM certificate"));
  }
  return cert;
}

absl::Status CheckKeyMatches(const std::string& key_pem, X509* cert,
                             const TlsOptions& options) {
  auto bio = MemoryBio(key_pem);
  std::unique_ptr<EVP_PKEY, KeyDeleter> key(
      PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  ERR_clear_error();
  if (key == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("TLS key file ", options.key_file,
                     ": holds no unencrypted PEM private key"));
  }
  const int match = X509_check_private_key(cert, key.get());
  ERR_clear_error();
  if (match != 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "TLS key file ", options.key_file,
        " does not belong to the certificate in ", options.cert_file));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const TlsOptions& options) {
  absl::StatusOr<std::string> cert_pem =
      ReadPemFile(options.cert_file, "certificate");
  if (!cert_pem.ok()) return cert_pem.status();
  absl::StatusOr<std::string> key_pem = ReadPemFile(options.key_file, "key");
  if (!key_pem.ok()) return key_pem.status();

  auto cert = FirstCertificate(*cert_pem, options.cert_file, "certificate");
  if (!cert.ok()) return cert.status();
  absl::Status matches = CheckKeyMatches(*key_pem, cert->get(), options);
  if (!matches.ok()) return matches;

  grpc::SslServerCredentialsOptions ssl;
  ssl.pem_key_cert_pairs.push_back({*key_pem, *cert_pem});
  if (!options.client_ca_file.empty()) {
    absl::StatusOr<std::string> ca_pem =
        ReadPemFile(options.client_ca_file, "client CA");
    if (!ca_pem.ok()) return ca_pem.status();
    auto ca = FirstCertificate(*ca_pem, options.client_ca_file, "client CA");
    if (!ca.ok()) return ca.status();
    ssl.pem_root_certs = *ca_pem;
    ssl.client_certificate_request =
        GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
  }
  return grpc::SslServerCredentials(ssl);
}

std::shared_ptr<grpc::ServerCredentials> MakeInsecureServerCredentials() {
  return grpc::InsecureServerCredentials();
}

}  // namespace ember::auth
