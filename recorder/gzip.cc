#include "recorder/gzip.h"

#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace ember::recorder::internal {

bool IsGzip(absl::string_view data) {
  return data.size() >= 2 && static_cast<uint8_t>(data[0]) == 0x1f &&
         static_cast<uint8_t>(data[1]) == 0x8b;
}

absl::StatusOr<std::shared_ptr<const std::string>> GunzipBounded(
    absl::string_view in, absl::string_view source, uint64_t limit) {
  z_stream zs;
  std::memset(&zs, 0, sizeof(zs));
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) {
    return absl::InternalError(absl::StrCat(source, ": inflateInit failed"));
  }
  auto out = std::make_shared<std::string>();
  // Start from a few times the input (typical ratios are 1-4x for weights)
  // and grow geometrically; never from the size the trailer claims.
  uint64_t capacity = std::min<uint64_t>(
      limit, std::max<uint64_t>(in.size() * 4, uint64_t{1} << 16));
  out->resize(capacity);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  uint64_t in_left = in.size();
  uint64_t produced = 0;
  int rc = Z_OK;
  while (true) {
    if (zs.avail_in == 0) {
      const uInt chunk = static_cast<uInt>(
          std::min<uint64_t>(in_left, std::numeric_limits<uInt>::max()));
      zs.avail_in = chunk;
      in_left -= chunk;
    }
    if (produced == out->size()) {
      if (out->size() >= limit) {
        inflateEnd(&zs);
        return absl::ResourceExhaustedError(
            absl::StrCat(source, ": gzip payload inflates beyond the limit of ",
                         limit, " bytes (DecodeOptions::max_inflated_bytes)"));
      }
      out->resize(std::min<uint64_t>(limit, out->size() * 2));
    }
    const uint64_t room = out->size() - produced;
    zs.next_out = reinterpret_cast<Bytef*>(&(*out)[produced]);
    zs.avail_out = static_cast<uInt>(
        std::min<uint64_t>(room, std::numeric_limits<uInt>::max()));
    const uInt before = zs.avail_out;
    rc = inflate(&zs, Z_NO_FLUSH);
    produced += before - zs.avail_out;
    if (rc == Z_STREAM_END) {
      // Concatenated gzip members are one stream (RFC 1952).
      if (zs.avail_in == 0 && in_left == 0) break;
      if (inflateReset(&zs) != Z_OK) break;
      continue;
    }
    if (rc == Z_BUF_ERROR && zs.avail_in == 0 && in_left == 0) {
      inflateEnd(&zs);
      return absl::DataLossError(
          absl::StrCat(source, ": gzip stream is truncated after ", produced,
                       " inflated bytes"));
    }
    if (rc != Z_OK && rc != Z_BUF_ERROR) {
      std::string msg = zs.msg != nullptr ? zs.msg : "error";
      inflateEnd(&zs);
      return absl::DataLossError(absl::StrCat(source, ": corrupt gzip data (",
                                              msg, ") after ", produced,
                                              " inflated bytes"));
    }
  }
  inflateEnd(&zs);
  out->resize(produced);
  out->shrink_to_fit();
  return std::shared_ptr<const std::string>(std::move(out));
}

GzipWriter::GzipWriter(ByteSink out)
    : out_(std::move(out)), stream_(std::make_unique<z_stream>()) {
  std::memset(stream_.get(), 0, sizeof(z_stream));
  if (deflateInit2(stream_.get(), 6, Z_DEFLATED, 16 + MAX_WBITS, 8,
                   Z_DEFAULT_STRATEGY) != Z_OK) {
    stream_.reset();
    status_ = absl::InternalError("deflateInit2 failed");
    return;
  }
  // Burn's header: no name, mtime 0, OS 255 (unknown). zlib keeps a pointer
  // to it until the header is written, on the first deflate call.
  header_ = std::make_unique<gz_header>();
  std::memset(header_.get(), 0, sizeof(gz_header));
  header_->os = 255;
  deflateSetHeader(stream_.get(), header_.get());
  buffer_.resize(kBufferSize);
}

GzipWriter::~GzipWriter() {
  if (stream_ != nullptr) deflateEnd(stream_.get());
}

absl::Status GzipWriter::Write(absl::string_view piece) {
  return Deflate(piece, Z_NO_FLUSH);
}

absl::Status GzipWriter::Finish() { return Deflate({}, Z_FINISH); }

absl::Status GzipWriter::Deflate(absl::string_view piece, int flush) {
  if (!status_.ok()) return status_;
  z_stream& zs = *stream_;
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(piece.data()));
  uint64_t in_left = piece.size();
  zs.avail_in = 0;
  while (true) {
    if (zs.avail_in == 0 && in_left > 0) {
      const uInt chunk = static_cast<uInt>(
          std::min<uint64_t>(in_left, std::numeric_limits<uInt>::max()));
      zs.avail_in = chunk;
      in_left -= chunk;
    }
    zs.next_out = reinterpret_cast<Bytef*>(buffer_.data());
    zs.avail_out = static_cast<uInt>(buffer_.size());
    const int rc = deflate(&zs, in_left == 0 ? flush : Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_BUF_ERROR && rc != Z_STREAM_END) {
      status_ = absl::InternalError(absl::StrCat("deflate failed: ", rc));
      return status_;
    }
    const size_t produced = buffer_.size() - zs.avail_out;
    if (produced > 0) {
      status_ = out_(absl::string_view(buffer_.data(), produced));
      if (!status_.ok()) return status_;
    }
    if (rc == Z_STREAM_END) return absl::OkStatus();
    // Done with this piece once zlib has taken all of it and had room left
    // over (for Z_FINISH, only Z_STREAM_END ends it).
    if (flush != Z_FINISH && in_left == 0 && zs.avail_in == 0 &&
        zs.avail_out != 0) {
      return absl::OkStatus();
    }
  }
}

}  // namespace ember::recorder::internal
