// Client side of the records service for tests and the benchmark: one call
// uploads a whole byte string in chunks, one call downloads a record.
//
//   v1::UploadHeader header;
//   header.set_model("connect4");
//   UploadResult up = UploadRecord(*stub, header, bytes, {.token = write});
//   ASSERT_TRUE(up.status.ok()) << up.status.error_message();
//   DownloadResult down = DownloadRecord(*stub, request, {.token = read});

#ifndef EMBER_TESTS_RECORDS_TRANSFER_H_
#define EMBER_TESTS_RECORDS_TRANSFER_H_

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/support/status.h"
#include "proto/records.grpc.pb.h"

namespace ember::records::testing {

struct CallOptions {
  // Sent as `authorization: Bearer <token>` when not empty.
  std::string token;
  // Upload chunk size.
  size_t chunk_size = 1 << 20;
  // Upload: sent as UploadTrailer.sha256 after the chunks when not empty.
  std::string trailer_sha256;
  // Upload: one more chunk of these bytes after the trailer, when not
  // empty (a malformed stream).
  std::string after_trailer;
};

struct UploadResult {
  grpc::Status status;
  ember::records::v1::UploadResponse response;
};

// Sends `header`, then `bytes` in chunks, then half-closes and waits.
UploadResult UploadRecord(ember::records::v1::Records::StubInterface& stub,
                          const ember::records::v1::UploadHeader& header,
                          const std::string& bytes, const CallOptions& options);

struct DownloadResult {
  grpc::Status status;
  ember::records::v1::RecordInfo metadata;
  std::string bytes;
  int chunks = 0;  // chunk messages received
};

DownloadResult DownloadRecord(
    ember::records::v1::Records::StubInterface& stub,
    const ember::records::v1::DownloadRequest& request,
    const CallOptions& options);

// A Burn 0.16 Full-precision record of one Linear layer `layer` with a
// dim x dim weight and a bias (dim² + dim f32 values, deterministic), as
// an encoded .mpk: records of any size for tests and benchmarks.
absl::StatusOr<std::string> SquareLinearRecord(int dim);
// config.pbtxt text serving that record: x [-1, dim] -> y [-1, dim].
std::string SquareLinearConfig(int dim);

}  // namespace ember::records::testing

#endif  // EMBER_TESTS_RECORDS_TRANSFER_H_
