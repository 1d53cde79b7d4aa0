// RecordFuzzer over every Burn fixture and fixed, seeded mutations of each
// (truncations, byte flips, bytes replaced near the start where the
// structure is): the fuzzer's invariants, checked on every CI run.

#include "tests/fuzz/record_fuzz.h"

#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace ember::fuzz {
namespace {

std::string Runfile(const std::string& relative) {
  return std::string(std::getenv("TEST_SRCDIR")) + "/ember/" + relative;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

const char* const kRecords[] = {
    "connect4-mlp-f32-burn0.16.1.mpk", "lenet-mnist-f16-burn0.18.0.mpk",
    "mlp-mnist-f16-burn0.12.1.mpk",    "cnn-mnist-f16-burn0.11.0.mpk.gz",
    "lstm-f16-burn0.17.0.mpk",
};

RecordFuzzer MakeFuzzer() {
  std::vector<std::string> dirs;
  for (const char* name : {"connect4", "lenet", "mlp", "cnn", "lstm"}) {
    dirs.push_back(Runfile(std::string("tests/fixtures/models/") + name));
  }
  return RecordFuzzer(LoadConfigs(dirs));
}

std::string Mutate(const std::string& in, std::mt19937_64& rng) {
  std::string out = in;
  if (out.empty()) return out;
  auto at = [&](size_t limit) {
    return std::uniform_int_distribution<size_t>(0, limit - 1)(rng);
  };
  switch (at(3)) {
    case 0:  // truncate
      out.resize(at(out.size()));
      break;
    case 1:  // flip a few bits anywhere
      for (int i = 0; i < 4; ++i) out[at(out.size())] ^= 1 << at(8);
      break;
    default:  // new bytes where the headers and keys are
      for (int i = 0; i < 3; ++i) {
        out[at(std::min<size_t>(out.size(), 512))] = static_cast<char>(at(256));
      }
      break;
  }
  return out;
}

TEST(RecordFuzzTest, FixturesAndTheirMutationsKeepEveryInvariant) {
  const RecordFuzzer fuzzer = MakeFuzzer();
  std::mt19937_64 rng(20261203);
  for (const char* name : kRecords) {
    SCOPED_TRACE(name);
    const std::string bytes =
        ReadFile(Runfile(std::string("tests/fixtures/burn/") + name));
    ASSERT_FALSE(bytes.empty());
    fuzzer.Run(bytes);  // aborts on a broken invariant
    for (int i = 0; i < 150; ++i) fuzzer.Run(Mutate(bytes, rng));
  }
}

}  // namespace
}  // namespace ember::fuzz
