// Builds record trees in memory for module tests, the way the decoder
// presents a Burn file: modules are maps, parameters are kTensor values.
//
//   recorder::Value linear = ModuleRecord({
//       {"weight", F32Param({2, 3}, {1, 2, 3, 4, 5, 6})},
//       {"bias", recorder::Value::Nil()}});

#ifndef EMBER_MODEL_MODULES_TEST_RECORDS_H_
#define EMBER_MODEL_MODULES_TEST_RECORDS_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "recorder/record.h"

namespace ember::model::testing {

// An F32 parameter of `shape` holding `values` (row-major).
recorder::Value F32Param(std::vector<uint64_t> shape,
                         std::vector<float> values);
// The same values stored as F16 (rounded to nearest), as half-precision
// records hold them.
recorder::Value F16Param(std::vector<uint64_t> shape,
                         const std::vector<float>& values);
// A module map with its fields in the given order.
recorder::Value ModuleRecord(
    std::vector<std::pair<std::string, recorder::Value>> fields);
// A whole record whose item is `item`.
recorder::Record RecordOf(recorder::Value item);
// `n` deterministic, varied values: scale · (((7·i) mod 11) - 5).
std::vector<float> Ramp(int64_t n, float scale = 0.1f);

}  // namespace ember::model::testing

#endif  // EMBER_MODEL_MODULES_TEST_RECORDS_H_
