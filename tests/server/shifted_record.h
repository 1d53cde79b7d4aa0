// Test records whose outputs identify them: the Connect-4 fixture with its
// output-layer bias shifted, so every Q-value moves by the same amount.
//
//   recorder::Record base = LoadConnect4Fixture();
//   std::string bytes = ShiftedConnect4Record(base, 10.0f);  // .mpk bytes

#ifndef EMBER_TESTS_SERVER_SHIFTED_RECORD_H_
#define EMBER_TESTS_SERVER_SHIFTED_RECORD_H_

#include <string>

#include "recorder/record.h"

namespace ember::testing {

// A runfile of this workspace, e.g. "tests/fixtures/burn/x.mpk".
std::string Runfile(const std::string& path);

// The whole content of `path` (empty when unreadable).
std::string ReadFileOrEmpty(const std::string& path);

// The decoded Connect-4 fixture record; aborts when it cannot be read.
recorder::Record LoadConnect4Fixture();

// `base` with `layer_2.bias` shifted by `shift`, encoded as a .mpk file.
std::string ShiftedConnect4Record(const recorder::Record& base, float shift);

}  // namespace ember::testing

#endif  // EMBER_TESTS_SERVER_SHIFTED_RECORD_H_
