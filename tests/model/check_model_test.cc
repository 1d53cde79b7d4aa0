// CheckModel (the shape-only build) must give exactly BuildModel's verdict,
// message included, on every real Burn fixture and on each fixture broken
// one parameter at a time in every way a bad upload breaks it: a parameter
// missing, of the wrong kind, with a wrong size, rank or axis order, or
// with too few bytes.

#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "model/model_builder.h"
#include "recorder/codec.h"
#include "recorder/record.h"
#include "tests/model/fixtures.h"

namespace ember::model {
namespace {

using recorder::Value;
using testing::FixtureModel;

// Calls `change` on the `target`-th parameter of `node` in depth-first file
// order (the order of Record::Tensors()); `seen` counts parameters passed.
bool ChangeNth(Value& node, int target, int& seen,
               const std::function<void(Value&)>& change) {
  if (node.is_tensor()) {
    if (seen++ != target) return false;
    change(node);
    return true;
  }
  if (node.is_map()) {
    for (auto& [key, value] : node.mutable_map()) {
      if (ChangeNth(value, target, seen, change)) return true;
    }
  }
  if (node.is_array()) {
    for (Value& value : node.mutable_array()) {
      if (ChangeNth(value, target, seen, change)) return true;
    }
  }
  return false;
}

// A tensor with the same dtype and new shape, holding fresh zero bytes of
// the size the shape needs.
recorder::Tensor Reshaped(const recorder::Tensor& t,
                          std::vector<uint64_t> shape) {
  recorder::Tensor out = t;
  out.shape = std::move(shape);
  auto bytes = std::make_shared<std::string>(
      out.NumElements() * recorder::DTypeSize(t.dtype), '\0');
  out.bytes = *bytes;
  out.storage = bytes;
  return out;
}

struct Breakage {
  std::string name;
  std::function<void(Value&)> change;
};

std::vector<Breakage> Breakages() {
  return {
      {"missing", [](Value& v) { v = Value::Nil(); }},
      {"not a parameter", [](Value& v) { v = Value::String("weights"); }},
      {"first axis one larger",
       [](Value& v) {
         std::vector<uint64_t> shape = v.tensor().shape;
         if (!shape.empty()) ++shape[0];
         v.set_tensor(Reshaped(v.tensor(), shape));
       }},
      {"one more axis",
       [](Value& v) {
         std::vector<uint64_t> shape = v.tensor().shape;
         shape.push_back(1);
         v.set_tensor(Reshaped(v.tensor(), shape));
       }},
      {"axes swapped",
       [](Value& v) {
         std::vector<uint64_t> shape = v.tensor().shape;
         if (shape.size() >= 2) std::swap(shape[0], shape[1]);
         v.set_tensor(Reshaped(v.tensor(), shape));
       }},
      {"one element of bytes short",
       [](Value& v) {
         recorder::Tensor t = v.tensor();
         const size_t element = recorder::DTypeSize(t.dtype);
         if (t.bytes.size() >= element) {
           t.bytes = t.bytes.substr(0, t.bytes.size() - element);
         }
         v.set_tensor(t);
       }},
  };
}

class CheckModelTest : public ::testing::TestWithParam<FixtureModel> {};

TEST_P(CheckModelTest, AgreesWithBuildModelOnEveryBreakage) {
  const std::string dir = testing::ModelDir(GetParam().model_dir);
  const std::string config_path = dir + "/config.pbtxt";
  absl::StatusOr<config::ModelConfig> config = LoadModelConfigFile(config_path);
  ASSERT_TRUE(config.ok()) << config.status();
  const std::string record_path = testing::ModelRecord(dir);
  absl::StatusOr<recorder::Record> record =
      recorder::DecodeRecordFile(record_path);
  ASSERT_TRUE(record.ok()) << record.status();
  const BuildSource source{config_path, record_path};

  EXPECT_TRUE(CheckModel(*config, *record, source).ok())
      << CheckModel(*config, *record, source);

  const size_t count = record->Tensors().size();
  ASSERT_GT(count, 0u);
  int refused = 0;
  for (size_t i = 0; i < count; ++i) {
    for (const Breakage& breakage : Breakages()) {
      recorder::Record broken = *record;
      int seen = 0;
      ASSERT_TRUE(ChangeNth(broken.mutable_top(), static_cast<int>(i), seen,
                            breakage.change));
      SCOPED_TRACE(absl::StrCat("parameter ", record->Tensors()[i].path, ": ",
                                breakage.name));
      const absl::Status built = BuildModel(*config, broken, source).status();
      EXPECT_EQ(CheckModel(*config, broken, source), built);
      if (!built.ok()) ++refused;
    }
  }
  // Most breakages must be refused, or this test checks little.
  EXPECT_GT(refused, static_cast<int>(count * 4));
}

INSTANTIATE_TEST_SUITE_P(
    Fixtures, CheckModelTest, ::testing::ValuesIn(testing::FixtureModels()),
    [](const ::testing::TestParamInfo<FixtureModel>& info) {
      return info.param.model_dir;
    });

}  // namespace
}  // namespace ember::model
