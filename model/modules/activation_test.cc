#include "model/modules/activation.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "model/modules/test_util_expect.h"

namespace ember::model {
namespace {

using testing::ExpectValues;

Tensor Apply(const Module& m, const Tensor& x) {
  auto y = m.Forward({x});
  EXPECT_TRUE(y.ok());
  return *y;
}

// Expected values from the closed forms (numpy, float64): gelu(x) =
// x/2·(1+erf(x/√2)), sigmoid(x) = 1/(1+e^-x), silu(x) = x·sigmoid(x).
TEST(ActivationTest, ElementWiseFunctions) {
  Tensor x = Tensor::FromVector({4}, {-2, -1, 0.5f, 1});
  using K = Activation::Kind;
  ExpectValues(Apply(Activation(K::kRelu), x), {0, 0, 0.5f, 1});
  ExpectValues(Apply(Activation(K::kLeakyRelu), x), {-0.02f, -0.01f, 0.5f, 1});
  ExpectValues(Apply(Activation(K::kLeakyRelu, 0.2f), x),
               {-0.4f, -0.2f, 0.5f, 1});
  ExpectValues(Apply(Activation(K::kGelu), x),
               {-0.045500264f, -0.15865525f, 0.34573123f, 0.84134475f});
  ExpectValues(Apply(Activation(K::kSigmoid), x),
               {0.11920292f, 0.26894142f, 0.62245933f, 0.73105858f});
  ExpectValues(Apply(Activation(K::kTanh), x),
               {-0.96402758f, -0.76159416f, 0.46211716f, 0.76159416f});
  ExpectValues(Apply(Activation(K::kSilu), x),
               {-0.23840584f, -0.26894142f, 0.31122967f, 0.73105858f});
  ExpectValues(Apply(Activation(K::kIdentity), x), {-2, -1, 0.5f, 1});
}

TEST(ActivationTest, DoesNotWriteItsInput) {
  Tensor x = Tensor::FromVector({2}, {-1, 1});
  Apply(Activation(Activation::Kind::kRelu), x);
  ExpectValues(x, {-1, 1});
}

TEST(ActivationTest, RejectsInt64) {
  Activation relu(Activation::Kind::kRelu);
  EXPECT_FALSE(relu.OutputType({{DataType::kInt64, {2}}}).ok());
}

// softmax([1, 2, 3]) = e^x / Σe^x = [0.09003057, 0.24472847, 0.66524096].
TEST(SoftmaxTest, LastAxisAndFirstAxis) {
  Tensor x = Tensor::FromVector({2, 3}, {1, 2, 3, 1, 2, 3});
  ExpectValues(Apply(Softmax(-1), x), {0.09003057f, 0.24472847f, 0.66524096f,
                                       0.09003057f, 0.24472847f, 0.66524096f});
  ExpectValues(Apply(Softmax(0), x), {0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f});
  // Large logits do not overflow (the maximum is subtracted first).
  Tensor big = Tensor::FromVector({2}, {1000, 1000});
  ExpectValues(Apply(Softmax(0), big), {0.5f, 0.5f});
}

TEST(SoftmaxTest, AxisOutOfRange) {
  auto type = Softmax(2).OutputType({{DataType::kFloat32, {-1, 3}}});
  ASSERT_FALSE(type.ok());
  EXPECT_THAT(type.status().message(), ::testing::HasSubstr("axis 2"));
}

}  // namespace
}  // namespace ember::model
