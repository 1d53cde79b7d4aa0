#include "recorder/half.h"

#include <cpuid.h>
#include <immintrin.h>

#include <cmath>
#include <cstdint>
#include <cstring>

namespace ember::recorder {
namespace {

uint32_t FloatBits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof(u));
  return u;
}

float BitsFloat(uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof(f));
  return f;
}

// Shifts `man` right by `shift` bits, rounding to nearest, ties to even.
uint64_t ShiftRoundEven(uint64_t man, int shift) {
  if (shift <= 0) return man << -shift;
  if (shift >= 64) return 0;
  const uint64_t kept = man >> shift;
  const uint64_t rest = man & ((uint64_t{1} << shift) - 1);
  const uint64_t half = uint64_t{1} << (shift - 1);
  if (rest > half || (rest == half && (kept & 1) != 0)) return kept + 1;
  return kept;
}

// Narrows a finite, non-NaN value given as sign, unbiased exponent and a
// significand `man` with its leading one at bit `man_bits` (normal) to f16.
// A carry out of the significand moves into the exponent field, which is
// exactly what IEEE rounding wants (up to infinity).
uint16_t NarrowToHalf(uint16_t sign, int exp, uint64_t man, int man_bits) {
  if (exp > 15) return sign | 0x7C00;
  if (exp >= -14) {
    // Normal: keep 10 fraction bits, the leading one becomes the exponent.
    const uint64_t rounded = ShiftRoundEven(man, man_bits - 10);
    const uint32_t biased = static_cast<uint32_t>(exp + 15);
    const uint32_t bits =
        (biased << 10) + static_cast<uint32_t>(rounded) - (uint32_t{1} << 10);
    return static_cast<uint16_t>(sign | (bits >= 0x7C00 ? 0x7C00 : bits));
  }
  // Subnormal: the value is man * 2^(exp - man_bits); f16 subnormals count
  // units of 2^-24.
  const int shift = man_bits - exp - 24;
  const uint64_t rounded = ShiftRoundEven(man, shift);
  return static_cast<uint16_t>(sign | rounded);
}

}  // namespace

float HalfToFloatScalar(uint16_t bits) {
  const uint32_t sign = static_cast<uint32_t>(bits & 0x8000) << 16;
  const uint32_t exp = (bits >> 10) & 0x1F;
  const uint32_t man = bits & 0x3FF;
  if (exp == 0x1F) {
    // Infinity, or NaN made quiet (as `half` and F16C both do).
    const uint32_t quiet = man != 0 ? 0x00400000 : 0;
    return BitsFloat(sign | 0x7F800000 | quiet | (man << 13));
  }
  if (exp == 0) {
    if (man == 0) return BitsFloat(sign);
    // Subnormal: exactly man * 2^-24.
    const float mag = std::ldexp(static_cast<float>(man), -24);
    return sign != 0 ? -mag : mag;
  }
  return BitsFloat(sign | ((exp + 112) << 23) | (man << 13));
}

uint16_t FloatToHalfScalar(float value) {
  const uint32_t x = FloatBits(value);
  const uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000);
  const uint32_t exp = (x >> 23) & 0xFF;
  const uint32_t man = x & 0x7FFFFF;
  if (exp == 0xFF) {
    // Infinity, or NaN made quiet with its top payload bits kept.
    const uint16_t nan_bit = man != 0 ? 0x0200 : 0;
    return static_cast<uint16_t>(sign | 0x7C00 | nan_bit | (man >> 13));
  }
  if (exp == 0) return sign;  // f32 subnormals are below half of 2^-24.
  return NarrowToHalf(sign, static_cast<int>(exp) - 127, man | 0x800000, 23);
}

uint16_t DoubleToHalfScalar(double value) {
  uint64_t x;
  std::memcpy(&x, &value, sizeof(x));
  const uint16_t sign = static_cast<uint16_t>((x >> 48) & 0x8000);
  const uint32_t exp = static_cast<uint32_t>((x >> 52) & 0x7FF);
  const uint64_t man = x & ((uint64_t{1} << 52) - 1);
  if (exp == 0x7FF) {
    const uint16_t nan_bit = man != 0 ? 0x0200 : 0;
    return static_cast<uint16_t>(sign | 0x7C00 | nan_bit |
                                 static_cast<uint16_t>(man >> 42));
  }
  if (exp == 0) return sign;  // f64 subnormals round to zero in f16.
  return NarrowToHalf(sign, static_cast<int>(exp) - 1023,
                      man | (uint64_t{1} << 52), 52);
}

float BFloat16ToFloatScalar(uint16_t bits) {
  return BitsFloat(static_cast<uint32_t>(bits) << 16);
}

uint16_t FloatToBFloat16Scalar(float value) {
  const uint32_t x = FloatBits(value);
  if ((x & 0x7FFFFFFF) > 0x7F800000) {
    return static_cast<uint16_t>((x >> 16) | 0x0040);  // quiet NaN
  }
  return static_cast<uint16_t>(ShiftRoundEven(x, 16));
}

namespace internal {

void HalfToFloatLoop(const uint16_t* src, float* dst, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    uint16_t h;
    std::memcpy(&h, src + i, sizeof(h));
    dst[i] = HalfToFloatScalar(h);
  }
}

void FloatToHalfLoop(const float* src, uint16_t* dst, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    float f;
    std::memcpy(&f, src + i, sizeof(f));
    dst[i] = FloatToHalfScalar(f);
  }
}

void BFloat16ToFloatLoop(const uint16_t* src, float* dst, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    uint16_t h;
    std::memcpy(&h, src + i, sizeof(h));
    dst[i] = BFloat16ToFloatScalar(h);
  }
}

__attribute__((target("avx,f16c"))) void HalfToFloatF16C(const uint16_t* src,
                                                         float* dst, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m128i h =
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i));
    _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(h));
  }
  HalfToFloatLoop(src + i, dst + i, n - i);
}

__attribute__((target("avx,f16c"))) void FloatToHalfF16C(const float* src,
                                                         uint16_t* dst,
                                                         size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 f = _mm256_loadu_ps(src + i);
    const __m128i h = _mm256_cvtps_ph(f, _MM_FROUND_TO_NEAREST_INT);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i), h);
  }
  FloatToHalfLoop(src + i, dst + i, n - i);
}

__attribute__((target("avx2"))) void BFloat16ToFloatAvx2(const uint16_t* src,
                                                         float* dst, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m128i h =
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i));
    const __m256i w = _mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16);
    _mm256_storeu_ps(dst + i, _mm256_castsi256_ps(w));
  }
  BFloat16ToFloatLoop(src + i, dst + i, n - i);
}

}  // namespace internal

namespace {

// CPUID-based feature checks (gcc's and clang's __builtin_cpu_supports
// disagree on the names they accept). AVX needs the OS to save the YMM
// registers too (OSXSAVE and XCR0 bits 1 and 2).
bool OsSavesYmm() {
  unsigned eax, ebx, ecx, edx;
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return false;
  const bool osxsave = (ecx >> 27) & 1, avx = (ecx >> 28) & 1;
  if (!osxsave || !avx) return false;
  unsigned xcr0_lo, xcr0_hi;
  __asm__("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
  return (xcr0_lo & 0x6) == 0x6;
}

}  // namespace

bool CpuHasF16C() {
  static const bool kHas = [] {
    unsigned eax, ebx, ecx, edx;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return false;
    return OsSavesYmm() && ((ecx >> 29) & 1);  // F16C
  }();
  return kHas;
}

bool CpuHasAvx2() {
  static const bool kHas = [] {
    unsigned eax, ebx, ecx, edx;
    if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return false;
    return OsSavesYmm() && ((ebx >> 5) & 1);  // AVX2
  }();
  return kHas;
}

void HalfToFloat(const uint16_t* src, float* dst, size_t n) {
  if (CpuHasF16C()) {
    internal::HalfToFloatF16C(src, dst, n);
  } else {
    internal::HalfToFloatLoop(src, dst, n);
  }
}

void FloatToHalf(const float* src, uint16_t* dst, size_t n) {
  if (CpuHasF16C()) {
    internal::FloatToHalfF16C(src, dst, n);
  } else {
    internal::FloatToHalfLoop(src, dst, n);
  }
}

void BFloat16ToFloat(const uint16_t* src, float* dst, size_t n) {
  if (CpuHasAvx2()) {
    internal::BFloat16ToFloatAvx2(src, dst, n);
  } else {
    internal::BFloat16ToFloatLoop(src, dst, n);
  }
}

}  // namespace ember::recorder
