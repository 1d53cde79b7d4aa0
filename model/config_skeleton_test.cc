#include "model/config_skeleton.h"

#include <cstdlib>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "model/model_builder.h"
#include "model/modules/test_records.h"
#include "recorder/codec.h"

namespace ember::model {
namespace {

using recorder::Value;
using testing::F32Param;
using ::testing::HasSubstr;
using testing::ModuleRecord;
using ::testing::Not;
using testing::Ramp;
using testing::RecordOf;

std::string Fixture(const std::string& name) {
  return std::string(std::getenv("TEST_SRCDIR")) +
         "/ember/tests/fixtures/burn/" + name;
}

std::string SkeletonOf(const std::string& fixture) {
  auto record = recorder::DecodeRecordFile(Fixture(fixture));
  EXPECT_TRUE(record.ok()) << record.status();
  auto text = ConfigSkeleton(*record, fixture);
  EXPECT_TRUE(text.ok()) << text.status();
  // Whatever else, the skeleton is a valid config as printed.
  EXPECT_TRUE(ParseModelConfig(*text, "skeleton").ok())
      << ParseModelConfig(*text, "skeleton").status() << "\n"
      << *text;
  return *text;
}

TEST(ConfigSkeletonTest, Connect4BuildsAsPrinted) {
  const std::string text = SkeletonOf("connect4-mlp-f32-burn0.16.1.mpk");
  EXPECT_THAT(text, HasSubstr("Burn 0.16.1"));
  EXPECT_THAT(text, HasSubstr("shape: [-1, 42]"));
  EXPECT_THAT(text, HasSubstr("shape: [-1, 7]"));
  EXPECT_THAT(text, HasSubstr("layers { name: \"layer_1\" type: \"linear\" "
                              "record_path: \"layer_1\" "
                              "}"));
  EXPECT_THAT(text, HasSubstr("# FILL IN: 'activation' holds no parameters"));
  // Only the activations are missing, so the skeleton already builds.
  auto config = ParseModelConfig(text, "skeleton");
  auto record =
      recorder::DecodeRecordFile(Fixture("connect4-mlp-f32-burn0.16.1.mpk"));
  ASSERT_TRUE(record.ok());
  auto model = BuildModel(*config, *record, {"skeleton", "connect4"});
  EXPECT_TRUE(model.ok()) << model.status();
}

TEST(ConfigSkeletonTest, LenetConvolutionsNeedSettings) {
  const std::string text = SkeletonOf("lenet-mnist-f16-burn0.18.0.mpk");
  EXPECT_THAT(text, HasSubstr("type: \"conv2d\" record_path: \"conv1\""));
  EXPECT_THAT(text, HasSubstr("type: \"conv2d\" record_path: \"conv2\""));
  EXPECT_THAT(text, HasSubstr("# FILL IN: stride, padding"));
  EXPECT_THAT(text, HasSubstr("shape: [-1, 1, -1, -1]"));
  EXPECT_THAT(text, HasSubstr("'pool' holds no parameters"));
  EXPECT_THAT(text, HasSubstr("type: \"linear\" record_path: \"fc2\""));
}

TEST(ConfigSkeletonTest, NestedArraysAndNorms) {
  const std::string text = SkeletonOf("lstm-f16-burn0.17.0.mpk");
  EXPECT_THAT(text,
              HasSubstr("record_path: \"stacked_lstm.layers[0].weight_ih\""));
  EXPECT_THAT(text, HasSubstr("name: \"stacked_lstm_layers_1_norm_c\" "
                              "type: \"layer_norm\""));
  EXPECT_THAT(text, HasSubstr("type: \"linear\" record_path: \"fc\""));
  EXPECT_THAT(text, HasSubstr("# architecture: \"modern_lstm\""));
}

TEST(ConfigSkeletonTest, SuggestsTheBurnBookArchitecture) {
  auto linear = [](uint64_t in, uint64_t out) {
    return ModuleRecord({{"weight", F32Param({in, out}, Ramp(in * out))},
                         {"bias", F32Param({out}, Ramp(out))}});
  };
  auto text =
      ConfigSkeleton(RecordOf(ModuleRecord({{"linear_in", linear(10, 64)},
                                            {"linear_out", linear(64, 2)},
                                            {"activation", Value::Nil()}})),
                     "book.mpk");
  ASSERT_TRUE(text.ok());
  EXPECT_THAT(*text, HasSubstr("# architecture: \"burn_book_mlp\""));
  EXPECT_THAT(SkeletonOf("connect4-mlp-f32-burn0.16.1.mpk"),
              Not(HasSubstr("# architecture:")));
}

TEST(ConfigSkeletonTest, OtherModuleKinds) {
  auto gate = [] {
    return ModuleRecord({{"input_transform",
                          ModuleRecord({{"weight", F32Param({3, 2}, Ramp(6))},
                                        {"bias", Value::Nil()}})},
                         {"hidden_transform",
                          ModuleRecord({{"weight", F32Param({2, 2}, Ramp(4))},
                                        {"bias", Value::Nil()}})}});
  };
  auto lstm = [&] {
    return ModuleRecord({{"input_gate", gate()},
                         {"forget_gate", gate()},
                         {"output_gate", gate()},
                         {"cell_gate", gate()},
                         {"d_hidden", Value::Nil()}});
  };
  recorder::Record record = RecordOf(ModuleRecord(
      {{"embed", ModuleRecord({{"weight", F32Param({10, 3}, Ramp(30))}})},
       {"rnn", ModuleRecord({{"forward", lstm()}, {"reverse", lstm()}})},
       {"gn", ModuleRecord({{"gamma", F32Param({4}, Ramp(4))},
                            {"beta", F32Param({4}, Ramp(4))},
                            {"num_groups", Value::Nil()},
                            {"num_channels", Value::Nil()},
                            {"epsilon", Value::Nil()},
                            {"affine", Value::Nil()}})},
       {"prelu", ModuleRecord({{"alpha", F32Param({4}, Ramp(4))}})}}));
  auto text = ConfigSkeleton(record, "mem");
  ASSERT_TRUE(text.ok());
  EXPECT_THAT(*text, HasSubstr("datatype: INT64"));
  EXPECT_THAT(*text, HasSubstr("type: \"embedding\" record_path: \"embed\""));
  EXPECT_THAT(*text, HasSubstr("type: \"bilstm\" record_path: \"rnn\""));
  EXPECT_THAT(*text, HasSubstr("type: \"group_norm\" record_path: \"gn\""));
  EXPECT_THAT(*text, HasSubstr("key: \"num_groups\" value: \"FILL IN\""));
  EXPECT_THAT(*text, HasSubstr("'prelu' holds parameters (alpha)"));
  EXPECT_THAT(*text, Not(HasSubstr("record_path: \"rnn.forward")));
  EXPECT_TRUE(ParseModelConfig(*text, "mem").ok());
}

TEST(ConfigSkeletonTest, RecordWithoutModules) {
  EXPECT_FALSE(ConfigSkeleton(RecordOf(Value::Nil()), "empty").ok());
  auto text =
      ConfigSkeleton(RecordOf(ModuleRecord({{"x", Value::Nil()}})), "bare");
  ASSERT_TRUE(text.ok());
  EXPECT_THAT(*text, HasSubstr("needs a\n# compiled architecture"));
}

}  // namespace
}  // namespace ember::model
