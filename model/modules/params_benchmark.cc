// Time to turn one large parameter into f32, against the zero-then-convert
// way it used to be done.
//
// Builds one Burn parameter of --mib MiB (f32 and f16), then times
// LoadParam on it and, as a reference, a vector resized (zero-filled)
// before CopyToFloat32 writes every element again. Each figure is the
// median of --repeats runs.
//
//   bazel build -c opt //model/modules:params_benchmark
//   bazel-bin/model/modules/params_benchmark --mib=256 --repeats=5

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/types/span.h"
#include "model/modules/params.h"
#include "recorder/codec.h"
#include "recorder/record.h"

ABSL_FLAG(int, mib, 256, "Size of the stored parameter in MiB");
ABSL_FLAG(int, repeats, 5, "Runs per figure; the median is printed");

namespace ember::model {
namespace {

using Clock = std::chrono::steady_clock;

// A module map {"weight": <rank-1 tensor of `bytes` bytes of `dtype`>}.
recorder::Value MakeModule(recorder::DType dtype, uint64_t bytes) {
  auto storage = std::make_shared<std::string>(bytes, '\0');
  for (size_t i = 0; i < storage->size(); ++i) {
    (*storage)[i] = static_cast<char>((i * 2654435761u) >> 13);
  }
  recorder::Tensor t;
  t.id = "benchweight";
  t.dtype = dtype;
  t.shape = {bytes / recorder::DTypeSize(dtype)};
  t.bytes = *storage;
  t.storage = storage;
  return recorder::Value::MakeMap(
      {{"weight", recorder::Value::MakeTensor(std::move(t))}});
}

double Median(int repeats, const std::function<void()>& run) {
  std::vector<double> seconds;
  for (int i = 0; i < repeats; ++i) {
    const Clock::time_point start = Clock::now();
    run();
    seconds.push_back(
        std::chrono::duration<double>(Clock::now() - start).count());
  }
  std::sort(seconds.begin(), seconds.end());
  return seconds[seconds.size() / 2];
}

void Measure(const char* name, recorder::DType dtype, uint64_t bytes,
             int repeats) {
  const recorder::Value module = MakeModule(dtype, bytes);
  const recorder::Tensor& tensor = module.Find("weight")->tensor();
  const double load = Median(repeats, [&] {
    absl::StatusOr<Param> param = LoadParam(module, "layer", "weight", 1);
    if (!param.ok()) {
      fprintf(stderr, "%s\n", param.status().ToString().c_str());
      exit(1);
    }
  });
  const double zeroed = Median(repeats, [&] {
    std::vector<float> values;
    values.resize(tensor.NumElements());
    if (!recorder::CopyToFloat32(tensor, absl::MakeSpan(values)).ok()) {
      exit(1);
    }
  });
  const double out_mib = tensor.NumElements() * sizeof(float) / double(1 << 20);
  printf("%-4s LoadParam               %8.3f s %9.1f MiB/s (f32 out)\n", name,
         load, out_mib / load);
  printf("%-4s resize + CopyToFloat32  %8.3f s %9.1f MiB/s (f32 out)\n", name,
         zeroed, out_mib / zeroed);
}

int Main() {
  const uint64_t bytes = static_cast<uint64_t>(absl::GetFlag(FLAGS_mib)) << 20;
  const int repeats = std::max(1, absl::GetFlag(FLAGS_repeats));
  printf("parameter of %llu MiB as stored; %d repeats (median)\n",
         static_cast<unsigned long long>(bytes >> 20), repeats);
  Measure("f32", recorder::DType::kF32, bytes, repeats);
  Measure("f16", recorder::DType::kF16, bytes, repeats);
  return 0;
}

}  // namespace
}  // namespace ember::model

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return ember::model::Main();
}
