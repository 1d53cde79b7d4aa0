#include "recorder/half.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "recorder/test_util.h"

namespace ember::recorder {
namespace {

float FromBits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

uint32_t ToBits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

struct Pair {
  uint32_t f32;
  uint16_t f16;
};

// Pairs written by numpy's astype(float16); see testdata/.
std::vector<Pair> NumpyPairs() {
  const char* srcdir = getenv("TEST_SRCDIR");
  const std::string data = testing::ReadFileOrDie(
      std::string(srcdir) + "/ember/recorder/testdata/f32-to-f16-numpy.bin");
  std::vector<Pair> out(data.size() / 6);
  for (size_t i = 0; i < out.size(); ++i) {
    std::memcpy(&out[i].f32, data.data() + 6 * i, 4);
    std::memcpy(&out[i].f16, data.data() + 6 * i + 4, 2);
  }
  return out;
}

TEST(HalfTest, ScalarNarrowingMatchesNumpy) {
  const std::vector<Pair> pairs = NumpyPairs();
  ASSERT_GT(pairs.size(), 100000u);
  for (const Pair& p : pairs) {
    ASSERT_EQ(FloatToHalfScalar(FromBits(p.f32)), p.f16)
        << std::hex << "f32 bits 0x" << p.f32;
  }
}

TEST(HalfTest, BulkPathsMatchNumpy) {
  const std::vector<Pair> pairs = NumpyPairs();
  std::vector<float> in(pairs.size());
  for (size_t i = 0; i < pairs.size(); ++i) in[i] = FromBits(pairs[i].f32);
  std::vector<uint16_t> loop(in.size()), dispatched(in.size());
  internal::FloatToHalfLoop(in.data(), loop.data(), in.size());
  FloatToHalf(in.data(), dispatched.data(), in.size());
  std::vector<uint16_t> vec(in.size());
  if (CpuHasF16C()) {
    internal::FloatToHalfF16C(in.data(), vec.data(), in.size());
  }
  for (size_t i = 0; i < pairs.size(); ++i) {
    ASSERT_EQ(loop[i], pairs[i].f16) << i;
    ASSERT_EQ(dispatched[i], pairs[i].f16) << i;
    if (CpuHasF16C()) ASSERT_EQ(vec[i], pairs[i].f16) << i;
  }
}

TEST(HalfTest, EdgeCases) {
  EXPECT_EQ(FloatToHalfScalar(0.0f), 0x0000);
  EXPECT_EQ(FloatToHalfScalar(-0.0f), 0x8000);
  EXPECT_EQ(FloatToHalfScalar(1.0f), 0x3C00);
  EXPECT_EQ(FloatToHalfScalar(65504.0f), 0x7BFF);    // largest finite
  EXPECT_EQ(FloatToHalfScalar(65519.996f), 0x7BFF);  // below the midpoint
  EXPECT_EQ(FloatToHalfScalar(65520.0f), 0x7C00);    // tie rounds to inf
  EXPECT_EQ(FloatToHalfScalar(1e10f), 0x7C00);       // overflow
  EXPECT_EQ(FloatToHalfScalar(-1e10f), 0xFC00);
  EXPECT_EQ(FloatToHalfScalar(INFINITY), 0x7C00);
  EXPECT_EQ(FloatToHalfScalar(-INFINITY), 0xFC00);
  EXPECT_EQ(FloatToHalfScalar(std::ldexp(1.0f, -24)), 0x0001);  // min sub
  EXPECT_EQ(FloatToHalfScalar(std::ldexp(1.0f, -25)), 0x0000);  // tie->even
  EXPECT_EQ(FloatToHalfScalar(std::ldexp(3.0f, -26)), 0x0001);
  EXPECT_EQ(FloatToHalfScalar(std::ldexp(3.0f, -25)), 0x0002);  // tie->even
  EXPECT_EQ(FloatToHalfScalar(std::ldexp(1.0f, -14)), 0x0400);  // min normal
  EXPECT_EQ(FloatToHalfScalar(std::ldexp(1023.5f, -24)), 0x0400);
  // Ties at 1.0: 1 + 2^-11 is halfway between 0x3C00 and 0x3C01.
  EXPECT_EQ(FloatToHalfScalar(1.0f + std::ldexp(1.0f, -11)), 0x3C00);
  EXPECT_EQ(FloatToHalfScalar(1.0f + std::ldexp(3.0f, -11)), 0x3C02);
  // NaNs stay NaN, quiet, with sign and top payload bits.
  EXPECT_EQ(FloatToHalfScalar(FromBits(0x7FC00000)), 0x7E00);
  EXPECT_EQ(FloatToHalfScalar(FromBits(0x7F800001)), 0x7E00);  // signalling
  EXPECT_EQ(FloatToHalfScalar(FromBits(0xFFC00000)), 0xFE00);
  EXPECT_EQ(FloatToHalfScalar(FromBits(0x7FFFE000)), 0x7FFF);
}

TEST(HalfTest, NanHandlingIsTheSameOnEveryPath) {
  std::vector<float> nans;
  for (uint32_t man :
       {1u, 2u, 0x1000u, 0x2000u, 0x200000u, 0x400000u, 0x7FFFFFu, 0x3FFFFFu}) {
    nans.push_back(FromBits(0x7F800000 | man));
    nans.push_back(FromBits(0xFF800000 | man));
  }
  std::vector<uint16_t> loop(nans.size()), vec(nans.size());
  internal::FloatToHalfLoop(nans.data(), loop.data(), nans.size());
  if (!CpuHasF16C()) GTEST_SKIP() << "no F16C on this CPU";
  internal::FloatToHalfF16C(nans.data(), vec.data(), nans.size());
  for (size_t i = 0; i < nans.size(); ++i) {
    EXPECT_EQ(loop[i], vec[i]) << std::hex << ToBits(nans[i]);
    EXPECT_EQ(loop[i] & 0x7E00, 0x7E00);  // NaN and quiet
  }
}

TEST(HalfTest, WideningIsExactOnEveryPath) {
  std::vector<uint16_t> all(65536 + 5);
  for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<uint16_t>(i);
  std::vector<float> loop(all.size()), dispatched(all.size()), vec(all.size());
  internal::HalfToFloatLoop(all.data(), loop.data(), all.size());
  HalfToFloat(all.data(), dispatched.data(), all.size());
  if (CpuHasF16C()) {
    internal::HalfToFloatF16C(all.data(), vec.data(), all.size());
  }
  for (size_t i = 0; i < all.size(); ++i) {
    const uint16_t h = all[i];
    ASSERT_EQ(ToBits(loop[i]), ToBits(dispatched[i])) << h;
    if (CpuHasF16C()) ASSERT_EQ(ToBits(loop[i]), ToBits(vec[i])) << h;
    const bool nan = (h & 0x7C00) == 0x7C00 && (h & 0x3FF) != 0;
    if (nan) {
      ASSERT_TRUE(std::isnan(loop[i])) << h;
    } else {
      // Narrowing the exact widening gives the same bits back.
      ASSERT_EQ(FloatToHalfScalar(loop[i]), h) << h;
    }
  }
  EXPECT_EQ(HalfToFloatScalar(0x0001), std::ldexp(1.0f, -24));
  EXPECT_EQ(HalfToFloatScalar(0xB34C), -0.228027344f);
  EXPECT_EQ(HalfToFloatScalar(0x7BFF), 65504.0f);
}

TEST(HalfTest, DoubleNarrowsWithoutDoubleRounding) {
  // 1 + 2^-11 + 2^-40 is just above the midpoint: rounds up. Through f32 it
  // would first become the midpoint 1 + 2^-11 and then round to even (down).
  EXPECT_EQ(
      DoubleToHalfScalar(1.0 + std::ldexp(1.0, -11) + std::ldexp(1.0, -40)),
      0x3C01);
  EXPECT_EQ(DoubleToHalfScalar(65520.0), 0x7C00);
  EXPECT_EQ(DoubleToHalfScalar(-std::ldexp(1.0, -24)), 0x8001);
  EXPECT_EQ(DoubleToHalfScalar(1e-300), 0x0000);
  EXPECT_EQ(DoubleToHalfScalar(std::nan("")), 0x7E00);
  for (const Pair& p : NumpyPairs()) {
    ASSERT_EQ(DoubleToHalfScalar(FromBits(p.f32)), p.f16) << p.f32;
  }
}

TEST(HalfTest, BFloat16) {
  EXPECT_EQ(FloatToBFloat16Scalar(1.0f), 0x3F80);
  EXPECT_EQ(FloatToBFloat16Scalar(FromBits(0x3F808000)), 0x3F80);  // tie even
  EXPECT_EQ(FloatToBFloat16Scalar(FromBits(0x3F818000)), 0x3F82);  // tie even
  EXPECT_EQ(FloatToBFloat16Scalar(FromBits(0x3F808001)), 0x3F81);
  EXPECT_EQ(FloatToBFloat16Scalar(FromBits(0x7F7FFFFF)), 0x7F80);  // to inf
  EXPECT_EQ(FloatToBFloat16Scalar(FromBits(0x7F800001)), 0x7FC0);  // NaN
  std::vector<uint16_t> all(65536 + 3);
  for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<uint16_t>(i);
  std::vector<float> loop(all.size()), vec(all.size()), disp(all.size());
  internal::BFloat16ToFloatLoop(all.data(), loop.data(), all.size());
  BFloat16ToFloat(all.data(), disp.data(), all.size());
  if (CpuHasAvx2()) {
    internal::BFloat16ToFloatAvx2(all.data(), vec.data(), all.size());
  }
  for (size_t i = 0; i < all.size(); ++i) {
    ASSERT_EQ(ToBits(loop[i]), static_cast<uint32_t>(all[i]) << 16);
    ASSERT_EQ(ToBits(disp[i]), ToBits(loop[i]));
    if (CpuHasAvx2()) ASSERT_EQ(ToBits(vec[i]), ToBits(loop[i]));
  }
}

TEST(HalfTest, UnalignedAndShortInputs) {
  std::vector<uint16_t> buf(40);
  for (size_t i = 0; i < buf.size(); ++i) {
    buf[i] = static_cast<uint16_t>(0x3C00 + i);
  }
  for (size_t offset = 0; offset < 3; ++offset) {
    for (size_t n : {0u, 1u, 7u, 8u, 9u, 17u, 31u}) {
      std::vector<float> a(n), b(n);
      HalfToFloat(buf.data() + offset, a.data(), n);
      internal::HalfToFloatLoop(buf.data() + offset, b.data(), n);
      ASSERT_EQ(a, b);
    }
  }
}

}  // namespace
}  // namespace ember::recorder
