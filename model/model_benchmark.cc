// Forward latency of two fixture models beside the bare Eigen matrix
// products they contain (the floor: the same GEMM shapes, including the
// im2col products of the convolutions, on preallocated buffers).
//
//   bazel build -c opt //model:model_benchmark
//   bazel-bin/model/model_benchmark
//
// After the usual table it prints, for each model and batch size, forward
// time / floor time; the target is at most 1.5 at batch 64. Last, for each
// fixture model, the first Forward after a fresh load beside a steady one
// (the fifth), at batch 1, loaded as `ember predict` does (LoadModel) and as
// the daemon does (LoadWarmModel): the median over 20 loads each.

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "Eigen/Core"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "benchmark/benchmark.h"
#include "glog/logging.h"
#include "model/model.h"
#include "model/model_builder.h"
#include "model/tensor.h"

namespace ember::model {
namespace {

using RowMatrix =
    Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

std::string g_models_dir;  // tests/fixtures/models

std::shared_ptr<const Model> LoadOrDie(const std::string& name,
                                       bool warm = false) {
  const std::string dir = g_models_dir + "/" + name;
  auto config = LoadModelConfigFile(dir + "/config.pbtxt");
  CHECK(config.ok()) << config.status();
  std::string record = dir + "/1/model.mpk";
  if (access(record.c_str(), R_OK) != 0) record += ".gz";
  auto model = warm ? LoadWarmModel(*config, dir + "/config.pbtxt", record)
                    : LoadModel(*config, dir + "/config.pbtxt", record);
  CHECK(model.ok()) << model.status();
  return *model;
}

Tensor Input(const Model& model, int64_t batch) {
  std::vector<int64_t> shape = model.inputs()[0].shape;
  shape[0] = batch;
  for (int64_t& d : shape) d = d < 0 ? 1 : d;  // e.g. a sequence length
  Tensor x = Tensor::Zeros(DataType::kFloat32, shape);
  float* p = x.mutable_data<float>();
  for (int64_t i = 0; i < x.num_elements(); ++i) p[i] = (i % 17) * 0.1f - 0.8f;
  return x;
}

void RunForward(benchmark::State& state, const char* name) {
  static std::map<std::string, std::shared_ptr<const Model>>* models =
      new std::map<std::string, std::shared_ptr<const Model>>();
  std::shared_ptr<const Model>& model = (*models)[name];
  if (model == nullptr) model = LoadOrDie(name);
  std::vector<Tensor> inputs = {Input(*model, state.range(0))};
  for (auto _ : state) {
    auto out = model->Forward(inputs);
    CHECK(out.ok()) << out.status();
    benchmark::DoNotOptimize(out->front().data<float>());
  }
}

// One product out[m, n] = a[m, k] · b[k, n] on preallocated matrices.
struct Gemm {
  Gemm(int64_t m, int64_t k, int64_t n)
      : a(RowMatrix::Random(m, k)), b(RowMatrix::Random(k, n)), out(m, n) {}
  void Run() { out.noalias() = a * b; }
  RowMatrix a, b, out;
};

void RunGemms(benchmark::State& state, std::vector<Gemm>& gemms,
              const std::vector<int>& repeats) {
  for (auto _ : state) {
    for (size_t i = 0; i < gemms.size(); ++i) {
      for (int r = 0; r < repeats[i]; ++r) gemms[i].Run();
      benchmark::DoNotOptimize(gemms[i].out.data());
    }
  }
}

void BM_Connect4Forward(benchmark::State& state) {
  RunForward(state, "connect4");
}

// connect4: [B,42]·[42,64], [B,64]·[64,30], [B,30]·[30,7].
void BM_Connect4Floor(benchmark::State& state) {
  const int64_t b = state.range(0);
  std::vector<Gemm> gemms = {{b, 42, 64}, {b, 64, 30}, {b, 30, 7}};
  RunGemms(state, gemms, {1, 1, 1});
}

void BM_LenetForward(benchmark::State& state) { RunForward(state, "lenet"); }

// lenet: per sample, conv1 [32,25]·[25,784] and conv2 [64,800]·[800,196]
// (im2col products); then fc1 [B,3136]·[3136,128] and fc2 [B,128]·[128,10].
void BM_LenetFloor(benchmark::State& state) {
  const int b = state.range(0);
  std::vector<Gemm> gemms = {
      {32, 25, 784}, {64, 800, 196}, {b, 3136, 128}, {b, 128, 10}};
  RunGemms(state, gemms, {b, b, 1, 1});
}

// Five repetitions each; the ratio uses the fastest, which is the least
// disturbed by other work on the machine.
BENCHMARK(BM_Connect4Forward)->Arg(1)->Arg(64)->Repetitions(5);
BENCHMARK(BM_Connect4Floor)->Arg(1)->Arg(64)->Repetitions(5);
BENCHMARK(BM_LenetForward)
    ->Arg(1)
    ->Arg(64)
    ->Repetitions(5)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_LenetFloor)
    ->Arg(1)
    ->Arg(64)
    ->Repetitions(5)
    ->Unit(benchmark::kMicrosecond);

// The ratio printed at the end comes from an interleaved measurement: on a
// shared machine the load changes between two benchmarks, so forward and
// floor are timed in alternating blocks and each keeps its fastest block.
struct Interleaved {
  double forward_seconds;
  double floor_seconds;
};

template <typename F, typename G>
Interleaved MeasureInterleaved(F forward, G floor, int per_block, int rounds) {
  using Clock = std::chrono::steady_clock;
  auto block = [per_block](auto& fn) {
    const auto start = Clock::now();
    for (int i = 0; i < per_block; ++i) fn();
    return std::chrono::duration<double>(Clock::now() - start).count() /
           per_block;
  };
  Interleaved best{1e30, 1e30};
  for (int round = 0; round < rounds; ++round) {
    best.forward_seconds = std::min(best.forward_seconds, block(forward));
    best.floor_seconds = std::min(best.floor_seconds, block(floor));
  }
  return best;
}

void PrintInterleavedRatios() {
  std::cout << "\nforward / floor, interleaved blocks, fastest block each "
               "(the figure to compare with the 1.5x target):\n";
  for (const char* name : {"connect4", "lenet"}) {
    std::shared_ptr<const Model> model = LoadOrDie(name);
    for (int batch : {1, 64}) {
      std::vector<Tensor> inputs = {Input(*model, batch)};
      std::vector<Gemm> gemms;
      std::vector<int> repeats;
      if (std::string(name) == "connect4") {
        gemms = {{batch, 42, 64}, {batch, 64, 30}, {batch, 30, 7}};
        repeats = {1, 1, 1};
      } else {
        gemms = {{32, 25, 784},
                 {64, 800, 196},
                 {batch, 3136, 128},
                 {batch, 128, 10}};
        repeats = {batch, batch, 1, 1};
      }
      auto forward = [&] {
        auto out = model->Forward(inputs);
        CHECK(out.ok()) << out.status();
        benchmark::DoNotOptimize(out->front().data<float>());
      };
      auto floor = [&] {
        for (size_t i = 0; i < gemms.size(); ++i) {
          for (int r = 0; r < repeats[i]; ++r) gemms[i].Run();
          benchmark::DoNotOptimize(gemms[i].out.data());
        }
      };
      // Short blocks (about 2 ms where one forward allows it) and many
      // rounds, so that the fastest block is one nothing preempted.
      const bool mlp = std::string(name) == "connect4";
      const int per_block = mlp ? (batch == 1 ? 2000 : 50) : 1;
      const int rounds = mlp ? 200 : (batch == 1 ? 200 : 30);
      Interleaved t = MeasureInterleaved(forward, floor, per_block, rounds);
      std::cout << absl::StrFormat(
          "  %-8s batch %2d: forward %10.2f us, floor %10.2f us, ratio "
          "%.2f\n",
          name, batch, t.forward_seconds * 1e6, t.floor_seconds * 1e6,
          t.forward_seconds / t.floor_seconds);
    }
  }
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

void PrintFirstCalls() {
  using Clock = std::chrono::steady_clock;
  std::cout << "\nfirst Forward after a load vs the fifth, batch 1, median of "
               "20 loads:\n";
  for (const char* name : {"connect4", "lenet", "mlp", "cnn", "lstm"}) {
    for (bool warm : {false, true}) {
      std::vector<double> first, steady;
      for (int load = 0; load < 20; ++load) {
        std::shared_ptr<const Model> model = LoadOrDie(name, warm);
        std::vector<Tensor> inputs = {Input(*model, 1)};
        for (int call = 0; call < 5; ++call) {
          const auto start = Clock::now();
          auto out = model->Forward(inputs);
          const double us =
              std::chrono::duration<double, std::micro>(Clock::now() - start)
                  .count();
          CHECK(out.ok()) << out.status();
          if (call == 0) first.push_back(us);
          if (call == 4) steady.push_back(us);
        }
      }
      const double f = Median(first), s = Median(steady);
      std::cout << absl::StrFormat(
          "  %-8s %-14s first %9.1f us, fifth %9.1f us, ratio %.2f\n", name,
          warm ? "LoadWarmModel" : "LoadModel", f, s, f / s);
    }
  }
}

// Prints the table as usual and keeps each benchmark's fastest time per
// iteration over its repetitions.
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& run : runs) {
      if (run.run_type != Run::RT_Iteration) continue;
      const std::string key =
          run.run_name.function_name + "/" + run.run_name.args;
      const double seconds = run.real_accumulated_time / run.iterations;
      auto it = seconds_.find(key);
      if (it == seconds_.end() || seconds < it->second) {
        seconds_[key] = seconds;
      }
    }
  }

  void PrintRatios() const {
    std::cout << "\nforward / floor (bare GEMMs of the same shapes), "
                 "fastest of 5 repetitions:\n";
    for (const char* model : {"Connect4", "Lenet"}) {
      for (int batch : {1, 64}) {
        const std::string suffix = "/" + std::to_string(batch);
        auto f = seconds_.find(absl::StrCat("BM_", model, "Forward", suffix));
        auto g = seconds_.find(absl::StrCat("BM_", model, "Floor", suffix));
        if (f == seconds_.end() || g == seconds_.end()) continue;
        std::cout << absl::StrFormat(
            "  %-8s batch %2d: forward %10.2f us, floor %10.2f us, ratio "
            "%.2f\n",
            model, batch, f->second * 1e6, g->second * 1e6,
            f->second / g->second);
      }
    }
  }

 private:
  std::map<std::string, double> seconds_;
};

// tests/fixtures/models in this binary's runfiles (or under TEST_SRCDIR).
std::string FindModelsDir(const char* argv0) {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  std::string root = srcdir != nullptr ? std::string(srcdir)
                                       : std::string(argv0) + ".runfiles";
  return root + "/ember/tests/fixtures/models";
}

}  // namespace
}  // namespace ember::model

int main(int argc, char** argv) {
  google::InitGoogleLogging(argv[0]);
  ember::model::g_models_dir = ember::model::FindModelsDir(argv[0]);
  benchmark::Initialize(&argc, argv);
  ember::model::RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  reporter.PrintRatios();
  ember::model::PrintInterleavedRatios();
  ember::model::PrintFirstCalls();
  return 0;
}
