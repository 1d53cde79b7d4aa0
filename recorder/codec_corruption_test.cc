// Randomised corruption of every fixture: truncations, byte flips and
// planted MessagePack headers claiming huge sizes. Each mutated file must
// decode to a status or a record (never crash, hang or allocate what a
// header merely claims); a record that does decode must encode, convert and
// copy out without crashing. Deterministic seed.

#include <cstdint>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "recorder/codec.h"
#include "recorder/record.h"
#include "recorder/test_util.h"

namespace ember::recorder {
namespace {

using testing::FixtureNames;
using testing::FixturePath;
using testing::GunzipOrDie;
using testing::ReadFileOrDie;

constexpr int kMutationsPerInput = 100;

// Exercises everything a caller might do with a decoded record.
void UseRecord(const Record& record) {
  for (const TensorEntry& t : record.Tensors()) {
    std::vector<float> out(t.tensor->NumElements());
    (void)CopyToFloat32(*t.tensor, absl::MakeSpan(out));
  }
  (void)EncodeRecord(record, RecordFormat::kMpk);
  (void)ConvertRecord(record, Precision::kHalf, RecordFormat::kMpk);
  (void)RecordPrecision(record);
}

std::string Mutate(const std::string& in, std::mt19937_64& rng) {
  std::string out = in;
  std::uniform_int_distribution<size_t> pos(0, in.size() - 1);
  switch (rng() % 4) {
    case 0:  // truncate
      out.resize(pos(rng));
      break;
    case 1: {  // flip a few bits
      const int n = 1 + rng() % 4;
      for (int i = 0; i < n; ++i) out[pos(rng)] ^= 1 << (rng() % 8);
      break;
    }
    case 2: {  // overwrite with random bytes
      const int n = 1 + rng() % 8;
      for (int i = 0; i < n; ++i) out[pos(rng)] = static_cast<char>(rng());
      break;
    }
    case 3: {  // plant a header that claims a huge size
      static const char kHeaders[][5] = {
          {'\xdd', '\x7f', '\xff', '\xff', '\xff'},  // array32
          {'\xdf', '\x7f', '\xff', '\xff', '\xff'},  // map32
          {'\xc6', '\x7f', '\xff', '\xff', '\xff'},  // bin32
          {'\xdb', '\x7f', '\xff', '\xff', '\xff'},  // str32
          {'\xdc', '\xff', '\xff', '\x91', '\x91'},  // array16 of nesting
      };
      const auto& h = kHeaders[rng() % 5];
      const size_t p = pos(rng);
      for (size_t i = 0; i < 5 && p + i < out.size(); ++i) out[p + i] = h[i];
      break;
    }
  }
  return out;
}

TEST(CorruptionTest, MutatedFixturesNeverCrash) {
  std::mt19937_64 rng(0xE3BE5);
  int decoded = 0, failed = 0;
  for (const std::string& name : FixtureNames()) {
    const std::string file = ReadFileOrDie(FixturePath(name));
    std::vector<std::string> inputs = {file};
    if (name.size() > 3 && name.substr(name.size() - 3) == ".gz") {
      // Corrupt the payload too: most gzip damage stops at the CRC.
      inputs.push_back(GunzipOrDie(file));
    }
    for (const std::string& input : inputs) {
      for (int i = 0; i < kMutationsPerInput; ++i) {
        auto mutated = std::make_shared<const std::string>(Mutate(input, rng));
        DecodeOptions options;
        options.max_inflated_bytes = uint64_t{64} << 20;
        absl::StatusOr<Record> r = DecodeRecord(mutated, name, options);
        if (r.ok()) {
          ++decoded;
          UseRecord(*r);
        } else {
          ++failed;
          EXPECT_FALSE(r.status().message().empty());
        }
      }
    }
  }
  // Both outcomes occur (a flip inside tensor bytes still decodes).
  EXPECT_GT(decoded, 0);
  EXPECT_GT(failed, 0);
  std::printf("decoded %d, refused %d mutated files\n", decoded, failed);
}

}  // namespace
}  // namespace ember::recorder
