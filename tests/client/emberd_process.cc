#include "tests/client/emberd_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/ember_client.h"

extern char** environ;

namespace ember::testing {
namespace {

constexpr absl::Duration kStartTimeout = absl::Seconds(60);
constexpr absl::Duration kPollPeriod = absl::Milliseconds(20);

absl::Status MakeDirs(const std::string& path) {
  std::string partial;
  for (size_t i = 0; i <= path.size(); ++i) {
    if (i == path.size() || (path[i] == '/' && i > 0)) {
      partial = path.substr(0, i);
      if (mkdir(partial.c_str(), 0755) != 0 && errno != EEXIST) {
        return absl::InternalError(
            absl::StrCat("mkdir ", partial, ": ", strerror(errno)));
      }
    }
  }
  return absl::OkStatus();
}

// Child side of a fork: never returns.
[[noreturn]] void Exec(const std::vector<std::string>& argv,
                       const std::vector<std::string>& env) {
  std::vector<std::string> environment;
  for (char** e = environ; *e != nullptr; ++e) {
    if (!absl::StartsWith(*e, "EMBER_")) environment.push_back(*e);
  }
  environment.insert(environment.end(), env.begin(), env.end());
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.data()));
  args.push_back(nullptr);
  std::vector<char*> envp;
  for (std::string& e : environment) envp.push_back(e.data());
  envp.push_back(nullptr);
  execve(args[0], args.data(), envp.data());
  _exit(127);
}

}  // namespace

std::string TempDir(const std::string& name) {
  static std::atomic<int> counter{0};
  const char* root = getenv("TEST_TMPDIR");
  const std::string dir = absl::StrCat(root != nullptr ? root : "/tmp", "/",
                                       name, "-", counter.fetch_add(1));
  MakeDirs(dir).IgnoreError();
  return dir;
}

std::string Runfile(const std::string& path) {
  const char* srcdir = getenv("TEST_SRCDIR");
  if (srcdir == nullptr) return path;
  return absl::StrCat(srcdir, "/ember/", path);
}

std::string EmberdBinary() { return Runfile("server/emberd"); }
std::string EmberBinary() { return Runfile("client/ember"); }

absl::StatusOr<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

absl::Status WriteWholeFile(const std::string& path,
                            const std::string& contents) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << contents;
  out.close();
  if (!out) return absl::InternalError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

absl::Status CopyFixtureModel(const std::string& name,
                              const std::string& repository) {
  const std::string from = Runfile("tests/fixtures/models/" + name);
  const std::string to = repository + "/" + name;
  if (absl::Status s = MakeDirs(to + "/1"); !s.ok()) return s;
  absl::StatusOr<std::string> config = ReadWholeFile(from + "/config.pbtxt");
  if (!config.ok()) return config.status();
  if (absl::Status s = WriteWholeFile(to + "/config.pbtxt", *config); !s.ok()) {
    return s;
  }
  for (const char* file : {"model.mpk", "model.mpk.gz"}) {
    absl::StatusOr<std::string> record =
        ReadWholeFile(absl::StrCat(from, "/1/", file));
    if (!record.ok()) continue;
    return WriteWholeFile(absl::StrCat(to, "/1/", file), *record);
  }
  return absl::NotFoundError(absl::StrCat("no record under ", from, "/1"));
}

absl::StatusOr<std::unique_ptr<EmberdProcess>> EmberdProcess::Start(
    Options options) {
  const std::string dir = TempDir("emberd");
  const std::string port_file = dir + "/port";
  std::unique_ptr<EmberdProcess> process(new EmberdProcess());
  process->log_path_ = dir + "/emberd.log";

  std::vector<std::string> argv = {EmberdBinary(),
                                   "--model_repository=" + options.repository,
                                   "--grpc_address=127.0.0.1:0",
                                   "--port_file=" + port_file,
                                   "--poll_interval=200ms",
                                   "--settle_time=100ms"};
  argv.insert(argv.end(), options.flags.begin(), options.flags.end());

  const pid_t pid = fork();
  if (pid < 0) return absl::InternalError("fork failed");
  if (pid == 0) {
    // emberd must not outlive a test that crashes or is killed.
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    const int log =
        open(process->log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int null = open("/dev/null", O_RDONLY);
    dup2(null, 0);
    dup2(log, 1);
    dup2(log, 2);
    Exec(argv, {});
  }
  process->pid_ = pid;

  const absl::Time give_up = absl::Now() + kStartTimeout;
  while (absl::Now() < give_up) {
    absl::StatusOr<std::string> text = ReadWholeFile(port_file);
    if (text.ok() &&
        absl::SimpleAtoi(absl::StripAsciiWhitespace(*text), &process->port_)) {
      return process;
    }
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      process->pid_ = -1;
      return absl::InternalError(
          absl::StrCat("emberd exited before serving:\n", process->Log()));
    }
    absl::SleepFor(kPollPeriod);
  }
  return absl::DeadlineExceededError(
      absl::StrCat("emberd wrote no port file:\n", process->Log()));
}

EmberdProcess::~EmberdProcess() { Stop(); }

std::string EmberdProcess::address() const {
  return absl::StrCat("127.0.0.1:", port_);
}

std::string EmberdProcess::Log() const {
  return ReadWholeFile(log_path_).value_or("");
}

absl::Status EmberdProcess::WaitForModel(const std::string& model,
                                         const std::string& token) const {
  client::ClientOptions options;
  options.token = token;
  options.server = address();
  options.timeout = absl::Seconds(5);
  absl::StatusOr<std::unique_ptr<client::EmberClient>> client =
      client::EmberClient::Create(options);
  if (!client.ok()) return client.status();
  const absl::Time give_up = absl::Now() + kStartTimeout;
  while (absl::Now() < give_up) {
    absl::StatusOr<bool> ready = (*client)->ModelReady(model);
    if (ready.ok() && *ready) return absl::OkStatus();
    absl::SleepFor(kPollPeriod);
  }
  return absl::DeadlineExceededError(
      absl::StrCat("model ", model, " never became ready:\n", Log()));
}

void EmberdProcess::Stop() {
  if (pid_ < 0) return;
  kill(pid_, SIGTERM);
  const absl::Time give_up = absl::Now() + absl::Seconds(20);
  int status = 0;
  while (waitpid(pid_, &status, WNOHANG) == 0) {
    if (absl::Now() > give_up) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
      break;
    }
    absl::SleepFor(kPollPeriod);
  }
  pid_ = -1;
}

CommandResult RunCommand(const std::vector<std::string>& argv,
                         const RunOptions& options) {
  CommandResult result;
  int in[2], out[2], err[2];
  if (pipe(in) != 0 || pipe(out) != 0 || pipe(err) != 0) return result;
  const pid_t pid = fork();
  if (pid < 0) return result;
  if (pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    dup2(err[1], 2);
    for (int fd : {in[0], in[1], out[0], out[1], err[0], err[1]}) close(fd);
    Exec(argv, options.env);
  }
  close(in[0]);
  close(out[1]);
  close(err[1]);
  signal(SIGPIPE, SIG_IGN);

  // Feed stdin and drain both outputs together so no pipe fills up.
  size_t written = 0;
  int stdin_fd = in[1];
  if (options.stdin_data.empty()) {
    close(stdin_fd);
    stdin_fd = -1;
  }
  bool out_open = true, err_open = true;
  char buffer[65536];
  while (out_open || err_open) {
    pollfd fds[3] = {{out_open ? out[0] : -1, POLLIN, 0},
                     {err_open ? err[0] : -1, POLLIN, 0},
                     {stdin_fd, POLLOUT, 0}};
    if (poll(fds, 3, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[2].revents != 0 && stdin_fd >= 0) {
      const ssize_t n = write(stdin_fd, options.stdin_data.data() + written,
                              options.stdin_data.size() - written);
      if (n > 0) written += n;
      if (n < 0 || written == options.stdin_data.size()) {
        close(stdin_fd);
        stdin_fd = -1;
      }
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].revents == 0) continue;
      const ssize_t n = read(fds[i].fd, buffer, sizeof(buffer));
      if (n <= 0) {
        (i == 0 ? out_open : err_open) = false;
      } else {
        (i == 0 ? result.out : result.err).append(buffer, n);
      }
    }
  }
  if (stdin_fd >= 0) close(stdin_fd);
  close(out[0]);
  close(err[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

}  // namespace ember::testing
