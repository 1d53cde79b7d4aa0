// Inference latency through the whole daemon: an in-process EmberServer with
// the real fixture models, called over a loopback gRPC channel. After the
// runs, prints the server-side split (queue, input conversion, model,
// output encoding) from ModelStatistics.
//
// Two servers run side by side: one that runs an inference on the gRPC
// thread when nothing waits (the default) and one that sends every request
// through the queue to an inference thread (--inference_on_request_thread
// false). The second argument of each benchmark picks the server (1 = on
// the request thread), so the cost of the hand-off shows as a ratio from
// one run.
//
//   bazel build //tests/server:infer_benchmark
//   bazel-bin/tests/server/infer_benchmark --benchmark_min_time=2

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "grpcpp/grpcpp.h"
#include "model/model_builder.h"
#include "proto/grpc_service.grpc.pb.h"
#include "server/server.h"
#include "server/test_util.h"

namespace ember {
namespace {

std::string runfiles_root;

struct Fixture {
  std::unique_ptr<server::EmberServer> server;
  std::unique_ptr<inference::GRPCInferenceService::Stub> stub;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

Fixture* MakeFixture(bool on_request_thread) {
  auto* f = new Fixture;
  {
    const std::string root = server::testing::NewTempDir(
        on_request_thread ? "bench-inline" : "bench-queued");
    for (const char* model : {"connect4", "lenet"}) {
      const std::string from =
          absl::StrCat(runfiles_root, "/tests/fixtures/models/", model);
      server::testing::WriteFile(
          absl::StrCat(root, "/", model, "/config.pbtxt"),
          ReadFile(from + "/config.pbtxt"));
      server::testing::WriteFile(absl::StrCat(root, "/", model, "/1/model.mpk"),
                                 ReadFile(from + "/1/model.mpk"));
    }
    server::EmberServer::Options options;
    options.model_repository = root;
    options.grpc_address = "127.0.0.1:0";
    options.settle_time = absl::ZeroDuration();
    options.loader = model::LoadModel;
    options.config_parser = model::ParseModelConfig;
    options.inference_on_request_thread = on_request_thread;
    absl::StatusOr<std::unique_ptr<server::EmberServer>> server =
        server::EmberServer::Create(std::move(options));
    if (!server.ok()) {
      std::cerr << server.status() << "\n";
      abort();
    }
    f->server = *std::move(server);
    for (const char* model : {"connect4", "lenet"}) {
      if (!f->server->manager()->AwaitVersionState(
              model, 1, server::VersionState::kReady, absl::Seconds(60))) {
        std::cerr << model << " did not load\n";
        abort();
      }
    }
    f->stub = inference::GRPCInferenceService::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", f->server->port()),
                            grpc::InsecureChannelCredentials()));
  }
  return f;
}

Fixture& GetFixture(bool on_request_thread = true) {
  static Fixture* on_thread = MakeFixture(true);
  static Fixture* queued = MakeFixture(false);
  return on_request_thread ? *on_thread : *queued;
}

inference::ModelInferRequest MakeRequest(const std::string& model,
                                         const std::string& input,
                                         std::vector<int64_t> shape, bool raw) {
  inference::ModelInferRequest request;
  request.set_model_name(model);
  auto* tensor = request.add_inputs();
  tensor->set_name(input);
  tensor->set_datatype("FP32");
  int64_t count = 1;
  for (int64_t d : shape) {
    tensor->add_shape(d);
    count *= d;
  }
  std::vector<float> values(count);
  for (int64_t i = 0; i < count; ++i) values[i] = (i % 7) * 0.25f - 0.5f;
  if (raw) {
    request.add_raw_input_contents()->assign(
        reinterpret_cast<const char*>(values.data()), count * sizeof(float));
  } else {
    for (float v : values) tensor->mutable_contents()->add_fp32_contents(v);
  }
  return request;
}

void RunInfer(benchmark::State& state,
              const inference::ModelInferRequest& request) {
  Fixture& f = GetFixture(state.range(1) != 0);
  for (auto _ : state) {
    grpc::ClientContext context;
    inference::ModelInferResponse response;
    grpc::Status status = f.stub->ModelInfer(&context, request, &response);
    if (!status.ok()) {
      state.SkipWithError(status.error_message().c_str());
      break;
    }
  }
  state.SetItemsProcessed(state.iterations() * request.inputs(0).shape(0));
}

void BM_Connect4(benchmark::State& state) {
  RunInfer(state, MakeRequest("connect4", "board", {state.range(0), 42},
                              /*raw=*/false));
}
BENCHMARK(BM_Connect4)
    ->ArgNames({"batch", "on_request_thread"})
    ->ArgsProduct({{1, 64}, {1, 0}})
    ->UseRealTime();

void BM_LeNetRaw(benchmark::State& state) {
  RunInfer(state, MakeRequest("lenet", "image", {state.range(0), 1, 28, 28},
                              /*raw=*/true));
}
BENCHMARK(BM_LeNetRaw)
    ->ArgNames({"batch", "on_request_thread"})
    ->ArgsProduct({{1, 16}, {1, 0}})
    ->UseRealTime();

// The routing lookup alone: what every request pays before any model work.
void BM_Acquire(benchmark::State& state) {
  Fixture& f = GetFixture();
  for (auto _ : state) {
    auto servable = f.server->manager()->Acquire("connect4", "");
    benchmark::DoNotOptimize(servable);
  }
}
BENCHMARK(BM_Acquire)->ThreadRange(1, 2)->UseRealTime();

void PrintServerSplit(bool on_request_thread) {
  Fixture& f = GetFixture(on_request_thread);
  grpc::ClientContext context;
  inference::ModelStatisticsRequest request;
  inference::ModelStatisticsResponse response;
  if (!f.stub->ModelStatistics(&context, request, &response).ok()) return;
  std::cout << "\nserver-side mean per request (us), "
            << (on_request_thread ? "on the request thread"
                                  : "through the queue")
            << ": model  queue  input  infer  output  total\n";
  for (const auto& s : response.model_stats()) {
    const auto& i = s.inference_stats();
    const double n = std::max<uint64_t>(1, i.success().count());
    std::cout << "  " << s.name() << "  " << i.queue().ns() / n / 1e3 << "  "
              << i.compute_input().ns() / n / 1e3 << "  "
              << i.compute_infer().ns() / n / 1e3 << "  "
              << i.compute_output().ns() / n / 1e3 << "  "
              << i.success().ns() / n / 1e3 << "  (" << i.success().count()
              << " requests)\n";
  }
}

}  // namespace
}  // namespace ember

int main(int argc, char** argv) {
  const char* dir = getenv("RUNFILES_DIR");
  ember::runfiles_root = dir != nullptr
                             ? absl::StrCat(dir, "/ember")
                             : absl::StrCat(argv[0], ".runfiles/ember");
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  ember::PrintServerSplit(true);
  ember::PrintServerSplit(false);
  benchmark::Shutdown();
  return 0;
}
