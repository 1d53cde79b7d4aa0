#include "server/test_util.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "google/protobuf/text_format.h"

namespace ember::server::testing {
namespace {

absl::Mutex live_mu;
int live_models ABSL_GUARDED_BY(live_mu) = 0;

absl::Mutex gate_mu;
bool gate_closed ABSL_GUARDED_BY(gate_mu) = false;
int gate_waiting ABSL_GUARDED_BY(gate_mu) = 0;

}  // namespace

OffsetModel::OffsetModel(float offset) : offset_(offset) {
  inputs_.push_back({"x", model::DataType::kFloat32, {-1, 2}});
  outputs_.push_back({"y", model::DataType::kFloat32, {-1, 2}});
  absl::MutexLock lock(&live_mu);
  ++live_models;
}

OffsetModel::~OffsetModel() {
  absl::MutexLock lock(&live_mu);
  --live_models;
}

int OffsetModel::LiveCount() {
  absl::MutexLock lock(&live_mu);
  return live_models;
}

bool OffsetModel::AwaitLiveCount(int n, absl::Duration timeout) {
  absl::MutexLock lock(&live_mu);
  return live_mu.AwaitWithTimeout(
      absl::Condition(
          +[](int* want) { return live_models == *want; }, &n),
      timeout);
}

const std::vector<model::TensorSpec>& OffsetModel::inputs() const {
  return inputs_;
}

const std::vector<model::TensorSpec>& OffsetModel::outputs() const {
  return outputs_;
}

absl::StatusOr<std::vector<model::Tensor>> OffsetModel::Forward(
    absl::Span<const model::Tensor> inputs) const {
  {
    absl::MutexLock lock(&gate_mu);
    ++gate_waiting;
    gate_mu.Await(absl::Condition(
        +[](bool* closed) { return !*closed; }, &gate_closed));
    --gate_waiting;
  }
  if (inputs.size() != 1) {
    return absl::InvalidArgumentError("OffsetModel takes one input");
  }
  model::Tensor out =
      model::Tensor::Zeros(model::DataType::kFloat32, inputs[0].shape());
  const float* in = inputs[0].data<float>();
  float* o = out.mutable_data<float>();
  for (int64_t i = 0; i < out.num_elements(); ++i) o[i] = in[i] + offset_;
  return std::vector<model::Tensor>{out};
}

void ForwardGate::Close() {
  absl::MutexLock lock(&gate_mu);
  gate_closed = true;
}

void ForwardGate::Open() {
  absl::MutexLock lock(&gate_mu);
  gate_closed = false;
}

int ForwardGate::Waiting() {
  absl::MutexLock lock(&gate_mu);
  return gate_waiting;
}

bool ForwardGate::AwaitWaiting(int n, absl::Duration timeout) {
  absl::MutexLock lock(&gate_mu);
  return gate_mu.AwaitWithTimeout(
      absl::Condition(
          +[](int* want) { return gate_waiting >= *want; }, &n),
      timeout);
}

void TestLoader::Hold() {
  absl::MutexLock lock(&mu_);
  held_ = true;
}

void TestLoader::Release() {
  absl::MutexLock lock(&mu_);
  held_ = false;
}

bool TestLoader::AwaitStarted(int n, absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  struct Arg {
    const int* started;
    int n;
  } arg{&started_, n};
  return mu_.AwaitWithTimeout(
      absl::Condition(
          +[](Arg* a) { return *a->started >= a->n; }, &arg),
      timeout);
}

int TestLoader::started() const {
  absl::MutexLock lock(&mu_);
  return started_;
}

ModelLoader TestLoader::AsLoader() {
  return [this](const config::ModelConfig&, const std::string&,
                const std::string& record_path) { return Load(record_path); };
}

absl::StatusOr<std::shared_ptr<const model::Model>> TestLoader::Load(
    const std::string& record_path) {
  {
    absl::MutexLock lock(&mu_);
    ++started_;
    mu_.Await(absl::Condition(
        +[](bool* held) { return !*held; }, &held_));
  }
  std::ifstream in(record_path);
  std::stringstream content;
  content << in.rdbuf();
  const std::string raw = content.str();
  absl::string_view text = absl::StripAsciiWhitespace(raw);
  float offset = 0;
  if (!absl::ConsumePrefix(&text, "offset=") ||
      !absl::SimpleAtof(text, &offset)) {
    return absl::InvalidArgumentError(absl::StrCat(
        record_path, ": not a test record: \"", content.str(), "\""));
  }
  return std::shared_ptr<const model::Model>(new OffsetModel(offset));
}

absl::StatusOr<config::ModelConfig> ParseTestConfig(absl::string_view text,
                                                    absl::string_view path) {
  config::ModelConfig config;
  if (!google::protobuf::TextFormat::ParseFromString(std::string(text),
                                                     &config)) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": not a valid ModelConfig"));
  }
  return config;
}

void MakeDirs(const std::string& path) {
  for (size_t pos = 1; pos != std::string::npos;) {
    pos = path.find('/', pos + 1);
    mkdir(path.substr(0, pos).c_str(), 0755);
  }
}

void WriteFile(const std::string& path, absl::string_view content) {
  MakeDirs(path.substr(0, path.rfind('/')));
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) abort();
  if (write(fd, content.data(), content.size()) !=
      static_cast<ssize_t>(content.size())) {
    abort();
  }
  close(fd);
}

void WriteFileAtomically(const std::string& path, absl::string_view content) {
  const size_t slash = path.rfind('/');
  const std::string tmp =
      path.substr(0, slash + 1) + "." + path.substr(slash + 1) + ".tmp";
  WriteFile(tmp, content);
  if (rename(tmp.c_str(), path.c_str()) != 0) abort();
}

void RemoveTree(const std::string& path) {
  const std::string command = absl::StrCat("rm -rf '", path, "'");
  if (system(command.c_str()) != 0) abort();
}

std::string NewTempDir(absl::string_view name) {
  static std::atomic<int> counter{0};
  const char* base = getenv("TEST_TMPDIR");
  const std::string dir = absl::StrCat(base != nullptr ? base : "/tmp", "/",
                                       name, "-", getpid(), "-", ++counter);
  RemoveTree(dir);
  MakeDirs(dir);
  return dir;
}

}  // namespace ember::server::testing
