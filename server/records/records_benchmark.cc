// Throughput of the records service against the gRPC floor, on loopback.
//
// Builds a Burn record of one Linear layer (default 8192 x 8192 f32, 256
// MiB), then times, with client and server in this process over
// 127.0.0.1 TCP and the same chunk size everywhere:
//   - floor upload / download: a service that only moves the bytes (the
//     upload is appended into one buffer, the download is sent from one);
//   - the disk floor: the same bytes written to a new file and fsynced;
//   - the records service: upload (digest, decode, model check, atomic
//     write with fsync), one at a time and then back to back with every
//     version kept, and download at the stored precision (streamed from
//     the file), plus a converting download and upload at half precision.
// Each figure is the median of --repeats runs, with the fastest run beside
// it (on a machine shared with other work the fastest run is the closest to
// the transfer's own cost). Prints MiB/s and the ratio of each records
// figure to its floor (target: at most 1.5), and the most anonymous memory
// (RssAnon, sampled every 2 ms) any run added to the process: client and
// server together, the client's copy of the record excluded (it is made
// before the runs).
//
//   bazel build -c opt //server/records:records_benchmark
//   bazel-bin/server/records/records_benchmark --mib=256 --repeats=3 \
//       --dir=/var/tmp

#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "common/process_memory.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "proto/records.grpc.pb.h"
#include "recorder/codec.h"
#include "recorder/record.h"
#include "server/auth/auth_policy.h"
#include "server/records/records_service.h"
#include "server/records/repository_files.h"
#include "tests/records/transfer.h"

ABSL_FLAG(int, mib, 256, "Record size in MiB (one square f32 Linear layer)");
ABSL_FLAG(int, repeats, 3, "Runs per figure; the median is printed");
ABSL_FLAG(int, chunk_kib, 1024, "Chunk size in KiB, both directions");
ABSL_FLAG(std::string, dir, "",
          "Directory for the temp repository (default $TMPDIR or /tmp)");

namespace ember::records {
namespace {

namespace v1 = ::ember::records::v1;
using Clock = std::chrono::steady_clock;

// Moves bytes and nothing else: the transport floor, with the same
// messages and chunking as the records service.
class FloorService final : public v1::Records::Service {
 public:
  explicit FloorService(const std::string* download) : download_(download) {}

  grpc::Status Upload(grpc::ServerContext*,
                      grpc::ServerReader<v1::UploadRequest>* reader,
                      v1::UploadResponse* response) override {
    std::string payload;
    v1::UploadRequest message;
    // Same reservation as the records service makes from total_size.
    if (reader->Read(&message)) payload.reserve(message.header().total_size());
    while (reader->Read(&message)) payload.append(message.chunk());
    response->mutable_record()->set_size(payload.size());
    return grpc::Status::OK;
  }

  grpc::Status Download(
      grpc::ServerContext*, const v1::DownloadRequest* request,
      grpc::ServerWriter<v1::DownloadResponse>* writer) override {
    v1::DownloadResponse message;
    message.mutable_metadata()->set_size(download_->size());
    writer->Write(message);
    const size_t chunk = request->chunk_size();
    for (size_t at = 0; at < download_->size(); at += chunk) {
      message.set_chunk(download_->data() + at,
                        std::min(chunk, download_->size() - at));
      if (!writer->Write(message)) break;
    }
    return grpc::Status::OK;
  }

 private:
  const std::string* download_;
};

struct Server {
  std::unique_ptr<grpc::Server> server;
  std::unique_ptr<v1::Records::Stub> stub;
};

Server Serve(grpc::Service* service) {
  Server s;
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                           &port);
  builder.RegisterService(service);
  s.server = builder.BuildAndStart();
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  s.stub = v1::Records::NewStub(
      grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", port),
                                grpc::InsecureChannelCredentials(), args));
  return s;
}

// Seconds taken by repeated runs of one transfer.
struct Timing {
  double median = 0;
  // The fastest run: on a machine shared with other work, the closest
  // figure to the transfer's own cost.
  double best = 0;
  // Most anonymous memory one run added, in MiB.
  double peak_mib = 0;
};

// Times `repeats` runs of `run` (which returns false on error), calling
// `between` (when given) after each run, untimed.
Timing Measure(int repeats, const std::function<bool()>& run,
               const std::function<void()>& between = nullptr) {
  std::vector<double> seconds;
  double peak = 0;
  for (int i = 0; i < repeats; ++i) {
    {
      RssAnonPeak memory;
      const Clock::time_point start = Clock::now();
      if (!run()) {
        fprintf(stderr, "a transfer failed\n");
        exit(1);
      }
      seconds.push_back(
          std::chrono::duration<double>(Clock::now() - start).count());
      peak = std::max(peak, memory.added());
    }
    if (between) between();
  }
  std::sort(seconds.begin(), seconds.end());
  return Timing{seconds[seconds.size() / 2], seconds.front(), peak};
}

// One line: median and best seconds, median MiB/s, and both ratios to
// `floor` (median to median, best to best) when a floor is given.
void Report(const char* what, const Timing& t, double mib,
            const Timing* floor) {
  printf("%-40s %7.3f s (best %.3f s) %7.1f MiB/s  +%4.0f MiB", what, t.median,
         t.best, mib / t.median, t.peak_mib);
  if (floor != nullptr) {
    printf("   %.2fx floor (best %.2fx)", t.median / floor->median,
           t.best / floor->best);
  }
  printf("\n");
}

int Main() {
  const int mib = absl::GetFlag(FLAGS_mib);
  const int repeats = std::max(1, absl::GetFlag(FLAGS_repeats));
  const size_t chunk = static_cast<size_t>(absl::GetFlag(FLAGS_chunk_kib))
                       << 10;
  const int dim = static_cast<int>(
      std::sqrt(static_cast<double>(mib) * (1 << 20) / sizeof(float)));
  std::string base = absl::GetFlag(FLAGS_dir);
  if (base.empty()) base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
  const std::string repo = base + "/ember-records-benchmark";
  std::filesystem::remove_all(repo);
  std::filesystem::create_directories(repo + "/bench");
  std::ofstream(repo + "/bench/config.pbtxt")
      << testing::SquareLinearConfig(dim);

  absl::StatusOr<std::string> made = testing::SquareLinearRecord(dim);
  if (!made.ok()) {
    fprintf(stderr, "%s\n", made.status().ToString().c_str());
    return 1;
  }
  const std::string record = *std::move(made);
  const double size_mib = record.size() / double(1 << 20);
  printf(
      "record: Linear %d x %d f32, %.1f MiB; chunk %zu KiB; %d repeats "
      "(median); repository %s\n"
      "columns: median time (fastest), median rate, most anonymous memory "
      "a run added, ratio to the floor\n",
      dim, dim, size_mib, chunk >> 10, repeats, repo.c_str());

  testing::CallOptions call;
  call.chunk_size = chunk;
  v1::UploadHeader header;
  header.set_model("bench");
  header.set_total_size(record.size());
  v1::DownloadRequest request;
  request.set_model("bench");
  request.set_chunk_size(static_cast<uint32_t>(chunk));

  // The disk floor: the same bytes written to a new file and fsynced, as
  // every durable upload must.
  const Timing disk = Measure(repeats, [&] {
    const std::string path = repo + "/disk-floor";
    std::filesystem::remove(path);
    auto staged = StagedDirectory::Create(repo);
    if (!staged.ok()) return false;
    auto file = (*staged)->CreateFile("disk-floor");
    if (!file.ok()) return false;
    for (size_t at = 0; at < record.size(); at += chunk) {
      if (!(*file)->Append(absl::string_view(record).substr(at, chunk)).ok()) {
        return false;
      }
    }
    return (*file)->Finish().ok();
  });

  FloorService floor_service(&record);
  Server floor = Serve(&floor_service);
  const Timing floor_up = Measure(repeats, [&] {
    return testing::UploadRecord(*floor.stub, header, record, call).status.ok();
  });
  const Timing floor_down = Measure(repeats, [&] {
    auto got = testing::DownloadRecord(*floor.stub, request, call);
    return got.status.ok() && got.bytes.size() == record.size();
  });
  floor.server->Shutdown();

  RecordsService::Options options;
  options.repository = repo;
  options.auth = auth::AuthPolicy::Open();
  options.max_upload_bytes = record.size() * 2;
  auto service = RecordsService::Create(options);
  if (!service.ok()) {
    fprintf(stderr, "%s\n", service.status().ToString().c_str());
    return 1;
  }
  Server records = Serve(service->get());
  int64_t stored_version = 0;
  auto upload = [&] {
    auto result = testing::UploadRecord(*records.stub, header, record, call);
    if (!result.status.ok()) {
      fprintf(stderr, "%s\n", result.status.error_message().c_str());
    }
    stored_version = result.response.record().version();
    return result.status.ok();
  };
  // One upload as a training job makes it: each run's version is removed
  // before the next (untimed), so every run meets the disk as the first
  // did. Then the same uploads back to back, every version kept: on a disk
  // that absorbs a burst faster than it sustains writes, later runs wait on
  // it.
  const Timing up = Measure(repeats, upload, [&] {
    std::filesystem::remove_all(absl::StrCat(repo, "/bench/", stored_version));
  });
  const Timing up_kept = Measure(repeats, upload);
  const Timing down = Measure(repeats, [&] {
    auto got = testing::DownloadRecord(*records.stub, request, call);
    return got.status.ok() && got.bytes == record;
  });
  v1::DownloadRequest half_request = request;
  half_request.set_precision(v1::PRECISION_HALF);
  const Timing down_half = Measure(repeats, [&] {
    return testing::DownloadRecord(*records.stub, half_request, call)
        .status.ok();
  });
  v1::UploadHeader half_header = header;
  half_header.set_precision(v1::PRECISION_HALF);
  const Timing up_half = Measure(repeats, [&] {
    return testing::UploadRecord(*records.stub, half_header, record, call)
        .status.ok();
  });
  records.server->Shutdown();
  std::filesystem::remove_all(repo);

  Report("disk floor (write + fsync, no network)", disk, size_mib, nullptr);
  Report("floor upload (bytes only)", floor_up, size_mib, nullptr);
  Report("floor download (bytes only)", floor_down, size_mib, nullptr);
  Report("records upload, stored as sent", up, size_mib, &floor_up);
  Report("  the same, back to back, all kept", up_kept, size_mib, &floor_up);
  Report("records download, as stored", down, size_mib, &floor_down);
  Report("records download, converted to half", down_half, size_mib,
         &floor_down);
  Report("records upload, converted to half", up_half, size_mib, &floor_up);
  printf(
      "records upload vs the durable floor max(transport, disk): %.2fx "
      "(best %.2fx)\n",
      up.median / std::max(floor_up.median, disk.median),
      up.best / std::max(floor_up.best, disk.best));
  return 0;
}

}  // namespace
}  // namespace ember::records

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return ember::records::Main();
}
