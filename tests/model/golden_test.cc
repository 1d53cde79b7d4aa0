// Every Burn fixture served from its config in tests/fixtures/models must
// reproduce its golden outputs (computed independently in float64), and the
// MNIST models must classify the raw sample digits as the goldens say.

#include <cmath>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "model/model.h"
#include "model/model_builder.h"
#include "model/tensor.h"
#include "tests/model/fixtures.h"

namespace ember::model {
namespace {

using testing::FixtureModel;
using testing::Golden;

// Loads as the daemon does (LoadWarmModel: one warm-up inference first), so
// every golden also checks that warming leaves no trace in the outputs.
std::shared_ptr<const Model> LoadFixtureModel(const std::string& name) {
  const std::string dir = testing::ModelDir(name);
  absl::StatusOr<config::ModelConfig> config =
      LoadModelConfigFile(dir + "/config.pbtxt");
  EXPECT_TRUE(config.ok()) << config.status();
  if (!config.ok()) return nullptr;
  absl::StatusOr<std::shared_ptr<const Model>> model =
      LoadWarmModel(*config, dir + "/config.pbtxt", testing::ModelRecord(dir));
  EXPECT_TRUE(model.ok()) << model.status();
  return model.ok() ? *model : nullptr;
}

std::vector<int64_t> ArgmaxRows(const Tensor& t) {
  std::vector<int64_t> out;
  const int64_t cols = t.dim(t.rank() - 1);
  for (int64_t r = 0; r < t.num_elements() / cols; ++r) {
    const float* row = t.data<float>() + r * cols;
    out.push_back(std::max_element(row, row + cols) - row);
  }
  return out;
}

class GoldenTest : public ::testing::TestWithParam<FixtureModel> {};

TEST_P(GoldenTest, MatchesGoldenOutputs) {
  const FixtureModel& fixture = GetParam();
  Golden golden = testing::LoadGoldenOrDie(fixture.golden);
  std::shared_ptr<const Model> model = LoadFixtureModel(fixture.model_dir);
  ASSERT_NE(model, nullptr);
  ASSERT_EQ(model->inputs().size(), 1u);
  EXPECT_EQ(model->inputs()[0].name, golden.input_name);
  ASSERT_EQ(model->outputs().size(), 1u);
  EXPECT_EQ(model->outputs()[0].name, golden.output_name);

  std::vector<Tensor> inputs = {golden.input};
  ASSERT_TRUE(CheckInputs(model->inputs(), inputs).ok());
  absl::StatusOr<std::vector<Tensor>> outputs = model->Forward(inputs);
  ASSERT_TRUE(outputs.ok()) << outputs.status();
  ASSERT_EQ(outputs->size(), 1u);
  const Tensor& out = (*outputs)[0];
  ASSERT_EQ(out.shape(), golden.output_shape);

  double worst = 0;
  for (size_t i = 0; i < golden.outputs.size(); ++i) {
    const double want = golden.outputs[i];
    const double got = out.data<float>()[i];
    const double allowed = golden.atol + golden.rtol * std::abs(want);
    EXPECT_LE(std::abs(got - want), allowed)
        << fixture.golden << " element " << i << ": got " << got << ", golden "
        << want;
    worst = std::max(worst, std::abs(got - want) / allowed);
  }
  // The figure the tolerance margin rests on, for the test log.
  std::cout << fixture.golden << ": worst |error| / allowed = " << worst
            << "\n";
  if (!golden.argmax.empty()) {
    EXPECT_EQ(ArgmaxRows(out), golden.argmax);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Fixtures, GoldenTest, ::testing::ValuesIn(testing::FixtureModels()),
    [](const ::testing::TestParamInfo<FixtureModel>& info) {
      return info.param.model_dir;
    });

// The raw digit files, normalised as the models were trained
// (((p / 255) - 0.1307) / 0.3081 in f32, one operation at a time), reach the
// classes the goldens give.
TEST(MnistSamplesTest, ClassifiedAsGoldensSay) {
  for (const FixtureModel& fixture : testing::FixtureModels()) {
    if (fixture.golden.find("mnist") == std::string::npos) continue;
    Golden golden = testing::LoadGoldenOrDie(fixture.golden);
    std::shared_ptr<const Model> model = LoadFixtureModel(fixture.model_dir);
    ASSERT_NE(model, nullptr);
    std::vector<float> pixels;
    for (int digit = 0; digit < 10; ++digit) {
      std::ifstream in(testing::BurnFixturePath(
                           absl::StrCat("mnist-samples/", digit, ".bin")),
                       std::ios::binary);
      std::string bytes((std::istreambuf_iterator<char>(in)),
                        std::istreambuf_iterator<char>());
      ASSERT_EQ(bytes.size(), 784u);
      for (unsigned char p : bytes) {
        float x = static_cast<float>(p) / 255.0f;
        x = x - 0.1307f;
        pixels.push_back(x / 0.3081f);
      }
    }
    std::vector<int64_t> shape = model->inputs()[0].shape;
    shape[0] = 10;
    std::vector<Tensor> inputs = {Tensor::FromVector(shape, pixels)};
    absl::StatusOr<std::vector<Tensor>> out = model->Forward(inputs);
    ASSERT_TRUE(out.ok()) << out.status();
    EXPECT_EQ(ArgmaxRows((*out)[0]), golden.argmax) << fixture.golden;
  }
}

}  // namespace
}  // namespace ember::model
