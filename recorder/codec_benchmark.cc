// Decode throughput on a synthetic 256 MiB record, beside the cost of
// reading the same file and of one memcpy of it.
//
//   bazel build //recorder:codec_benchmark
//   bazel-bin/recorder/codec_benchmark [--dir=/tmp] [--repeats=5]
//
// For each of Full (F32) and Half (F16) it writes a record whose tensor
// bytes total 256 MiB (64 tensors), plus a Half record in the old
// {value, shape} layout for reference, then times, best of --repeats runs:
//   read    the whole file into memory (page cache warm after writing)
//   memcpy  one copy of the file buffer into a pre-touched buffer
//   decode  DecodeRecordFile (read + parse) plus CopyToFloat32 of every
//           tensor into pre-touched f32 buffers (the model's weights)
// and prints decode / (read + memcpy), the figure the codec aims to keep
// within 2.
//
// A second table times what a converting upload or download does with a
// decoded record, best of --repeats runs, each step on its own:
//   convert  ConvertRecord to the other float precision (f32 <-> f16)
//   encode   EncodeRecord of the converted record (.mpk)
//   memcpy   one copy of the encoded bytes, for scale

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "recorder/codec.h"
#include "recorder/half.h"
#include "recorder/record.h"

namespace ember::recorder {
namespace {

constexpr uint64_t kTotalBytes = uint64_t{256} << 20;
constexpr int kTensors = 64;

double Seconds(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

template <typename F>
double Best(int repeats, F f) {
  double best = 1e30;
  for (int i = 0; i < repeats; ++i) {
    const auto start = std::chrono::steady_clock::now();
    f();
    best = std::min(best, Seconds(std::chrono::steady_clock::now() - start));
  }
  return best;
}

Record MakeRecord(Precision precision, TensorLayout layout,
                  std::vector<std::shared_ptr<std::string>>* keep) {
  const DType dtype = precision == Precision::kHalf ? DType::kF16 : DType::kF32;
  const uint64_t bytes_per_tensor = kTotalBytes / kTensors;
  const uint64_t n = bytes_per_tensor / DTypeSize(dtype);
  Map item;
  for (int t = 0; t < kTensors; ++t) {
    auto data = std::make_shared<std::string>(bytes_per_tensor, '\0');
    // Deterministic, finite values spread over a realistic range.
    uint32_t state = 0x9E3779B9u * (t + 1);
    for (uint64_t i = 0; i < n; ++i) {
      state = state * 1664525u + 1013904223u;
      const float v = (static_cast<int32_t>(state) >> 8) * 1e-7f;
      if (dtype == DType::kF16) {
        const uint16_t h = FloatToHalfScalar(v);
        std::memcpy(&(*data)[2 * i], &h, 2);
      } else {
        std::memcpy(&(*data)[4 * i], &v, 4);
      }
    }
    Tensor tensor;
    tensor.id = absl::StrCat("tensor", t);
    tensor.dtype = dtype;
    tensor.layout = layout;
    tensor.shape = {n / 1024, 1024};
    tensor.bytes = *data;
    tensor.storage = data;
    keep->push_back(data);
    item.emplace_back(absl::StrCat("layer_", t),
                      Value::MakeMap({{"weight", Value::MakeTensor(tensor)},
                                      {"bias", Value::Nil()}}));
  }
  Record base(Value::MakeMap({{"metadata", Value::MakeMap({})},
                              {"item", Value::MakeMap(std::move(item))},
                              {"_b", Value::MakeArray({})}}));
  return ConvertRecord(base, precision, RecordFormat::kMpk).value();
}

std::string ReadAll(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY);
  const off_t size = lseek(fd, 0, SEEK_END);
  lseek(fd, 0, SEEK_SET);
  std::string out(static_cast<size_t>(size), '\0');
  size_t done = 0;
  while (done < out.size()) {
    const ssize_t r = read(fd, out.data() + done, out.size() - done);
    if (r <= 0) break;
    done += static_cast<size_t>(r);
  }
  close(fd);
  return out;
}

int Run(const std::string& dir, int repeats) {
  std::printf("%-8s %10s %9s %9s %9s %12s %7s\n", "record", "file MiB",
              "read s", "memcpy s", "decode s", "decode GB/s", "ratio");
  struct Case {
    Precision precision;
    TensorLayout layout;
    const char* name;
  };
  // The old {value, shape} layout is for reference only: each element is a
  // MessagePack number, so it cannot approach memcpy speed.
  const Case cases[] = {
      {Precision::kFull, TensorLayout::kTensorData, "full"},
      {Precision::kHalf, TensorLayout::kTensorData, "half"},
      {Precision::kHalf, TensorLayout::kValueShape, "half-old"},
  };
  for (const Case& c : cases) {
    const std::string path =
        absl::StrCat(dir, "/codec_benchmark_", c.name, ".mpk");
    {
      std::vector<std::shared_ptr<std::string>> keep;
      Record record = MakeRecord(c.precision, c.layout, &keep);
      if (!WriteRecordFile(record, path, RecordFormat::kMpk).ok()) {
        std::fprintf(stderr, "cannot write %s\n", path.c_str());
        return 1;
      }
    }
    const std::string file = ReadAll(path);
    std::string copy(file.size(), '\1');
    // The model's buffers: allocated and touched once, as a loaded model's
    // weights would be.
    std::vector<std::vector<float>> weights;
    {
      absl::StatusOr<Record> r = DecodeRecordFile(path);
      for (const TensorEntry& t : r->Tensors()) {
        weights.emplace_back(t.tensor->NumElements(), 1.0f);
      }
    }

    const double read_s = Best(repeats, [&] {
      std::string f = ReadAll(path);
      if (f.size() != file.size()) std::abort();
    });
    const double memcpy_s = Best(
        repeats, [&] { std::memcpy(copy.data(), file.data(), file.size()); });
    const double decode_s = Best(repeats, [&] {
      absl::StatusOr<Record> r = DecodeRecordFile(path);
      if (!r.ok()) std::abort();
      const std::vector<TensorEntry> tensors = r->Tensors();
      for (size_t i = 0; i < tensors.size(); ++i) {
        if (!CopyToFloat32(*tensors[i].tensor, absl::MakeSpan(weights[i]))
                 .ok()) {
          std::abort();
        }
      }
    });
    std::printf("%-8s %10.1f %9.4f %9.4f %9.4f %12.2f %7.2f\n", c.name,
                file.size() / 1048576.0, read_s, memcpy_s, decode_s,
                file.size() / decode_s / 1e9, decode_s / (read_s + memcpy_s));
    unlink(path.c_str());
  }
  std::printf("f16c %s, avx2 %s; ratio = decode / (read + memcpy)\n",
              CpuHasF16C() ? "yes" : "no", CpuHasAvx2() ? "yes" : "no");

  std::printf("\n%-13s %10s %9s %9s %9s %12s\n", "conversion", "out MiB",
              "convert s", "encode s", "memcpy s", "total GB/s");
  const Precision precisions[] = {Precision::kFull, Precision::kHalf};
  for (Precision from : precisions) {
    const Precision to =
        from == Precision::kFull ? Precision::kHalf : Precision::kFull;
    std::vector<std::shared_ptr<std::string>> keep;
    const Record record = MakeRecord(from, TensorLayout::kTensorData, &keep);
    absl::StatusOr<Record> converted;
    const double convert_s = Best(repeats, [&] {
      converted = ConvertRecord(record, to, RecordFormat::kMpk);
      if (!converted.ok()) std::abort();
    });
    absl::StatusOr<std::string> encoded;
    const double encode_s = Best(repeats, [&] {
      encoded = EncodeRecord(*converted, RecordFormat::kMpk);
      if (!encoded.ok()) std::abort();
    });
    std::string copy(encoded->size(), '\1');
    const double memcpy_s = Best(repeats, [&] {
      std::memcpy(copy.data(), encoded->data(), encoded->size());
    });
    std::printf(
        "%-13s %10.1f %9.4f %9.4f %9.4f %12.2f\n",
        absl::StrCat(PrecisionName(from), "->", PrecisionName(to)).c_str(),
        encoded->size() / 1048576.0, convert_s, encode_s, memcpy_s,
        kTotalBytes / (convert_s + encode_s) / 1e9);
  }
  return 0;
}

}  // namespace
}  // namespace ember::recorder

int main(int argc, char** argv) {
  std::string dir = "/tmp";
  int repeats = 5;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (absl::StartsWith(arg, "--dir=")) {
      dir = arg.substr(6);
    } else if (absl::StartsWith(arg, "--repeats=") &&
               absl::SimpleAtoi(arg.substr(10), &repeats) && repeats > 0) {
    } else {
      std::fprintf(stderr, "usage: %s [--dir=DIR] [--repeats=N]\n", argv[0]);
      return 2;
    }
  }
  return ember::recorder::Run(dir, repeats);
}
