// libFuzzer entry point for RecordFuzzer; built and run by scripts/fuzz.sh
// (clang, -fsanitize=fuzzer,address,undefined), never by `bazel test`.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "tests/fuzz/record_fuzz.h"

namespace {

std::unique_ptr<ember::fuzz::RecordFuzzer> fuzzer;

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  // The fixture models' configs, from the binary's runfiles.
  const std::string root =
      std::string((*argv)[0]) + ".runfiles/ember/tests/fixtures/models/";
  std::vector<std::string> dirs;
  for (const char* name : {"connect4", "lenet", "mlp", "cnn", "lstm"}) {
    dirs.push_back(root + name);
  }
  fuzzer = std::make_unique<ember::fuzz::RecordFuzzer>(
      ember::fuzz::LoadConfigs(dirs));
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzzer->Run(std::string(reinterpret_cast<const char*>(data), size));
  return 0;
}
