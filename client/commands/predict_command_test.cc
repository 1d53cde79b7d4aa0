#include "client/commands/predict_command.h"

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ember::client {
namespace {

using model::DataType;
using model::TensorSpec;
using ::testing::HasSubstr;

std::string Runfile(const std::string& relative) {
  return std::string(std::getenv("TEST_SRCDIR")) + "/ember/" + relative;
}

json::Value ParseOrDie(const std::string& text) {
  auto doc = json::Parse(text);
  EXPECT_TRUE(doc.ok()) << doc.status();
  return doc.ok() ? *doc : json::Value();
}

const std::vector<TensorSpec>& TwoInputs() {
  static const auto* specs = new std::vector<TensorSpec>{
      {"x", DataType::kFloat32, {-1, 2}}, {"ids", DataType::kInt64, {-1}}};
  return *specs;
}

TEST(TensorsFromJsonTest, ListInModelOrderWithNestedData) {
  auto tensors = TensorsFromJson(
      ParseOrDie(R"([{"name": "ids", "shape": [3], "data": [4, 5, 6]},
                     {"name": "x", "shape": [2, 2], "datatype": "FP32",
                      "data": [[1, 2.5], [3, -4]]}])"),
      TwoInputs());
  ASSERT_TRUE(tensors.ok()) << tensors.status();
  ASSERT_EQ(tensors->size(), 2u);
  EXPECT_EQ((*tensors)[0].shape(), (std::vector<int64_t>{2, 2}));
  EXPECT_EQ((*tensors)[0].data<float>()[1], 2.5f);
  EXPECT_EQ((*tensors)[0].data<float>()[3], -4.0f);
  EXPECT_EQ((*tensors)[1].type(), DataType::kInt64);
  EXPECT_EQ((*tensors)[1].data<int64_t>()[2], 6);
}

TEST(TensorsFromJsonTest, SingleObjectMayOmitTheName) {
  std::vector<TensorSpec> one = {{"board", DataType::kFloat32, {-1, 2}}};
  auto tensors =
      TensorsFromJson(ParseOrDie(R"({"shape": [1, 2], "data": [0, 1]})"), one);
  ASSERT_TRUE(tensors.ok()) << tensors.status();
  EXPECT_EQ((*tensors)[0].num_elements(), 2);
}

TEST(TensorsFromJsonTest, Errors) {
  auto error = [](const std::string& text) {
    auto t = TensorsFromJson(ParseOrDie(text), TwoInputs());
    EXPECT_FALSE(t.ok()) << text;
    return std::string(t.status().message());
  };
  EXPECT_THAT(error(R"([{"name": "x", "shape": [1, 2], "data": [1, 2]}])"),
              HasSubstr("input 'ids' is missing"));
  EXPECT_THAT(error(R"([{"name": "y", "shape": [1], "data": [1]}])"),
              HasSubstr("no input 'y'"));
  EXPECT_THAT(error(R"([{"name": "ids", "shape": [1], "data": [1]},
                        {"name": "ids", "shape": [1], "data": [1]}])"),
              HasSubstr("given twice"));
  EXPECT_THAT(error(R"([{"name": "ids", "shape": [1], "data": [1]},
                        {"name": "x", "shape": [2, 2], "data": [1, 2, 3]}])"),
              HasSubstr("needs 4 values, \"data\" has 3"));
  EXPECT_THAT(error(R"([{"name": "ids", "shape": [1], "data": [1.5]},
                        {"name": "x", "shape": [1, 2], "data": [1, 2]}])"),
              HasSubstr("INT64 data must be integers"));
  EXPECT_THAT(error(R"([{"name": "ids", "shape": [1], "data": ["a"]},
                        {"name": "x", "shape": [1, 2], "data": [1, 2]}])"),
              HasSubstr("numbers"));
  EXPECT_THAT(error(R"([{"name": "ids", "shape": [1], "data": [1]},
                        {"name": "x", "shape": [1, 2], "data": [1, 1e300]}])"),
              HasSubstr("does not fit FP32"));
  EXPECT_THAT(error(R"([{"name": "ids", "shape": [-1], "data": []},
                        {"name": "x", "shape": [1, 2], "data": [1, 2]}])"),
              HasSubstr("integers >= 0"));
  EXPECT_THAT(error(R"([{"name": "ids", "shape": [1], "data": [1],
                         "datatype": "FP32"},
                        {"name": "x", "shape": [1, 2], "data": [1, 2]}])"),
              HasSubstr("takes INT64"));
  EXPECT_THAT(error(R"(42)"), HasSubstr("must be an object"));
  EXPECT_THAT(error(R"([{"shape": [1], "data": [1]}])"),
              HasSubstr("needs a \"name\""));
}

TEST(TensorsToJsonTest, WritesNameTypeShapeData) {
  std::vector<TensorSpec> specs = {{"y", DataType::kFloat32, {-1, 2}}};
  json::Value out =
      TensorsToJson(specs, {model::Tensor::FromVector({1, 2}, {0.1f, -2.0f})});
  EXPECT_EQ(
      json::Write(out),
      R"([{"name":"y","datatype":"FP32","shape":[1,2],"data":[0.1,-2]}])");
}

// The command end to end on the Connect-4 model directory with the golden
// boards: the printed Q-values match the golden file.
TEST(PredictCommandTest, RunsAModelDirectory) {
  std::ifstream golden_file(
      Runfile("tests/fixtures/burn/golden/connect4-mlp-f32-burn0.16.1.json"));
  std::stringstream golden_text;
  golden_text << golden_file.rdbuf();
  json::Value golden = ParseOrDie(golden_text.str());

  json::Value input = json::Value::MakeObject();
  input.Set("name", json::Value::String("board"));
  input.Set("shape", *golden.Find("input_shape"));
  input.Set("data", *golden.Find("inputs"));
  const std::string input_path =
      std::string(std::getenv("TEST_TMPDIR")) + "/boards.json";
  std::ofstream(input_path) << json::Write(input);

  PredictCommand command;
  ArgParser args("ember predict", "");
  command.DefineArgs(args);
  ASSERT_TRUE(
      args.Parse({"--model-dir", Runfile("tests/fixtures/models/connect4"),
                  "--input", input_path})
          .ok());
  ASSERT_TRUE(command.Validate().ok());
  std::ostringstream out;
  absl::Status status = command.Run(out);
  ASSERT_TRUE(status.ok()) << status;

  json::Value printed = ParseOrDie(out.str());
  ASSERT_TRUE(printed.is_array());
  ASSERT_EQ(printed.array().size(), 1u);
  const json::Value& q = printed.array()[0];
  EXPECT_EQ(q.Find("name")->string_value(), "q_values");
  EXPECT_EQ(*q.Find("shape"), *golden.Find("output_shape"));
  const json::Value::Array& got = q.Find("data")->array();
  const json::Value::Array& want = golden.Find("outputs")->array();
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_LE(std::abs(got[i].number() - want[i].number()),
              1e-5 + 1e-3 * std::abs(want[i].number()))
        << "element " << i;
  }
}

TEST(PredictCommandTest, ReportsBadDirectoriesAndInputs) {
  auto run = [](std::vector<std::string> argv) {
    PredictCommand command;
    ArgParser args("ember predict", "");
    command.DefineArgs(args);
    EXPECT_TRUE(args.Parse(argv).ok());
    absl::Status valid = command.Validate();
    if (!valid.ok()) return valid;
    std::ostringstream out;
    return command.Run(out);
  };
  EXPECT_FALSE(run({"--input", "x.json"}).ok());
  absl::Status missing = run({"--model-dir", "/nonexistent", "--input", "-"});
  EXPECT_THAT(missing.message(), HasSubstr("/nonexistent/config.pbtxt"));

  const std::string bad_json =
      std::string(std::getenv("TEST_TMPDIR")) + "/bad.json";
  std::ofstream(bad_json) << "{\"shape\": [1, 42], \"data\": [1,";
  absl::Status parse =
      run({"--model-dir", Runfile("tests/fixtures/models/connect4"), "--input",
           bad_json});
  EXPECT_THAT(parse.message(), HasSubstr("bad.json"));
  EXPECT_THAT(parse.message(), HasSubstr("line 1"));

  const std::string wrong_shape =
      std::string(std::getenv("TEST_TMPDIR")) + "/wrong.json";
  std::ofstream(wrong_shape) << "{\"shape\": [1, 2], \"data\": [1, 2]}";
  absl::Status shape =
      run({"--model-dir", Runfile("tests/fixtures/models/connect4"), "--input",
           wrong_shape});
  EXPECT_THAT(shape.message(), HasSubstr("input 'board'"));
  EXPECT_THAT(shape.message(), HasSubstr("[-1, 42]"));
}

}  // namespace
}  // namespace ember::client
