#include "recorder/gzip.h"

#include <zlib.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gtest/gtest.h"

namespace ember::recorder::internal {
namespace {

// `payload` deflated in one Write.
absl::StatusOr<std::string> Gzip(absl::string_view payload) {
  std::string out;
  GzipWriter gz([&out](absl::string_view piece) {
    out.append(piece.data(), piece.size());
    return absl::OkStatus();
  });
  absl::Status status = gz.Write(payload);
  if (status.ok()) status = gz.Finish();
  if (!status.ok()) return status;
  return out;
}

std::string Pattern(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 131) >> 3);
  return s;
}

TEST(GzipTest, RoundTripWithBurnHeader) {
  const std::string payload = Pattern(300000);
  absl::StatusOr<std::string> gz = Gzip(payload);
  ASSERT_TRUE(gz.ok()) << gz.status();
  ASSERT_GE(gz->size(), 18u);
  EXPECT_EQ(gz->substr(0, 10),
            std::string("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff", 10));
  EXPECT_TRUE(IsGzip(*gz));
  EXPECT_FALSE(IsGzip(payload));
  absl::StatusOr<std::shared_ptr<const std::string>> back =
      GunzipBounded(*gz, "x.mpk.gz", 1 << 30);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(**back == payload);
}

// zlib in one call, the reference the piecewise writer must match.
std::string DeflateInOneCall(const std::string& payload) {
  z_stream zs;
  std::memset(&zs, 0, sizeof(zs));
  EXPECT_EQ(
      deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY),
      Z_OK);
  gz_header header;
  std::memset(&header, 0, sizeof(header));
  header.os = 255;
  deflateSetHeader(&zs, &header);
  std::string out(deflateBound(&zs, payload.size()) + 64, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(payload.data()));
  zs.avail_in = static_cast<uInt>(payload.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(out.size() - zs.avail_out);
  deflateEnd(&zs);
  return out;
}

TEST(GzipTest, PiecewiseWritesGiveTheOneCallBytes) {
  // Compressible and incompressible parts, larger than the output buffer.
  std::string payload = Pattern(700000);
  uint32_t state = 7;
  for (int i = 0; i < 400000; ++i) {
    state = state * 1664525u + 1013904223u;
    payload.push_back(static_cast<char>(state >> 24));
  }
  const std::string want = DeflateInOneCall(payload);
  for (size_t piece : {size_t{1} << 30, size_t{65536}, size_t{4093}}) {
    std::string got;
    int calls = 0;
    GzipWriter gz([&](absl::string_view out) {
      got.append(out.data(), out.size());
      ++calls;
      return absl::OkStatus();
    });
    for (size_t at = 0; at < payload.size(); at += piece) {
      ASSERT_TRUE(gz.Write(absl::string_view(payload).substr(at, piece)).ok());
    }
    ASSERT_TRUE(gz.Finish().ok());
    EXPECT_TRUE(got == want) << "pieces of " << piece;
    EXPECT_GT(calls, 1);
  }
  EXPECT_TRUE(Gzip(payload).value() == want);
}

TEST(GzipTest, WriterStopsAtTheSinksError) {
  int calls = 0;
  GzipWriter gz([&](absl::string_view) {
    ++calls;
    return absl::ResourceExhaustedError("disk full");
  });
  absl::Status status = gz.Write(Pattern(1 << 20));
  status.Update(gz.Write("more"));
  status.Update(gz.Finish());
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(gz.Finish().message(), "disk full");
  EXPECT_EQ(calls, 1);
}

TEST(GzipTest, EmptyPayload) {
  absl::StatusOr<std::string> gz = Gzip("");
  ASSERT_TRUE(gz.ok());
  absl::StatusOr<std::shared_ptr<const std::string>> back =
      GunzipBounded(*gz, "x", 100);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE((*back)->empty());
}

TEST(GzipTest, ConcatenatedMembersAreOneStream) {
  const std::string a = Gzip("hello ").value();
  const std::string b = Gzip("world").value();
  absl::StatusOr<std::shared_ptr<const std::string>> back =
      GunzipBounded(a + b, "x", 100);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(**back, "hello world");
}

TEST(GzipTest, LimitStopsBombsExactlyAtTheBound) {
  const std::string gz = Gzip(std::string(1 << 20, 'a')).value();
  EXPECT_TRUE(GunzipBounded(gz, "x", 1 << 20).ok());
  absl::StatusOr<std::shared_ptr<const std::string>> over =
      GunzipBounded(gz, "bomb.mpk.gz", (1 << 20) - 1);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(over.status().message().find("bomb.mpk.gz"), std::string::npos);
}

TEST(GzipTest, CorruptTruncatedAndTrailingGarbage) {
  const std::string gz = Gzip(Pattern(100000)).value();
  std::string corrupt = gz;
  corrupt[gz.size() - 6] ^= 1;  // the CRC
  EXPECT_EQ(GunzipBounded(corrupt, "x", 1 << 30).status().code(),
            absl::StatusCode::kDataLoss);
  absl::StatusOr<std::shared_ptr<const std::string>> cut =
      GunzipBounded(gz.substr(0, gz.size() / 2), "x", 1 << 30);
  ASSERT_FALSE(cut.ok());
  EXPECT_NE(cut.status().message().find("truncated"), std::string::npos);
  EXPECT_EQ(GunzipBounded(gz + "junkjunkjunk", "x", 1 << 30).status().code(),
            absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace ember::recorder::internal
