// Test harness for the clients: runs the real `emberd` binary on a loopback
// port over a temporary model repository, and runs command-line programs
// capturing their output and exit code.
//
//   std::string repo = TempDir("repo");
//   ASSERT_TRUE(CopyFixtureModel("connect4", repo).ok());
//   absl::StatusOr<std::unique_ptr<EmberdProcess>> server =
//       EmberdProcess::Start({.repository = repo});
//   ASSERT_TRUE(server.ok()) << server.status();
//   CommandResult r = RunCommand({EmberBinary(), "health", "--server",
//                                 (*server)->address()});
//   EXPECT_EQ(r.exit_code, 0) << r.err;
//
// Not thread-safe; one test thread drives each process.

#ifndef EMBER_TESTS_CLIENT_EMBERD_PROCESS_H_
#define EMBER_TESTS_CLIENT_EMBERD_PROCESS_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace ember::testing {

// A fresh directory under TEST_TMPDIR (unique per call).
std::string TempDir(const std::string& name);

// Path of a runfile of this workspace, e.g. "server/emberd".
std::string Runfile(const std::string& path);

// The emberd and ember binaries from the test's data.
std::string EmberdBinary();
std::string EmberBinary();

// Copies tests/fixtures/models/<name> (config.pbtxt and the record of
// version 1, following the fixture's symlink) to <repository>/<name>.
absl::Status CopyFixtureModel(const std::string& name,
                              const std::string& repository);

// Whole file contents; NOT_FOUND when unreadable.
absl::StatusOr<std::string> ReadWholeFile(const std::string& path);
absl::Status WriteWholeFile(const std::string& path,
                            const std::string& contents);

// A running emberd. Stops it (SIGTERM, then SIGKILL) when destroyed.
class EmberdProcess {
 public:
  struct Options {
    // Required: the model repository directory.
    std::string repository;
    // Extra command-line flags, e.g. "--token_file=/tmp/t".
    std::vector<std::string> flags;
  };

  // Starts emberd on 127.0.0.1 with a free port and waits until it writes
  // its port file (at most 60 s). The error includes emberd's log.
  static absl::StatusOr<std::unique_ptr<EmberdProcess>> Start(Options options);

  ~EmberdProcess();

  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  // "127.0.0.1:<port>".
  std::string address() const;
  // emberd's stderr so far.
  std::string Log() const;

  // Polls ModelReady until `model` has a ready version (at most 60 s),
  // sending `token` when not empty.
  absl::Status WaitForModel(const std::string& model,
                            const std::string& token = "") const;

  // Stops the server now (SIGTERM and wait).
  void Stop();

 private:
  EmberdProcess() = default;

  pid_t pid_ = -1;
  int port_ = 0;
  std::string log_path_;
};

struct CommandResult {
  int exit_code = -1;  // -1 when killed by a signal
  std::string out;
  std::string err;
};

struct RunOptions {
  // Written to the program's stdin, which is then closed.
  std::string stdin_data;
  // Extra environment entries "NAME=value"; the environment is otherwise
  // the test's, without EMBER_* variables.
  std::vector<std::string> env;
};

// Runs `argv` (argv[0] a path) with stdout/stderr captured (not terminals).
CommandResult RunCommand(const std::vector<std::string>& argv,
                         const RunOptions& options = {});

}  // namespace ember::testing

#endif  // EMBER_TESTS_CLIENT_EMBERD_PROCESS_H_
