// SHA-256 digests of record bytes, fed in pieces as they arrive.
//
//   Sha256 hash;
//   hash.Update(first_chunk);
//   hash.Update(second_chunk);
//   std::string hex = hash.HexDigest();  // 64 lower-case hex characters

#ifndef EMBER_COMMON_SHA256_H_
#define EMBER_COMMON_SHA256_H_

#include <openssl/types.h>

#include <string>

#include "absl/strings/string_view.h"

namespace ember {

// Incremental SHA-256. Not thread-safe; one per stream.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void Update(absl::string_view bytes);
  // Lower-case hex of the digest of everything passed to Update. Call once.
  std::string HexDigest();

 private:
  EVP_MD_CTX* context_;
};

// Lower-case hex SHA-256 of `bytes`.
std::string Sha256Hex(absl::string_view bytes);

// True when `hex` is 64 hexadecimal characters (either case).
bool IsSha256Hex(absl::string_view hex);

}  // namespace ember

#endif  // EMBER_COMMON_SHA256_H_
