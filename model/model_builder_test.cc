#include "model/model_builder.h"

#include <cmath>
#include <cstdlib>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "model/architecture_registry.h"
#include "model/modules/test_records.h"
#include "model/modules/test_util_expect.h"
#include "recorder/codec.h"

namespace ember::model {
namespace {

using recorder::Value;
using ::testing::AllOf;
using testing::ExpectValues;
using testing::F32Param;
using ::testing::HasSubstr;
using testing::ModuleRecord;
using testing::Ramp;
using testing::RecordOf;

constexpr char kConfigPath[] = "models/net/config.pbtxt";
constexpr char kRecordPath[] = "models/net/1/model.mpk";

Value Linear(uint64_t in, uint64_t out, float scale = 0.1f) {
  return ModuleRecord({{"weight", F32Param({in, out}, Ramp(in * out, scale))},
                       {"bias", F32Param({out}, Ramp(out, scale))}});
}

// A small MLP record: fc0 [4, 8], fc1 [8, 3], act nil.
recorder::Record MlpRecord() {
  return RecordOf(ModuleRecord(
      {{"fc0", Linear(4, 8)}, {"fc1", Linear(8, 3)}, {"act", Value::Nil()}}));
}

// Builds, and checks on the way that CheckModel (the shape-only build) gives
// exactly the same verdict, so every case in this file also tests it.
absl::StatusOr<std::shared_ptr<const Model>> Build(
    const std::string& text, const recorder::Record& record) {
  absl::StatusOr<config::ModelConfig> config =
      ParseModelConfig(text, kConfigPath);
  if (!config.ok()) return config.status();
  const BuildSource source{kConfigPath, kRecordPath};
  absl::StatusOr<std::shared_ptr<const Model>> built =
      BuildModel(*config, record, source);
  EXPECT_EQ(CheckModel(*config, record, source), built.status());
  return built;
}

const char kMlpHead[] = R"pb(
  input {
    name: "x"
    datatype: FP32
    shape: [ -1, 4 ]
  }
  output {
    name: "y"
    datatype: FP32
    shape: [ -1, 3 ]
  }
)pb";

// y = relu(x·W0 + b0)·W1 + b1, computed with plain loops.
std::vector<float> ReferenceMlp(const std::vector<float>& x, int batch) {
  std::vector<float> w0 = Ramp(32), b0 = Ramp(8), w1 = Ramp(24), b1 = Ramp(3);
  std::vector<float> y;
  for (int b = 0; b < batch; ++b) {
    std::vector<float> h(8);
    for (int j = 0; j < 8; ++j) {
      float s = b0[j];
      for (int i = 0; i < 4; ++i) s += x[b * 4 + i] * w0[i * 8 + j];
      h[j] = std::max(s, 0.0f);
    }
    for (int j = 0; j < 3; ++j) {
      float s = b1[j];
      for (int i = 0; i < 8; ++i) s += h[i] * w1[i * 3 + j];
      y.push_back(s);
    }
  }
  return y;
}

TEST(ModelBuilderTest, DeclarativeMlp) {
  auto model = Build(std::string(kMlpHead) + R"pb(
                       layers { name: "fc0" type: "linear" record_path: "fc0" }
                       layers { name: "relu" type: "relu" }
                       layers { name: "fc1" type: "linear" record_path: "fc1" }
                     )pb",
                     MlpRecord());
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_EQ((*model)->parameter_bytes(), (32 + 8 + 24 + 3) * 4);
  std::vector<float> x = Ramp(8, 0.3f);
  auto y = (*model)->Forward({Tensor::FromVector({2, 4}, x)});
  ASSERT_TRUE(y.ok()) << y.status();
  ExpectValues((*y)[0], ReferenceMlp(x, 2));
}

TEST(ModelBuilderTest, ResidualAddConcatAndNamedOutputs) {
  // y = concat(fc1(relu(fc0(x))), fc1(relu(fc0(x)) + relu(fc0(x))))
  auto model = Build(
      R"pb(
        input {
          name: "x"
          datatype: FP32
          shape: [ -1, 4 ]
        }
        output {
          name: "both"
          datatype: FP32
          shape: [ -1, 6 ]
        }
        output {
          name: "hidden"
          datatype: FP32
          shape: [ -1, 8 ]
        }
        layers { name: "fc0" type: "linear" record_path: "fc0" inputs: "x" }
        layers { name: "hidden" type: "relu" }
        layers { name: "plain" type: "linear" record_path: "fc1" }
        layers {
          name: "twice"
          type: "add"
          inputs: [ "hidden", "hidden" ]
        }
        layers { name: "doubled" type: "linear" record_path: "fc1" }
        layers {
          name: "both"
          type: "concat"
          inputs: [ "plain", "doubled" ]
          settings { key: "axis" value: "1" }
        }
      )pb",
      MlpRecord());
  ASSERT_TRUE(model.ok()) << model.status();
  std::vector<float> x = Ramp(4, 0.3f);
  auto y = (*model)->Forward({Tensor::FromVector({1, 4}, x)});
  ASSERT_TRUE(y.ok()) << y.status();
  ASSERT_EQ(y->size(), 2u);
  std::vector<float> plain = ReferenceMlp(x, 1);
  const std::vector<float>& both =
      std::vector<float>((*y)[0].data<float>(), (*y)[0].data<float>() + 6);
  for (int j = 0; j < 3; ++j) EXPECT_NEAR(both[j], plain[j], 1e-5);
  EXPECT_EQ((*y)[1].shape(), (std::vector<int64_t>{1, 8}));
  // doubled = 2·h·W1 + b1 = 2·(plain - b1) + b1.
  std::vector<float> b1 = Ramp(3);
  for (int j = 0; j < 3; ++j) {
    EXPECT_NEAR(both[3 + j], 2 * (plain[j] - b1[j]) + b1[j], 1e-5);
  }
}

// Activations may overwrite their input's buffer; these graphs read that
// buffer again (directly, through a view, as an output, as the caller's
// input), so the results show whether the in-place planner kept it intact.
TEST(ModelBuilderTest, InPlaceActivationsNeverClobberReadBuffers) {
  auto model =
      Build(R"pb(
              input {
                name: "x"
                datatype: FP32
                shape: [ -1, 4 ]
              }
              output {
                name: "sum"
                datatype: FP32
                shape: [ -1, 8 ]
              }
              output {
                name: "view"
                datatype: FP32
                shape: [ -1, 8 ]
              }
              output {
                name: "x_relu"
                datatype: FP32
                shape: [ -1, 4 ]
              }
              layers { name: "x_relu" type: "relu" }
              layers { name: "h" type: "linear" record_path: "fc0" inputs: "x" }
              layers { name: "view" type: "flatten" }
              layers { name: "act" type: "tanh" inputs: "view" }
              layers { name: "act2" type: "sigmoid" }
              layers {
                name: "sum"
                type: "add"
                inputs: [ "act2", "h" ]
              }
            )pb",
            MlpRecord());
  ASSERT_TRUE(model.ok()) << model.status();
  std::vector<float> x = {-1, 2, -3, 4};
  Tensor input = Tensor::FromVector({1, 4}, x);
  auto y = (*model)->Forward({input});
  ASSERT_TRUE(y.ok()) << y.status();
  ExpectValues(input, x);               // the caller's tensor
  ExpectValues((*y)[2], {0, 2, 0, 4});  // relu of a model input

  std::vector<float> w0 = Ramp(32), b0 = Ramp(8);
  std::vector<float> h(8), sum(8);
  for (int j = 0; j < 8; ++j) {
    h[j] = b0[j];
    for (int i = 0; i < 4; ++i) h[j] += x[i] * w0[i * 8 + j];
    sum[j] = 1.0f / (1.0f + std::exp(-std::tanh(h[j]))) + h[j];
  }
  ExpectValues((*y)[1], h);    // the view is an output: left intact
  ExpectValues((*y)[0], sum);  // h is read again by "sum"
}

TEST(ModelBuilderTest, Int64IdsThroughEmbedding) {
  recorder::Record record = RecordOf(ModuleRecord(
      {{"embed", ModuleRecord({{"weight", F32Param({5, 4}, Ramp(20))}})},
       {"fc0", Linear(4, 8)}}));
  auto model =
      Build(R"pb(
              input {
                name: "ids"
                datatype: INT64
                shape: [ -1, -1 ]
              }
              output {
                name: "y"
                datatype: FP32
                shape: [ -1, -1, 8 ]
              }
              layers { name: "e" type: "embedding" record_path: "embed" }
              layers { name: "y" type: "linear" record_path: "fc0" }
            )pb",
            record);
  ASSERT_TRUE(model.ok()) << model.status();
  auto y = (*model)->Forward({Tensor::FromInt64Vector({1, 2}, {3, 0})});
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ((*y)[0].shape(), (std::vector<int64_t>{1, 2, 8}));
  // Row 3 of the table through fc0, by hand from the same Ramp values.
  std::vector<float> table = Ramp(20), w0 = Ramp(32), b0 = Ramp(8);
  for (int j = 0; j < 8; ++j) {
    float want = b0[j];
    for (int i = 0; i < 4; ++i) want += table[3 * 4 + i] * w0[i * 8 + j];
    EXPECT_NEAR((*y)[0].data<float>()[j], want, 1e-5);
  }
  auto bad = (*model)->Forward({Tensor::FromInt64Vector({1, 1}, {5})});
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(),
              AllOf(HasSubstr("layer 'e'"), HasSubstr("id 5")));
  auto wrong_type = (*model)->Forward({Tensor::FromVector({1, 1}, {3})});
  ASSERT_FALSE(wrong_type.ok());
  EXPECT_THAT(wrong_type.status().message(), HasSubstr("INT64"));
}

TEST(ModelBuilderTest, MissingParameterNamesFileLayerAndPath) {
  recorder::Record record = RecordOf(ModuleRecord(
      {{"fc0", ModuleRecord({{"bias", F32Param({8}, Ramp(8))}})}}));
  auto model =
      Build(std::string(kMlpHead) + R"pb(
              layers { name: "first" type: "linear" record_path: "fc0" }
            )pb",
            record);
  ASSERT_FALSE(model.ok());
  EXPECT_THAT(model.status().message(),
              AllOf(HasSubstr(kConfigPath), HasSubstr("layer 'first'"),
                    HasSubstr("record path 'fc0'"), HasSubstr(kRecordPath),
                    HasSubstr("'fc0.weight'"), HasSubstr("missing")));
}

TEST(ModelBuilderTest, WrongRankNamesShape) {
  recorder::Record record = RecordOf(ModuleRecord(
      {{"fc0", ModuleRecord({{"weight", F32Param({2, 2, 8}, Ramp(32))}})}}));
  auto model =
      Build(std::string(kMlpHead) + R"pb(
              layers { name: "first" type: "linear" record_path: "fc0" }
            )pb",
            record);
  ASSERT_FALSE(model.ok());
  EXPECT_THAT(model.status().message(),
              AllOf(HasSubstr(kConfigPath), HasSubstr("layer 'first'"),
                    HasSubstr("'fc0.weight'"), HasSubstr("rank-2"),
                    HasSubstr("[2, 2, 8]")));
}

TEST(ModelBuilderTest, ShapesThatDisagreeBetweenLayers) {
  recorder::Record record =
      RecordOf(ModuleRecord({{"fc0", Linear(4, 8)}, {"fc1", Linear(5, 3)}}));
  auto model = Build(std::string(kMlpHead) + R"pb(
                       layers { name: "a" type: "linear" record_path: "fc0" }
                       layers { name: "b" type: "linear" record_path: "fc1" }
                     )pb",
                     record);
  ASSERT_FALSE(model.ok());
  EXPECT_THAT(model.status().message(),
              AllOf(HasSubstr(kConfigPath), HasSubstr("layer 'b'"),
                    HasSubstr("record path 'fc1'"), HasSubstr("[-1, 8]"),
                    HasSubstr("'fc1.weight' [5, 3]")));
}

TEST(ModelBuilderTest, DeclaredOutputShapeMustMatch) {
  auto model = Build(R"pb(
                       input {
                         name: "x"
                         datatype: FP32
                         shape: [ -1, 4 ]
                       }
                       output {
                         name: "y"
                         datatype: FP32
                         shape: [ -1, 7 ]
                       }
                       layers { name: "fc0" type: "linear" record_path: "fc0" }
                     )pb",
                     MlpRecord());
  ASSERT_FALSE(model.ok());
  EXPECT_THAT(model.status().message(),
              AllOf(HasSubstr(kConfigPath), HasSubstr("output 'y'"),
                    HasSubstr("[-1, 7]"), HasSubstr("[-1, 8]")));
}

TEST(ModelBuilderTest, BadSettingValue) {
  auto model = Build(std::string(kMlpHead) + R"pb(
                       layers {
                         name: "leaky"
                         type: "leaky_relu"
                         settings { key: "negative_slope" value: "steep" }
                       }
                     )pb",
                     MlpRecord());
  ASSERT_FALSE(model.ok());
  EXPECT_THAT(model.status().message(),
              AllOf(HasSubstr(kConfigPath), HasSubstr("layer 'leaky'"),
                    HasSubstr("'negative_slope'"), HasSubstr("'steep'")));
}

TEST(ModelBuilderTest, UnknownSettingKey) {
  auto model = Build(std::string(kMlpHead) + R"pb(
                       layers {
                         name: "fc0"
                         type: "linear"
                         record_path: "fc0"
                         settings { key: "stride" value: "2" }
                       }
                     )pb",
                     MlpRecord());
  ASSERT_FALSE(model.ok());
  EXPECT_THAT(model.status().message(),
              AllOf(HasSubstr("layer 'fc0'"), HasSubstr("'stride'")));
}

TEST(ModelBuilderTest, UnknownLayerType) {
  auto model = Build(std::string(kMlpHead) + R"pb(
                       layers { name: "odd" type: "transformer" }
                     )pb",
                     MlpRecord());
  ASSERT_FALSE(model.ok());
  EXPECT_THAT(model.status().message(),
              AllOf(HasSubstr(kConfigPath), HasSubstr("layer 'odd'"),
                    HasSubstr("unknown layer type 'transformer'"),
                    HasSubstr("conv2d")));
}

TEST(ModelBuilderTest, CycleAndUnknownInputReference) {
  auto cycle = Build(std::string(kMlpHead) + R"pb(
                       layers { name: "a" type: "relu" inputs: "b" }
                       layers { name: "b" type: "relu" inputs: "a" }
                     )pb",
                     MlpRecord());
  ASSERT_FALSE(cycle.ok());
  EXPECT_THAT(cycle.status().message(),
              AllOf(HasSubstr(kConfigPath), HasSubstr("layer 'a'"),
                    HasSubstr("input 'b'"), HasSubstr("cycle")));

  auto self = Build(std::string(kMlpHead) + R"pb(
                      layers { name: "a" type: "relu" inputs: "a" }
                    )pb",
                    MlpRecord());
  ASSERT_FALSE(self.ok());
  EXPECT_THAT(self.status().message(), HasSubstr("cycle"));

  auto unknown = Build(std::string(kMlpHead) + R"pb(
                         layers { name: "a" type: "relu" inputs: "nowhere" }
                       )pb",
                       MlpRecord());
  ASSERT_FALSE(unknown.ok());
  EXPECT_THAT(unknown.status().message(),
              AllOf(HasSubstr("layer 'a'"), HasSubstr("input 'nowhere'"),
                    HasSubstr("neither")));
}

TEST(ModelBuilderTest, RecordPathNotInRecord) {
  auto model =
      Build(std::string(kMlpHead) + R"pb(
              layers { name: "a" type: "linear" record_path: "layers[3]" }
            )pb",
            MlpRecord());
  ASSERT_FALSE(model.ok());
  EXPECT_THAT(model.status().message(),
              AllOf(HasSubstr("layer 'a'"), HasSubstr("'layers[3]'"),
                    HasSubstr("not in the record")));
}

TEST(ModelBuilderTest, GraphShapeErrorsAndArity) {
  auto dup = Build(std::string(kMlpHead) + R"pb(
                     layers { name: "x" type: "relu" }
                   )pb",
                   MlpRecord());
  ASSERT_FALSE(dup.ok());
  EXPECT_THAT(dup.status().message(), HasSubstr("already used"));

  auto arity = Build(std::string(kMlpHead) + R"pb(
                       layers { name: "sum" type: "add" }
                     )pb",
                     MlpRecord());
  ASSERT_FALSE(arity.ok());
  EXPECT_THAT(arity.status().message(), HasSubstr("two or more"));

  auto params = Build(std::string(kMlpHead) + R"pb(
                        layers { name: "r" type: "relu" record_path: "act" }
                      )pb",
                      MlpRecord());
  ASSERT_FALSE(params.ok());
  EXPECT_THAT(params.status().message(), HasSubstr("no parameters"));
}

TEST(ModelBuilderTest, RuntimeShapeErrorsAreStatuses) {
  auto model = Build(R"pb(
                       input {
                         name: "a"
                         datatype: FP32
                         shape: [ -1, -1 ]
                       }
                       input {
                         name: "b"
                         datatype: FP32
                         shape: [ -1, -1 ]
                       }
                       output {
                         name: "sum"
                         datatype: FP32
                         shape: [ -1, -1 ]
                       }
                       layers {
                         name: "sum"
                         type: "add"
                         inputs: [ "a", "b" ]
                       }
                     )pb",
                     MlpRecord());
  ASSERT_TRUE(model.ok()) << model.status();
  auto bad = (*model)->Forward({Tensor::FromVector({1, 2}, {1, 2}),
                                Tensor::FromVector({1, 3}, {1, 2, 3})});
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(),
              AllOf(HasSubstr("layer 'sum'"), HasSubstr("[1, 3]")));
  auto wrong_count = (*model)->Forward({Tensor::FromVector({1, 2}, {1, 2})});
  EXPECT_FALSE(wrong_count.ok());
}

// A compiled architecture whose every inference fails, with the input
// shape its registered name asks for.
class FailingModel : public Model {
 public:
  explicit FailingModel(std::vector<int64_t> shape)
      : inputs_{{"x", DataType::kFloat32, std::move(shape)}},
        outputs_{{"y", DataType::kFloat32, {-1, 3}}} {}
  const std::vector<TensorSpec>& inputs() const override { return inputs_; }
  const std::vector<TensorSpec>& outputs() const override { return outputs_; }
  absl::StatusOr<std::vector<Tensor>> Forward(
      absl::Span<const Tensor>) const override {
    return absl::FailedPreconditionError("no inference today");
  }
  int64_t parameter_bytes() const override { return 0; }

 private:
  std::vector<TensorSpec> inputs_;
  std::vector<TensorSpec> outputs_;
};

// The daemon's loader: a model whose zeros request is one its specs accept
// must answer it; one with other dynamic dimensions is served unwarmed.
TEST(LoadWarmModelTest, FailsOnlyWhenTheZerosWereAValidRequest) {
  for (const auto& [name, shape] :
       std::vector<std::pair<std::string, std::vector<int64_t>>>{
           {"failing_fixed", {-1, 3}}, {"failing_dynamic", {-1, -1, 3}}}) {
    ASSERT_TRUE(RegisterArchitecture(
                    name,
                    [shape = shape](const config::ModelConfig&,
                                    const recorder::Record&, const BuildSource&)
                        -> absl::StatusOr<std::shared_ptr<const Model>> {
                      return std::make_shared<FailingModel>(shape);
                    })
                    .ok());
  }
  const std::string dir = std::getenv("TEST_TMPDIR");
  const std::string record_path = dir + "/warm.mpk";
  ASSERT_TRUE(recorder::WriteRecordFile(MlpRecord(), record_path,
                                        recorder::RecordFormat::kMpk)
                  .ok());
  config::ModelConfig config;
  config.set_name("warm");

  config.set_architecture("failing_fixed");
  absl::StatusOr<std::shared_ptr<const Model>> fixed =
      LoadWarmModel(config, "warm/config.pbtxt", record_path);
  ASSERT_FALSE(fixed.ok());
  EXPECT_EQ(fixed.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(fixed.status().message(),
              AllOf(HasSubstr(record_path), HasSubstr("warm-up"),
                    HasSubstr("x [1, 3]"), HasSubstr("no inference today")));

  config.set_architecture("failing_dynamic");
  absl::StatusOr<std::shared_ptr<const Model>> dynamic =
      LoadWarmModel(config, "warm/config.pbtxt", record_path);
  EXPECT_TRUE(dynamic.ok()) << dynamic.status();
}

TEST(ParseModelConfigTest, SyntaxErrorsGiveLineAndColumn) {
  auto config =
      ParseModelConfig("input { name: \"x\" \n bogus: 3 }", "c.pbtxt");
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(),
              AllOf(HasSubstr("c.pbtxt:2:"), HasSubstr("bogus")));
}

TEST(ParseModelConfigTest, SchemaRules) {
  const std::string io = R"pb(
    input {
      name: "x"
      datatype: FP32
      shape: [ -1, 4 ]
    }
    output {
      name: "y"
      datatype: FP32
      shape: [ -1, 3 ]
    }
  )pb";
  EXPECT_THAT(ParseModelConfig(io, "c.pbtxt").status().message(),
              HasSubstr("set 'architecture'"));
  EXPECT_THAT(ParseModelConfig(io + R"pb(
                                 architecture: "burn_book_mlp"
                                 layers { name: "r" type: "relu" }
                               )pb",
                               "c.pbtxt")
                  .status()
                  .message(),
              HasSubstr("not both"));
  EXPECT_THAT(ParseModelConfig(R"pb(
                                 architecture: "a"
                                 input {
                                   name: "x"
                                   shape: [ 4 ]
                                 }
                               )pb",
                               "c.pbtxt")
                  .status()
                  .message(),
              AllOf(HasSubstr("input 'x'"), HasSubstr("FP32 or INT64")));
  EXPECT_THAT(ParseModelConfig(R"pb(
                                 architecture: "a"
                                 input {
                                   name: "x"
                                   datatype: FP32
                                   shape: [ -1, 0 ]
                                 }
                               )pb",
                               "c.pbtxt")
                  .status()
                  .message(),
              HasSubstr("-1 or >= 1"));
  EXPECT_THAT(ParseModelConfig(R"pb(
                                 architecture: "a" record_file: "../x.mpk"
                               )pb",
                               "c.pbtxt")
                  .status()
                  .message(),
              HasSubstr("plain file name"));
}

TEST(ModelBuilderTest, UnknownArchitecture) {
  auto model = Build(R"pb(architecture: "resnet9000")pb", MlpRecord());
  ASSERT_FALSE(model.ok());
  EXPECT_THAT(model.status().message(),
              AllOf(HasSubstr(kConfigPath), HasSubstr("'resnet9000'"),
                    HasSubstr("burn_book_mlp"), HasSubstr("modern_lstm")));
}

TEST(ModelBuilderTest, RegisteredArchitectureIsUsed) {
  ASSERT_TRUE(RegisterArchitecture(
                  "test_only",
                  [](const config::ModelConfig&, const recorder::Record&,
                     const BuildSource& source)
                      -> absl::StatusOr<std::shared_ptr<const Model>> {
                    return absl::UnimplementedError(source.record_path);
                  })
                  .ok());
  EXPECT_EQ(RegisterArchitecture(
                "test_only",
                [](auto&, auto&, auto&) {
                  return absl::StatusOr<std::shared_ptr<const Model>>(
                      absl::InternalError("second"));
                })
                .code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(RegisterArchitecture("no_factory", nullptr).code(),
            absl::StatusCode::kInvalidArgument);
  auto model = Build(R"pb(architecture: "test_only")pb", MlpRecord());
  EXPECT_EQ(model.status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_EQ(model.status().message(), kRecordPath);
}

// The Burn book's model written as a real record file through the codec,
// then loaded through the compiled architecture.
recorder::Record BurnBookRecord(uint64_t hidden_in) {
  auto param = [](std::vector<uint64_t> shape, float scale, const char* id) {
    int64_t n = 1;
    for (uint64_t d : shape) n *= d;
    Value v = F32Param(shape, Ramp(n, scale));
    recorder::Tensor t = v.tensor();
    t.id = id;
    v.set_tensor(t);
    return v;
  };
  Value item = ModuleRecord(
      {{"linear_in",
        ModuleRecord({{"weight", param({10, 64}, 0.02f, "aaaaaaaaaaaaa")},
                      {"bias", param({64}, 0.01f, "bbbbbbbbbbbbb")}})},
       {"linear_out",
        ModuleRecord({{"weight", param({hidden_in, 2}, 0.03f, "ccccccccccccc")},
                      {"bias", param({2}, 0.1f, "ddddddddddddd")}})},
       {"activation", Value::Nil()}});
  Value metadata = ModuleRecord(
      {{"float", Value::String("f32")},
       {"int", Value::String("i32")},
       {"format", Value::String("burn_core::record::file::NamedMpkFileRecorder<"
                                "burn_core::record::settings::"
                                "FullPrecisionSettings>")},
       {"version", Value::String("0.16.1")},
       {"settings", Value::String("FullPrecisionSettings")}});
  return recorder::Record(Value::MakeMap(
      {{"metadata", metadata}, {"item", item}, {"_b", Value::MakeArray({})}}));
}

TEST(BurnBookMlpTest, RoundTripsThroughAFile) {
  const std::string dir = std::getenv("TEST_TMPDIR");
  const std::string path = dir + "/burn_book.mpk";
  ASSERT_TRUE(recorder::WriteRecordFile(BurnBookRecord(64), path,
                                        recorder::RecordFormat::kMpk)
                  .ok());
  auto config = ParseModelConfig(R"pb(architecture: "burn_book_mlp")pb",
                                 "book/config.pbtxt");
  ASSERT_TRUE(config.ok()) << config.status();
  auto model = LoadModel(*config, "book/config.pbtxt", path);
  ASSERT_TRUE(model.ok()) << model.status();
  ASSERT_EQ((*model)->inputs().size(), 1u);
  EXPECT_EQ((*model)->inputs()[0].name, "input");
  EXPECT_EQ((*model)->inputs()[0].shape, (std::vector<int64_t>{-1, 10}));
  EXPECT_EQ((*model)->outputs()[0].shape, (std::vector<int64_t>{-1, 2}));
  EXPECT_EQ((*model)->parameter_bytes(), (640 + 64 + 128 + 2) * 4);

  // Reference: relu(x·W_in + b_in)·W_out + b_out with plain loops.
  std::vector<float> x = Ramp(20, 0.5f);
  std::vector<float> w_in = Ramp(640, 0.02f), b_in = Ramp(64, 0.01f);
  std::vector<float> w_out = Ramp(128, 0.03f), b_out = Ramp(2, 0.1f);
  std::vector<float> want;
  for (int b = 0; b < 2; ++b) {
    std::vector<float> h(64);
    for (int j = 0; j < 64; ++j) {
      float s = b_in[j];
      for (int i = 0; i < 10; ++i) s += x[b * 10 + i] * w_in[i * 64 + j];
      h[j] = std::max(0.0f, s);
    }
    for (int j = 0; j < 2; ++j) {
      float s = b_out[j];
      for (int i = 0; i < 64; ++i) s += h[i] * w_out[i * 2 + j];
      want.push_back(s);
    }
  }
  auto y = (*model)->Forward({Tensor::FromVector({2, 10}, x)});
  ASSERT_TRUE(y.ok()) << y.status();
  ExpectValues((*y)[0], want, 1e-4f);
}

TEST(BurnBookMlpTest, RenamedSpecsAndMismatchedRecord) {
  auto config = ParseModelConfig(R"pb(
                                   architecture: "burn_book_mlp"
                                   input {
                                     name: "features"
                                     datatype: FP32
                                     shape: [ -1, 10 ]
                                   }
                                   output {
                                     name: "scores"
                                     datatype: FP32
                                     shape: [ -1, 2 ]
                                   }
                                 )pb",
                                 "book/config.pbtxt");
  ASSERT_TRUE(config.ok());
  auto model = BuildModel(*config, BurnBookRecord(64),
                          {"book/config.pbtxt", "book/1/model.mpk"});
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_EQ((*model)->inputs()[0].name, "features");
  EXPECT_EQ((*model)->outputs()[0].name, "scores");

  auto bad = BuildModel(*config, BurnBookRecord(32),
                        {"book/config.pbtxt", "book/1/model.mpk"});
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(
      bad.status().message(),
      AllOf(HasSubstr("book/config.pbtxt"), HasSubstr("book/1/model.mpk"),
            HasSubstr("'linear_in.weight' [10, 64]"),
            HasSubstr("'linear_out.weight' [32, 2]")));

  auto wrong = ParseModelConfig(R"pb(
                                  architecture: "burn_book_mlp"
                                  input {
                                    name: "features"
                                    datatype: FP32
                                    shape: [ -1, 11 ]
                                  }
                                )pb",
                                "book/config.pbtxt");
  ASSERT_TRUE(wrong.ok());
  auto spec = BuildModel(*wrong, BurnBookRecord(64),
                         {"book/config.pbtxt", "book/1/model.mpk"});
  ASSERT_FALSE(spec.ok());
  EXPECT_THAT(spec.status().message(),
              AllOf(HasSubstr("input 'features'"), HasSubstr("[-1, 11]"),
                    HasSubstr("[-1, 10]")));
}

TEST(LoadModelTest, MissingRecordFile) {
  auto config = ParseModelConfig(R"pb(architecture: "burn_book_mlp")pb", "c");
  ASSERT_TRUE(config.ok());
  auto model = LoadModel(*config, "c", "/nonexistent/model.mpk");
  ASSERT_FALSE(model.ok());
  EXPECT_THAT(model.status().message(), HasSubstr("/nonexistent/model.mpk"));
}

}  // namespace
}  // namespace ember::model
