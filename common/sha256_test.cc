#include "common/sha256.h"

#include "gtest/gtest.h"

namespace ember {
namespace {

TEST(Sha256Test, KnownDigests) {
  EXPECT_EQ(Sha256Hex(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256Test, PiecesGiveTheSameDigestAsTheWhole) {
  std::string data(100000, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7);
  Sha256 hash;
  for (size_t at = 0; at < data.size(); at += 4093) {
    hash.Update(absl::string_view(data).substr(at, 4093));
  }
  EXPECT_EQ(hash.HexDigest(), Sha256Hex(data));
}

TEST(Sha256Test, RecognisesHex) {
  EXPECT_TRUE(IsSha256Hex(Sha256Hex("x")));
  EXPECT_TRUE(IsSha256Hex(
      "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"));
  EXPECT_FALSE(IsSha256Hex("ba7816bf"));
  EXPECT_FALSE(IsSha256Hex(std::string(64, 'g')));
}

}  // namespace
}  // namespace ember
