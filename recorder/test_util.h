// Helpers shared by the recorder tests: fixture paths, whole-file reads and
// a plain gunzip for comparing `.mpk.gz` payloads.
//
//   std::string bytes = ReadFileOrDie(FixturePath("lenet-mnist-f16-...mpk"));

#ifndef EMBER_RECORDER_TEST_UTIL_H_
#define EMBER_RECORDER_TEST_UTIL_H_

#include <string>
#include <vector>

namespace ember::recorder::testing {

// The five Burn fixtures, by file name.
const std::vector<std::string>& FixtureNames();
// Absolute path of tests/fixtures/burn/<name> in the test's runfiles.
std::string FixturePath(const std::string& name);
// Whole file contents; aborts the test binary when unreadable.
std::string ReadFileOrDie(const std::string& path);
// Inflates a gzip stream; aborts on corrupt input (test data only).
std::string GunzipOrDie(const std::string& gz);
// A fresh directory under TEST_TMPDIR.
std::string TempDir();

}  // namespace ember::recorder::testing

#endif  // EMBER_RECORDER_TEST_UTIL_H_
