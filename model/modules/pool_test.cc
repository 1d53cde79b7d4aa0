#include "model/modules/pool.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "model/modules/test_records.h"
#include "model/modules/test_util_expect.h"

namespace ember::model {
namespace {

using testing::ExpectValues;
using testing::Ramp;

// Expected values from a direct float64 loop over each window (numpy,
// offline) on x = Ramp(50) as [1, 2, 5, 5].

Tensor Pool(Pool2d::Kind kind, const PoolOptions& options, const Tensor& x) {
  auto pool = Pool2d::Create(kind, options);
  EXPECT_TRUE(pool.ok()) << pool.status();
  auto type = (*pool)->OutputType({TensorType::Of(x)});
  EXPECT_TRUE(type.ok()) << type.status();
  auto y = (*pool)->Forward({x});
  EXPECT_TRUE(y.ok());
  EXPECT_EQ(y->shape(), type->shape);
  return *y;
}

PoolOptions Padded() {
  PoolOptions options;
  options.kernel = {3, 3};
  options.stride = {2, 2};
  options.padding = {1, 1, 1, 1};
  return options;
}

TEST(Pool2dTest, MaxWithPadding) {
  Tensor y = Pool(Pool2d::Kind::kMax, Padded(),
                  Tensor::FromVector({1, 2, 5, 5}, Ramp(50)));
  EXPECT_EQ(y.shape(), (std::vector<int64_t>{1, 2, 3, 3}));
  ExpectValues(y, {0.4f, 0.5f, 0.5f, 0.4f, 0.4f, 0.5f, 0.3f, 0.4f, 0.2f, 0.5f,
                   0.4f, 0.4f, 0.5f, 0.5f, 0.4f, 0.2f, 0.5f, 0.1f});
}

TEST(Pool2dTest, MaxWithDilation) {
  PoolOptions options;
  options.kernel = {2, 2};
  options.stride = {1, 1};
  options.dilation = {2, 2};
  Tensor y = Pool(Pool2d::Kind::kMax, options,
                  Tensor::FromVector({1, 2, 5, 5}, Ramp(50)));
  ExpectValues(y, {0.2f, 0.5f, 0.5f, 0.4f, 0.4f, 0.4f, 0.3f, 0.2f, 0.5f, 0.5f,
                   0.5f, 0.4f, 0.3f, 0.3f, 0.3f, 0.5f, 0.5f, 0.5f});
}

// Burn's count_include_pad = true (its default) divides by the whole
// window; false divides by the cells inside the input.
TEST(Pool2dTest, AverageCountIncludePad) {
  Tensor x = Tensor::FromVector({1, 2, 5, 5}, Ramp(50));
  ExpectValues(
      Pool(Pool2d::Kind::kAvg, Padded(), x),
      {-0.022222222f, 0.055555556f, 0.055555556f, -0.077777778f, -0.044444444f,
       -0.022222222f, 0.0f, -0.033333333f, -0.044444444f, 0.055555556f,
       -0.011111111f, 0.011111111f, -0.022222222f, -0.022222222f, -0.088888889f,
       -0.044444444f, 0.022222222f, -0.088888889f});
  PoolOptions exclude = Padded();
  exclude.count_include_pad = false;
  ExpectValues(
      Pool(Pool2d::Kind::kAvg, exclude, x),
      {-0.05f, 0.083333333f, 0.125f, -0.11666667f, -0.044444444f, -0.033333333f,
       0.0f, -0.05f, -0.1f, 0.125f, -0.016666667f, 0.025f, -0.033333333f,
       -0.022222222f, -0.13333333f, -0.1f, 0.033333333f, -0.2f});
}

// ceil_mode expectations from a float64 numpy loop (offline) over PyTorch's
// rule: out = ceil((n + pads - k) / s) + 1, dropping a last window that
// would start past the input and leading padding; an average window is
// divided by its cells up to the padded edge (count_include_pad) or by its
// cells inside the input.
TEST(Pool2dTest, CeilModeAddsPartialWindows) {
  Tensor x = Tensor::FromVector({1, 1, 5, 5}, Ramp(25));
  PoolOptions options;
  options.ceil_mode = true;
  Tensor max = Pool(Pool2d::Kind::kMax, options, x);
  EXPECT_EQ(max.shape(), (std::vector<int64_t>{1, 1, 3, 3}));
  ExpectValues(max, {0.4f, 0.5f, 0.3f, 0.1f, 0.4f, 0.5f, 0.3f, 0.2f, -0.2f});
  ExpectValues(
      Pool(Pool2d::Kind::kAvg, options, x),
      {-0.05f, -0.025f, 0.2f, -0.2f, 0.1f, 0.05f, 0.1f, -0.15f, -0.2f});

  PoolOptions three;
  three.kernel = {3, 3};
  three.ceil_mode = true;
  Tensor six = Pool(Pool2d::Kind::kMax, three,
                    Tensor::FromVector({1, 1, 6, 6}, Ramp(36)));
  EXPECT_EQ(six.shape(), (std::vector<int64_t>{1, 1, 3, 3}));
  ExpectValues(six, {0.5f, 0.5f, 0.4f, 0.5f, 0.5f, 0.4f, 0.5f, 0.4f, 0.4f});

  // When the windows fit exactly, ceil_mode changes nothing.
  PoolOptions padded = Padded();
  padded.ceil_mode = true;
  Tensor exact = Pool(Pool2d::Kind::kAvg, padded,
                      Tensor::FromVector({1, 1, 5, 5}, Ramp(25)));
  ExpectValues(exact, {-0.022222222f, 0.055555556f, 0.055555556f, -0.077777778f,
                       -0.044444444f, -0.022222222f, 0.0f, -0.033333333f,
                       -0.044444444f});
}

TEST(Pool2dTest, RejectsBadOptionsAndInputs) {
  PoolOptions zero;
  zero.kernel = {0, 2};
  EXPECT_FALSE(Pool2d::Create(Pool2d::Kind::kMax, zero).ok());
  PoolOptions wide = Padded();
  wide.padding = {2, 2, 2, 2};
  EXPECT_FALSE(Pool2d::Create(Pool2d::Kind::kMax, wide).ok());
  auto pool = Pool2d::Create(Pool2d::Kind::kMax, PoolOptions());
  ASSERT_TRUE(pool.ok());
  EXPECT_FALSE((*pool)->OutputType({{DataType::kFloat32, {1, 4, 4}}}).ok());
  EXPECT_FALSE((*pool)->OutputType({{DataType::kFloat32, {1, 1, 1, 4}}}).ok());
}

// Windows rows [0, 3) and [2, 5), columns [0, 2) and [1, 3) (floor/ceil
// rule); means by numpy on x = Ramp(15) as [1, 1, 5, 3].
TEST(AdaptiveAvgPool2dTest, FloorCeilWindows) {
  auto pool = AdaptiveAvgPool2d::Create({2, 2});
  ASSERT_TRUE(pool.ok());
  auto type = (*pool)->OutputType({{DataType::kFloat32, {-1, 1, -1, -1}}});
  ASSERT_TRUE(type.ok());
  EXPECT_EQ(type->shape, (std::vector<int64_t>{-1, 1, 2, 2}));
  auto y = (*pool)->Forward({Tensor::FromVector({1, 1, 5, 3}, Ramp(15))});
  ASSERT_TRUE(y.ok());
  ExpectValues(*y, {0.11666667f, -0.1f, 0.1f, -0.11666667f});
  EXPECT_FALSE(AdaptiveAvgPool2d::Create({0, 2}).ok());
}

}  // namespace
}  // namespace ember::model
