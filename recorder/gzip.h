// Gzip for Burn's NamedMpkGzFileRecorder files: bounded inflation (so a
// gzip bomb cannot exhaust memory) and deflation with Burn's header.
// Internal to the codec; use codec.h.
//
//   EMBER_ASSIGN_OR_RETURN(auto payload, GunzipBounded(file, "m.mpk.gz",
//                                                      uint64_t{1} << 30));

#ifndef EMBER_RECORDER_GZIP_H_
#define EMBER_RECORDER_GZIP_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "recorder/record.h"

struct z_stream_s;
struct gz_header_s;

namespace ember::recorder::internal {

// True when `data` starts with the gzip magic 1f 8b.
bool IsGzip(absl::string_view data);

// Inflates a gzip stream (concatenated members are one stream, RFC 1952).
// The output grows with the data actually inflated, never from a size the
// stream claims; beyond `limit` bytes it stops with ResourceExhausted.
// Corrupt or truncated input is DataLoss. `source` names the file in errors.
absl::StatusOr<std::shared_ptr<const std::string>> GunzipBounded(
    absl::string_view in, absl::string_view source, uint64_t limit);

// Deflates at level 6 with Burn's header, 1f 8b 08 00 00000000 00 ff (no
// name, mtime 0, OS unknown), fed piece by piece: the bytes written to
// `out` are the same however the input was split (what zlib gives for it
// in one call). Not thread-safe.
//
//   GzipWriter gz(out);
//   EMBER_RETURN_IF_ERROR(gz.Write(first));
//   EMBER_RETURN_IF_ERROR(gz.Write(second));
//   EMBER_RETURN_IF_ERROR(gz.Finish());
class GzipWriter {
 public:
  explicit GzipWriter(ByteSink out);
  ~GzipWriter();
  GzipWriter(const GzipWriter&) = delete;
  GzipWriter& operator=(const GzipWriter&) = delete;

  absl::Status Write(absl::string_view piece);
  // Ends the stream; call once, after the last Write.
  absl::Status Finish();

 private:
  static constexpr size_t kBufferSize = size_t{256} << 10;

  absl::Status Deflate(absl::string_view piece, int flush);

  ByteSink out_;
  std::unique_ptr<z_stream_s> stream_;
  std::unique_ptr<gz_header_s> header_;
  std::string buffer_;  // deflate's output, handed to out_ when produced
  absl::Status status_;
};

}  // namespace ember::recorder::internal

#endif  // EMBER_RECORDER_GZIP_H_
