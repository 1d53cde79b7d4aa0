// Client-side cost of the common calls against a real emberd on loopback:
// inference on connect4 (batch 1 and 64, raw and typed inputs; unary, and
// streamed with a window of requests in flight) and record transfers of
// the lenet fixture (910 KB). Prints Google Benchmark figures;
// there is no pass/fail.
//
//   bazel build //client:ember_client_benchmark
//   TEST_SRCDIR=$PWD/bazel-bin/client/ember_client_benchmark.runfiles \
//   TEST_TMPDIR=$(mktemp -d) bazel-bin/client/ember_client_benchmark
//
// (TEST_SRCDIR lets the harness find emberd and the fixtures in the
// runfiles; TEST_TMPDIR is where the temporary repository goes.)

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "client/ember_client.h"
#include "tests/client/emberd_process.h"

namespace ember::client {
namespace {

using ::ember::testing::EmberdProcess;

// One emberd serving connect4 and lenet for every benchmark; main stops it.
std::unique_ptr<EmberdProcess>& ServerHolder() {
  static std::unique_ptr<EmberdProcess> server;
  return server;
}

EmberdProcess* Server() {
  std::unique_ptr<EmberdProcess>& server = ServerHolder();
  if (server == nullptr) {
    const std::string repo = testing::TempDir("bench-repo");
    for (const char* model : {"connect4", "lenet"}) {
      if (!testing::CopyFixtureModel(model, repo).ok()) abort();
    }
    auto started = EmberdProcess::Start({repo, {}});
    if (!started.ok() || !(*started)->WaitForModel("connect4").ok() ||
        !(*started)->WaitForModel("lenet").ok()) {
      abort();
    }
    server = std::move(started).value();
  }
  return server.get();
}

std::unique_ptr<EmberClient> Connect() {
  ClientOptions options;
  options.server = Server()->address();
  return EmberClient::Create(options).value();
}

void BM_InferConnect4(benchmark::State& state) {
  const int64_t batch = state.range(0);
  const bool typed = state.range(1) != 0;
  std::unique_ptr<EmberClient> client = Connect();
  const Tensor board = Tensor::FromFloats("board", {batch, 42},
                                          std::vector<float>(batch * 42, 0.5f));
  InferOptions options;
  options.input_encoding = typed ? InputEncoding::kTyped : InputEncoding::kRaw;
  for (auto _ : state) {
    absl::StatusOr<InferResult> result =
        client->Infer("connect4", {board}, options);
    if (!result.ok()) state.SkipWithError("inference failed");
    benchmark::DoNotOptimize(result);
  }
  state.SetItemsProcessed(state.iterations() * batch);
  state.SetLabel(typed ? "typed" : "raw");
}
BENCHMARK(BM_InferConnect4)
    ->Args({1, 0})
    ->Args({1, 1})
    ->Args({64, 0})
    ->Args({64, 1})
    ->UseRealTime();

// Batch-1 requests over one ModelStreamInfer stream, keeping `window`
// requests sent ahead of the answers read: time per request.
void BM_StreamInferConnect4(benchmark::State& state) {
  const int64_t window = state.range(0);
  std::unique_ptr<EmberClient> client = Connect();
  std::unique_ptr<InferStream> stream = client->OpenInferStream();
  const Tensor board =
      Tensor::FromFloats("board", {1, 42}, std::vector<float>(42, 0.5f));
  for (int64_t i = 0; i < window; ++i) {
    if (!stream->Send("connect4", {board}).ok()) abort();
  }
  for (auto _ : state) {
    absl::StatusOr<InferResult> result = stream->Read();
    if (!result.ok()) state.SkipWithError("inference failed");
    if (!stream->Send("connect4", {board}).ok()) {
      state.SkipWithError("send failed");
    }
    benchmark::DoNotOptimize(result);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_StreamInferConnect4)->Arg(1)->Arg(8)->UseRealTime();

void BM_DownloadLenet(benchmark::State& state) {
  std::unique_ptr<EmberClient> client = Connect();
  DownloadOptions options;
  options.model = "lenet";
  uint64_t bytes = 0;
  for (auto _ : state) {
    std::string record;
    absl::StatusOr<RecordInfo> info =
        client->DownloadToString(options, &record);
    if (!info.ok()) state.SkipWithError("download failed");
    bytes += record.size();
  }
  state.SetBytesProcessed(bytes);
}
BENCHMARK(BM_DownloadLenet)->UseRealTime();

void BM_HealthRoundTrip(benchmark::State& state) {
  std::unique_ptr<EmberClient> client = Connect();
  for (auto _ : state) {
    absl::StatusOr<bool> live = client->ServerLive();
    if (!live.ok()) state.SkipWithError("ServerLive failed");
  }
}
BENCHMARK(BM_HealthRoundTrip)->UseRealTime();

}  // namespace
}  // namespace ember::client

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  ember::client::ServerHolder().reset();  // stops emberd
  return 0;
}
