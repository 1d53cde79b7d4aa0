#include "tests/model/fixtures.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "common/json.h"
#include "glog/logging.h"

namespace ember::model::testing {
namespace {

std::string Runfile(const std::string& relative) {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  CHECK(srcdir != nullptr) << "TEST_SRCDIR is not set";
  return std::string(srcdir) + "/ember/" + relative;
}

std::vector<int64_t> IntList(const json::Value& v) {
  CHECK(v.is_array());
  std::vector<int64_t> out;
  for (const json::Value& x : v.array()) out.push_back(x.int_value());
  return out;
}

const json::Value& Member(const json::Value& doc, const char* key) {
  const json::Value* v = doc.Find(key);
  CHECK(v != nullptr) << "golden has no '" << key << "'";
  return *v;
}

}  // namespace

std::string BurnFixturePath(const std::string& name) {
  return Runfile("tests/fixtures/burn/" + name);
}

std::string ModelDir(const std::string& name) {
  return Runfile("tests/fixtures/models/" + name);
}

std::string ModelRecord(const std::string& dir) {
  std::string mpk = dir + "/1/model.mpk";
  if (std::ifstream(mpk).good()) return mpk;
  return mpk + ".gz";
}

Golden LoadGoldenOrDie(const std::string& stem) {
  std::ifstream in(BurnFixturePath("golden/" + stem + ".json"));
  CHECK(in) << "cannot open golden " << stem;
  std::stringstream text;
  text << in.rdbuf();
  absl::StatusOr<json::Value> doc = json::Parse(text.str());
  CHECK(doc.ok()) << doc.status();

  Golden golden;
  golden.input_name = Member(*doc, "input_name").string_value();
  std::vector<int64_t> shape = IntList(Member(*doc, "input_shape"));
  std::vector<float> values;
  for (const json::Value& v : Member(*doc, "inputs").array()) {
    values.push_back(static_cast<float>(v.number()));
  }
  golden.input = Tensor::FromVector(shape, std::move(values));
  golden.output_name = Member(*doc, "output_name").string_value();
  golden.output_shape = IntList(Member(*doc, "output_shape"));
  for (const json::Value& v : Member(*doc, "outputs").array()) {
    golden.outputs.push_back(v.number());
  }
  const json::Value& tolerance = Member(*doc, "tolerance");
  golden.atol = Member(tolerance, "atol").number();
  golden.rtol = Member(tolerance, "rtol").number();
  if (const json::Value* argmax = doc->Find("argmax")) {
    golden.argmax = IntList(*argmax);
  }
  return golden;
}

const std::vector<FixtureModel>& FixtureModels() {
  static const auto* models = new std::vector<FixtureModel>{
      {"connect4-mlp-f32-burn0.16.1", "connect4"},
      {"lenet-mnist-f16-burn0.18.0", "lenet"},
      {"mlp-mnist-f16-burn0.12.1", "mlp"},
      {"cnn-mnist-f16-burn0.11.0", "cnn"},
      {"lstm-f16-burn0.17.0", "lstm"},
  };
  return *models;
}

}  // namespace ember::model::testing
