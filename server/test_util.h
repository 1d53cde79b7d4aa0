// Test support for the daemon: a small real model whose output identifies
// the record it was built from, a loader that tests can hold and release,
// and repository writers.
//
// A fake record is a text file "offset=<float>"; the model built from it
// maps input "x" [-1, 2] (FP32) to output "y" = x + offset. A record holding
// "bad" fails to load.
//
//   TestLoader loader;
//   loader.Hold();                    // loads block until Release()
//   WriteFileAtomically(dir + "/1/model.mpk", "offset=1");
//   loader.AwaitStarted(1);
//   loader.Release();

#ifndef EMBER_SERVER_TEST_UTIL_H_
#define EMBER_SERVER_TEST_UTIL_H_

#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "model/model.h"
#include "proto/model_config.pb.h"
#include "server/model_manager.h"

namespace ember::server::testing {

// Adds `offset` to its input. Forward can be made to wait on a gate so
// tests can keep requests in flight. Thread-safe.
class OffsetModel : public model::Model {
 public:
  explicit OffsetModel(float offset);
  ~OffsetModel() override;

  const std::vector<model::TensorSpec>& inputs() const override;
  const std::vector<model::TensorSpec>& outputs() const override;
  absl::StatusOr<std::vector<model::Tensor>> Forward(
      absl::Span<const model::Tensor> inputs) const override;
  int64_t parameter_bytes() const override { return 4; }

  float offset() const { return offset_; }

  // Number of OffsetModel instances alive (all threads).
  static int LiveCount();
  // Waits until exactly `n` instances are alive.
  static bool AwaitLiveCount(int n, absl::Duration timeout);

 private:
  float offset_;
  std::vector<model::TensorSpec> inputs_;
  std::vector<model::TensorSpec> outputs_;
};

// Blocks Forward of every OffsetModel while closed. Thread-safe.
class ForwardGate {
 public:
  static void Close();
  static void Open();
  // Number of Forward calls waiting at the gate.
  static int Waiting();
  static bool AwaitWaiting(int n, absl::Duration timeout);
};

// A ModelLoader that parses fake records. Thread-safe.
class TestLoader {
 public:
  // Loads wait until Release() while held.
  void Hold();
  void Release();
  // Waits until `n` loads have started in total.
  bool AwaitStarted(int n, absl::Duration timeout = absl::Seconds(30));
  int started() const;

  ModelLoader AsLoader();

 private:
  absl::StatusOr<std::shared_ptr<const model::Model>> Load(
      const std::string& record_path);

  mutable absl::Mutex mu_;
  bool held_ ABSL_GUARDED_BY(mu_) = false;
  int started_ ABSL_GUARDED_BY(mu_) = 0;
};

// Parses config text with protobuf's text format (what the daemon's config
// parser does, minus the model library's architecture checks).
absl::StatusOr<config::ModelConfig> ParseTestConfig(absl::string_view text,
                                                    absl::string_view path);

// Creates parent directories as needed and writes `content` in place.
void WriteFile(const std::string& path, absl::string_view content);
// Writes to a dot-file next to `path`, then renames it into place.
void WriteFileAtomically(const std::string& path, absl::string_view content);
void MakeDirs(const std::string& path);
void RemoveTree(const std::string& path);
// A fresh directory under TEST_TMPDIR.
std::string NewTempDir(absl::string_view name);

}  // namespace ember::server::testing

#endif  // EMBER_SERVER_TEST_UTIL_H_
