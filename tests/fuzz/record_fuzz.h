// What Ember does with an uploaded record, as one function over untrusted
// bytes, with the invariants that must hold for any input: decoding never
// crashes; a record that decodes re-encodes to a fixed point; conversion
// output encodes; and the shape-only check of an upload (CheckModel) gives
// exactly the verdict of a real build (BuildModel) against each model
// config. A broken invariant aborts, which a fuzzer reports as a finding.
//
// Run by libFuzzer in `scripts/fuzz.sh` (record_fuzzer.cc), and over the
// Burn fixtures and fixed mutations of them in CI (record_fuzz_test.cc).
//
//   RecordFuzzer fuzzer(LoadConfigs(model_dirs));
//   fuzzer.Run(bytes);

#ifndef EMBER_TESTS_FUZZ_RECORD_FUZZ_H_
#define EMBER_TESTS_FUZZ_RECORD_FUZZ_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "proto/model_config.pb.h"

namespace ember::fuzz {

struct NamedConfig {
  std::string path;  // for messages
  config::ModelConfig config;
};

// Parses `<dir>/config.pbtxt` of each directory; aborts when one does not
// parse (a broken harness, not a finding).
std::vector<NamedConfig> LoadConfigs(const std::vector<std::string>& dirs);

class RecordFuzzer {
 public:
  explicit RecordFuzzer(std::vector<NamedConfig> configs)
      : configs_(std::move(configs)) {}

  // Returns for every input; aborts when an invariant breaks.
  void Run(absl::string_view bytes) const;

 private:
  std::vector<NamedConfig> configs_;
};

}  // namespace ember::fuzz

#endif  // EMBER_TESTS_FUZZ_RECORD_FUZZ_H_
