#include "model/modules/lstm.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "model/modules/params.h"
#include "model/modules/test_records.h"
#include "model/modules/test_util_expect.h"

namespace ember::model {
namespace {

using recorder::Value;
using testing::ExpectValues;
using testing::F32Param;
using ::testing::HasSubstr;
using testing::ModuleRecord;
using testing::Ramp;

// Gate k (input 0, forget 1, cell 2, output 3): input_transform weight
// Ramp(6, 0.1·(k+1)) as [2, 3] with bias Ramp(3, 0.05·(k+1)),
// hidden_transform weight Ramp(9, 0.07·(k+1)) as [3, 3] with bias
// Ramp(3, 0.03). Expected outputs from a float64 numpy loop over the
// equations in lstm.h, offline, on x = Ramp(12, 0.3) as [2, 3, 2].
Value GateRecord(int k) {
  float s = k + 1;
  return ModuleRecord(
      {{"input_transform",
        ModuleRecord({{"weight", F32Param({2, 3}, Ramp(6, 0.1f * s))},
                      {"bias", F32Param({3}, Ramp(3, 0.05f * s))}})},
       {"hidden_transform",
        ModuleRecord({{"weight", F32Param({3, 3}, Ramp(9, 0.07f * s))},
                      {"bias", F32Param({3}, Ramp(3, 0.03f))}})}});
}

Value LstmRecord() {
  // Burn's field order: input, forget, output, cell.
  return ModuleRecord({{"input_gate", GateRecord(0)},
                       {"forget_gate", GateRecord(1)},
                       {"output_gate", GateRecord(3)},
                       {"cell_gate", GateRecord(2)},
                       {"d_hidden", Value::Nil()}});
}

const std::vector<float> kForward = {
    0.54102675f,    -0.061994519f,  0.0f,        0.69896609f,  0.15684964f,
    -0.037262196f,  -0.0016729602f, 0.28076768f, -0.09533337f, -0.0072706607f,
    0.35606639f,    -0.059953353f,  0.4089092f,  0.11007709f,  -0.10837995f,
    -0.0031570561f, 0.035198372f,   0.1578433f};
const std::vector<float> kReverse = {
    0.69886784f,    0.034827504f,   -0.10401787f, 0.39690048f,   0.19937072f,
    -0.036444799f,  -0.0072706607f, 0.081467404f, 0.079751767f,  -0.0027519525f,
    0.34352807f,    -0.058020721f,  0.40447783f,  -0.052537698f, -0.023670124f,
    -0.0072706607f, -0.051909056f,  0.37236942f};

TEST(LstmTest, ShapeOnlyKeepsTheDimensionsAndPacksNothing) {
  const Value record = LstmRecord();
  ShapeOnlyScope shape_only;
  auto lstm = Lstm::Create(record, "lstm", {});
  ASSERT_TRUE(lstm.ok()) << lstm.status();
  EXPECT_EQ((*lstm)->d_input(), 2);
  EXPECT_EQ((*lstm)->d_hidden(), 3);
  EXPECT_EQ((*lstm)->parameter_bytes(), 0);
}

TEST(LstmTest, HiddenStateOfEveryStep) {
  auto lstm = Lstm::Create(LstmRecord(), "lstm", {});
  ASSERT_TRUE(lstm.ok()) << lstm.status();
  EXPECT_EQ((*lstm)->d_input(), 2);
  EXPECT_EQ((*lstm)->d_hidden(), 3);
  auto y = (*lstm)->Forward({Tensor::FromVector({2, 3, 2}, Ramp(12, 0.3f))});
  ASSERT_TRUE(y.ok());
  EXPECT_EQ(y->shape(), (std::vector<int64_t>{2, 3, 3}));
  ExpectValues(*y, kForward);
}

TEST(LstmTest, ReverseAndTimeMajor) {
  LstmOptions reverse;
  reverse.reverse = true;
  auto lstm = Lstm::Create(LstmRecord(), "lstm", reverse);
  ASSERT_TRUE(lstm.ok());
  auto y = (*lstm)->Forward({Tensor::FromVector({2, 3, 2}, Ramp(12, 0.3f))});
  ASSERT_TRUE(y.ok());
  ExpectValues(*y, kReverse);

  // The same data laid out [time, batch, features] gives the same numbers,
  // laid out the same way.
  LstmOptions time_major;
  time_major.batch_first = false;
  auto tm = Lstm::Create(LstmRecord(), "lstm", time_major);
  ASSERT_TRUE(tm.ok());
  std::vector<float> x = Ramp(12, 0.3f);
  std::vector<float> xt = SwapLeadingAxes(x.data(), 2, 3, 2);
  auto yt = (*tm)->Forward({Tensor::FromVector({3, 2, 2}, xt)});
  ASSERT_TRUE(yt.ok());
  ExpectValues(*yt, SwapLeadingAxes(kForward.data(), 2, 3, 3));
}

TEST(BiLstmTest, ConcatenatesForwardThenReverse) {
  Value record = ModuleRecord({{"forward", LstmRecord()},
                               {"reverse", LstmRecord()},
                               {"d_hidden", Value::Nil()}});
  auto bilstm = BiLstm::Create(record, "bi", {});
  ASSERT_TRUE(bilstm.ok()) << bilstm.status();
  auto type = (*bilstm)->OutputType({{DataType::kFloat32, {-1, -1, 2}}});
  ASSERT_TRUE(type.ok());
  EXPECT_EQ(type->shape, (std::vector<int64_t>{-1, -1, 6}));
  auto y = (*bilstm)->Forward({Tensor::FromVector({2, 3, 2}, Ramp(12, 0.3f))});
  ASSERT_TRUE(y.ok());
  std::vector<float> want;
  for (int row = 0; row < 6; ++row) {
    want.insert(want.end(), kForward.begin() + 3 * row,
                kForward.begin() + 3 * row + 3);
    want.insert(want.end(), kReverse.begin() + 3 * row,
                kReverse.begin() + 3 * row + 3);
  }
  ExpectValues(*y, want);
}

TEST(LstmTest, RecordedActivationsMustBeTheStandardOnes) {
  Value burn_0_21 = LstmRecord();
  burn_0_21.mutable_map().push_back(
      {"gate_activation", ModuleRecord({{"Sigmoid", Value::Nil()}})});
  burn_0_21.mutable_map().push_back(
      {"cell_activation", ModuleRecord({{"Tanh", Value::Nil()}})});
  burn_0_21.mutable_map().push_back(
      {"hidden_activation", ModuleRecord({{"Tanh", Value::Nil()}})});
  EXPECT_TRUE(Lstm::Create(burn_0_21, "lstm", {}).ok());

  burn_0_21.mutable_map().back().second =
      ModuleRecord({{"Relu", Value::Nil()}});
  auto lstm = Lstm::Create(burn_0_21, "lstm", {});
  ASSERT_FALSE(lstm.ok());
  EXPECT_THAT(lstm.status().message(),
              HasSubstr("'lstm.hidden_activation': activation 'Relu'"));
}

TEST(LstmTest, MissingGateAndWrongShapes) {
  Value missing = ModuleRecord({{"input_gate", GateRecord(0)}});
  auto lstm = Lstm::Create(missing, "enc.lstm", {});
  ASSERT_FALSE(lstm.ok());
  EXPECT_THAT(lstm.status().message(), HasSubstr("'enc.lstm.forget_gate'"));

  Value bad = LstmRecord();
  bad.mutable_map()[1].second =
      ModuleRecord({{"input_transform",
                     ModuleRecord({{"weight", F32Param({2, 4}, Ramp(8))}})},
                    {"hidden_transform",
                     ModuleRecord({{"weight", F32Param({4, 4}, Ramp(16))}})}});
  lstm = Lstm::Create(bad, "enc.lstm", {});
  ASSERT_FALSE(lstm.ok());
  EXPECT_THAT(lstm.status().message(),
              HasSubstr("'enc.lstm.forget_gate.input_transform.weight'"));
  EXPECT_THAT(lstm.status().message(), HasSubstr("[2, 4]"));
  EXPECT_THAT(lstm.status().message(), HasSubstr("[2, 3]"));

  auto ok = Lstm::Create(LstmRecord(), "lstm", {});
  ASSERT_TRUE(ok.ok());
  EXPECT_FALSE((*ok)->OutputType({{DataType::kFloat32, {1, 3, 5}}}).ok());
}

}  // namespace
}  // namespace ember::model
