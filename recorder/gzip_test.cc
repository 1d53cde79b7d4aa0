#include "recorder/gzip.h"

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "gtest/gtest.h"

namespace ember::recorder::internal {
namespace {

std::string Pattern(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 131) >> 3);
  return s;
}

TEST(GzipTest, RoundTripWithBurnHeader) {
  const std::string payload = Pattern(300000);
  absl::StatusOr<std::string> gz = GzipLikeBurn(payload);
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

TEST(GzipTest, EmptyPayload) {
  absl::StatusOr<std::string> gz = GzipLikeBurn("");
  ASSERT_TRUE(gz.ok());
  absl::StatusOr<std::shared_ptr<const std::string>> back =
      GunzipBounded(*gz, "x", 100);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE((*back)->empty());
}

TEST(GzipTest, ConcatenatedMembersAreOneStream) {
  const std::string a = GzipLikeBurn("hello ").value();
  const std::string b = GzipLikeBurn("world").value();
  absl::StatusOr<std::shared_ptr<const std::string>> back =
      GunzipBounded(a + b, "x", 100);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(**back, "hello world");
}

TEST(GzipTest, LimitStopsBombsExactlyAtTheBound) {
  const std::string gz = GzipLikeBurn(std::string(1 << 20, 'a')).value();
  EXPECT_TRUE(GunzipBounded(gz, "x", 1 << 20).ok());
  absl::StatusOr<std::shared_ptr<const std::string>> over =
      GunzipBounded(gz, "bomb.mpk.gz", (1 << 20) - 1);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(over.status().message().find("bomb.mpk.gz"), std::string::npos);
}

TEST(GzipTest, CorruptTruncatedAndTrailingGarbage) {
  const std::string gz = GzipLikeBurn(Pattern(100000)).value();
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
