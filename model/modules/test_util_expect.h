// Element-wise comparison of a tensor with expected literals, for module
// tests.
//
//   ExpectValues(y, {1.5f, -2.0f}, 1e-5);

#ifndef EMBER_MODEL_MODULES_TEST_UTIL_EXPECT_H_
#define EMBER_MODEL_MODULES_TEST_UTIL_EXPECT_H_

#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "model/tensor.h"

namespace ember::model::testing {

inline void ExpectValues(const Tensor& t, const std::vector<float>& want,
                         float tolerance = 1e-5f) {
  ASSERT_EQ(t.num_elements(), static_cast<int64_t>(want.size()));
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_NEAR(t.data<float>()[i], want[i], tolerance) << "element " << i;
  }
}

}  // namespace ember::model::testing

#endif  // EMBER_MODEL_MODULES_TEST_UTIL_EXPECT_H_
