// Access to the Burn fixtures and their model directories from tests:
// paths in the runfiles, and the golden files as tensors.
//
//   Golden golden = LoadGoldenOrDie("lenet-mnist-f16-burn0.18.0");
//   std::string dir = ModelDir("lenet");  // config.pbtxt, 1/model.mpk

#ifndef EMBER_TESTS_MODEL_FIXTURES_H_
#define EMBER_TESTS_MODEL_FIXTURES_H_

#include <ostream>
#include <string>
#include <vector>

#include "model/tensor.h"

namespace ember::model::testing {

// tests/fixtures/burn/<name> in the runfiles.
std::string BurnFixturePath(const std::string& name);
// tests/fixtures/models/<name> in the runfiles.
std::string ModelDir(const std::string& name);
// The record of version 1 in a model directory: 1/model.mpk or
// 1/model.mpk.gz.
std::string ModelRecord(const std::string& dir);

// One golden file: the input tensor, the expected primary output and the
// tolerance rule |out - golden| <= atol + rtol * |golden|.
struct Golden {
  std::string input_name;
  Tensor input;
  std::string output_name;
  std::vector<int64_t> output_shape;
  std::vector<double> outputs;
  double atol = 0;
  double rtol = 0;
  std::vector<int64_t> argmax;  // empty when the golden has none
};

// Parses tests/fixtures/burn/golden/<stem>.json; aborts when it does not
// read as a golden file.
Golden LoadGoldenOrDie(const std::string& stem);

// The directory stem of each fixture's golden ("connect4-mlp-f32-...") and
// its model directory name ("connect4").
struct FixtureModel {
  std::string golden;
  std::string model_dir;
};
const std::vector<FixtureModel>& FixtureModels();
// Names the fixture in test output.
inline void PrintTo(const FixtureModel& model, std::ostream* os) {
  *os << model.model_dir;
}

}  // namespace ember::model::testing

#endif  // EMBER_TESTS_MODEL_FIXTURES_H_
