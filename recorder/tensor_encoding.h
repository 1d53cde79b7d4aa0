// How a parameter was spelled in the file, kept in Tensor::encoding_flags
// so the writer reproduces the input byte for byte. Shared by the codec's
// reader and writer; users of the record tree treat the flags as opaque.
//
//   if ((tensor.encoding_flags & internal::kBytesAsArray) != 0) { ... }

#ifndef EMBER_RECORDER_TENSOR_ENCODING_H_
#define EMBER_RECORDER_TENSOR_ENCODING_H_

#include <array>
#include <cstdint>

namespace ember::recorder::internal {

// Zero means Burn 0.14-0.20's canonical form: {"id", "param"}, body
// {bytes, shape, dtype} with bin bytes, unit-string dtype names.

// Bits 0-2: order of the body keys, an index into kTensorDataOrders (for
// {bytes, shape, dtype}) or kValueShapeOrders (for {value, shape}).
constexpr uint32_t kOrderMask = 0x7;
// The parameter map was written {"param", "id"} instead of {"id", "param"}.
constexpr uint32_t kParamFirst = 1u << 4;
// `bytes` was an array of integers rather than msgpack bin.
constexpr uint32_t kBytesAsArray = 1u << 5;
// Bits 6-7: spelling of a Bool dtype.
constexpr uint32_t kBoolSpellingShift = 6;
constexpr uint32_t kBoolSpellingMask = 0x3u << kBoolSpellingShift;
enum BoolSpelling : uint32_t {
  kBoolUnit = 0,    // "Bool" (Burn <= 0.20)
  kBoolNative = 1,  // {"Bool": "Native"} (Burn 0.21)
  kBoolU8 = 2,      // {"Bool": "U8"}: one byte per element
  kBoolU32 = 3,     // {"Bool": "U32"}: four bytes per element
};
// The dtype was "Flex32" (f32 bytes).
constexpr uint32_t kFlex32 = 1u << 8;

enum BodyKey { kKeyBytes, kKeyShape, kKeyDType, kKeyValue };
constexpr std::array<std::array<BodyKey, 3>, 6> kTensorDataOrders = {{
    {kKeyBytes, kKeyShape, kKeyDType},
    {kKeyBytes, kKeyDType, kKeyShape},
    {kKeyShape, kKeyBytes, kKeyDType},
    {kKeyShape, kKeyDType, kKeyBytes},
    {kKeyDType, kKeyBytes, kKeyShape},
    {kKeyDType, kKeyShape, kKeyBytes},
}};
constexpr std::array<std::array<BodyKey, 2>, 2> kValueShapeOrders = {{
    {kKeyValue, kKeyShape},
    {kKeyShape, kKeyValue},
}};

}  // namespace ember::recorder::internal

#endif  // EMBER_RECORDER_TENSOR_ENCODING_H_
