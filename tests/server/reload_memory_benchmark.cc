// emberd's memory across model swaps. A square Linear model (--dim, default
// 4096: 64 MiB of f32 weights) is uploaded again and again as a new version
// (version policy latest 1, so each upload replaces the serving version),
// waiting each time until the new version serves. For every swap it prints
// emberd's resident anonymous memory (RssAnon) once the old instance is
// gone, and the highest level sampled every 2 ms during the swap. Runs
// once with the default order (the new version loads while the old one
// serves) and once with --unload_first. Prints figures; no pass/fail.
//
//   bazel build -c opt //tests/server:reload_memory_benchmark
//   TEST_SRCDIR=$PWD/bazel-bin/tests/server/reload_memory_benchmark.runfiles \
//   TEST_TMPDIR=$(mktemp -d) \
//   bazel-bin/tests/server/reload_memory_benchmark [--dim=4096] [--swaps=20]
//
// What it shows: whether memory returns to the same level after every swap
// (no growth across reloads), and the peak a swap needs in multiples of
// the weights.

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "client/ember_client.h"
#include "common/process_memory.h"
#include "tests/client/emberd_process.h"
#include "tests/records/transfer.h"

ABSL_FLAG(int, dim, 4096, "the Linear layer is dim x dim (f32)");
ABSL_FLAG(int, swaps, 20, "uploads after the first version");

namespace ember {
namespace {

using client::EmberClient;

struct Swap {
  double after_mib;  // RssAnon once the old instance is released
  double peak_mib;   // highest RssAnon during the upload and swap
};

// RssAnon of `pid` once it has stayed within 1 MiB for 100 ms (the old
// instance is released when the swap's last request ends), at most 5 s.
double SettledRssAnon(pid_t pid) {
  double last = RssAnonMiB(pid);
  for (int i = 0; i < 50; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const double now = RssAnonMiB(pid);
    if (std::abs(now - last) < 1) return now;
    last = now;
  }
  return last;
}

std::vector<Swap> RunSwaps(bool unload_first, const std::string& record,
                           int dim, int swaps, double* started_mib) {
  const std::string repo = testing::TempDir("reload-repo");
  std::vector<std::string> flags;
  if (unload_first) flags.push_back("--unload_first");
  auto server = testing::EmberdProcess::Start({repo, flags});
  if (!server.ok()) {
    std::fprintf(stderr, "%s\n", server.status().ToString().c_str());
    std::exit(1);
  }
  const pid_t pid = (*server)->pid();
  client::ClientOptions options;
  options.server = (*server)->address();
  options.timeout = absl::Minutes(5);
  std::unique_ptr<EmberClient> client = EmberClient::Create(options).value();
  *started_mib = SettledRssAnon(pid);

  std::vector<Swap> result;
  for (int i = 0; i <= swaps; ++i) {
    client::UploadOptions upload;
    upload.model = "wide";
    upload.wait_until_serving = true;
    if (i == 0) upload.config_pbtxt = records::testing::SquareLinearConfig(dim);
    Swap swap;
    {
      RssAnonPeak peak(pid);
      absl::StatusOr<client::UploadResult> stored =
          client->UploadBytes(record, upload);
      if (!stored.ok() || !stored->serving) {
        std::fprintf(stderr, "upload %d: %s\n%s\n", i,
                     stored.ok() ? stored->serving_message.c_str()
                                 : stored.status().ToString().c_str(),
                     (*server)->Log().c_str());
        std::exit(1);
      }
      swap.after_mib = SettledRssAnon(pid);
      swap.peak_mib = peak.peak();
      // The retired version's file is not needed on disk any more.
      if (stored->record.version() > 1) {
        std::filesystem::remove_all(
            absl::StrCat(repo, "/wide/", stored->record.version() - 1));
      }
    }
    result.push_back(swap);
  }
  return result;
}

void Print(const char* title, const std::vector<Swap>& swaps,
           double started_mib, double weights_mib) {
  std::printf("\n%s\n  emberd before the first upload: %.1f MiB\n", title,
              started_mib);
  std::printf("  %-6s %12s %12s %14s\n", "upload", "after MiB", "peak MiB",
              "peak - before");
  double before = started_mib;
  double worst_ratio = 0;
  for (size_t i = 0; i < swaps.size(); ++i) {
    const Swap& s = swaps[i];
    std::printf("  %-6zu %12.1f %12.1f %14.1f\n", i + 1, s.after_mib,
                s.peak_mib, s.peak_mib - before);
    if (i > 0)
      worst_ratio = std::max(worst_ratio, (s.peak_mib - before) / weights_mib);
    before = s.after_mib;
  }
  const size_t n = swaps.size();
  if (n >= 4) {
    std::printf(
        "  steady level after uploads 2..%zu: %.1f .. %.1f MiB; growth from "
        "upload 2 to %zu: %+.1f MiB\n",
        n, swaps[1].after_mib, swaps[n - 1].after_mib, n,
        swaps[n - 1].after_mib - swaps[1].after_mib);
    double lo = swaps[1].after_mib, hi = lo;
    for (size_t i = 1; i < n; ++i) {
      lo = std::min(lo, swaps[i].after_mib);
      hi = std::max(hi, swaps[i].after_mib);
    }
    std::printf("  range of the level after each swap: %.1f MiB\n", hi - lo);
  }
  std::printf(
      "  largest swap peak above the level before it: %.2fx the "
      "weights\n",
      worst_ratio);
}

int Run(int dim, int swaps) {
  absl::StatusOr<std::string> record =
      records::testing::SquareLinearRecord(dim);
  if (!record.ok()) {
    std::fprintf(stderr, "%s\n", record.status().ToString().c_str());
    return 1;
  }
  const double weights_mib =
      (static_cast<double>(dim) * dim + dim) * sizeof(float) / (1 << 20);
  std::printf(
      "model: Linear %d x %d f32, %.1f MiB of weights; record %.1f "
      "MiB; %d swaps\n",
      dim, dim, weights_mib, record->size() / 1048576.0, swaps);
  for (bool unload_first : {false, true}) {
    double started = 0;
    std::vector<Swap> result =
        RunSwaps(unload_first, *record, dim, swaps, &started);
    Print(unload_first ? "--unload_first (old version unloads, then the new "
                         "one loads)"
                       : "default (new version loads while the old serves)",
          result, started, weights_mib);
  }
  return 0;
}

}  // namespace
}  // namespace ember

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return ember::Run(absl::GetFlag(FLAGS_dim), absl::GetFlag(FLAGS_swaps));
}
