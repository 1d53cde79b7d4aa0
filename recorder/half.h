// Conversions between f32/f64 and the two 16-bit float formats Burn stores
// (IEEE binary16 "f16" and bfloat16 "bf16"), bit-exact with Rust's `half`
// crate: rounding to nearest with ties to even, subnormals kept, overflow to
// infinity, NaN kept as a quiet NaN with its sign and top payload bits.
//
// The bulk functions pick an F16C/AVX2 path at run time when the CPU has it
// and fall back to the scalar code otherwise; both give identical bits.
//
//   std::vector<float> out(n);
//   HalfToFloat(reinterpret_cast<const uint16_t*>(bytes.data()), out.data(),
//               n);

#ifndef EMBER_RECORDER_HALF_H_
#define EMBER_RECORDER_HALF_H_

#include <cstddef>
#include <cstdint>

namespace ember::recorder {

// Scalar conversions. Exact for widening; round-to-nearest-even narrowing.
float HalfToFloatScalar(uint16_t bits);
uint16_t FloatToHalfScalar(float value);
// Rounds the f64 directly (not through f32, which could round twice).
uint16_t DoubleToHalfScalar(double value);
float BFloat16ToFloatScalar(uint16_t bits);
uint16_t FloatToBFloat16Scalar(float value);

// Bulk conversions of `n` elements. `src` and `dst` need no alignment and
// must not overlap. Thread-safe.
void HalfToFloat(const uint16_t* src, float* dst, size_t n);
void FloatToHalf(const float* src, uint16_t* dst, size_t n);
void BFloat16ToFloat(const uint16_t* src, float* dst, size_t n);

// Run-time CPU support for the vector paths (cached after the first call).
bool CpuHasF16C();  // F16C and AVX: vector f16 <-> f32
bool CpuHasAvx2();  // AVX2: vector bf16 -> f32

namespace internal {
// The individual paths, exposed so tests can check each one against the
// other. The vector ones may only be called when the matching Cpu* function
// returns true.
void HalfToFloatLoop(const uint16_t* src, float* dst, size_t n);
void FloatToHalfLoop(const float* src, uint16_t* dst, size_t n);
void BFloat16ToFloatLoop(const uint16_t* src, float* dst, size_t n);
void HalfToFloatF16C(const uint16_t* src, float* dst, size_t n);
void FloatToHalfF16C(const float* src, uint16_t* dst, size_t n);
void BFloat16ToFloatAvx2(const uint16_t* src, float* dst, size_t n);
}  // namespace internal

}  // namespace ember::recorder

#endif  // EMBER_RECORDER_HALF_H_
