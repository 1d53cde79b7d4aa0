#include "tests/fuzz/record_fuzz.h"

#include <memory>
#include <string>

#include "glog/logging.h"
#include "model/model_builder.h"
#include "recorder/codec.h"
#include "recorder/record.h"

namespace ember::fuzz {
namespace {

// Small enough that one input cannot take the fuzzer's memory or time.
recorder::DecodeOptions Limits() {
  recorder::DecodeOptions options;
  options.max_inflated_bytes = uint64_t{64} << 20;
  options.max_values = uint64_t{1} << 16;
  return options;
}

// The record encoded piece by piece; CHECKs that it is the same as the
// whole encoding `whole`.
void CheckStreamedEncoding(const recorder::Record& record,
                           const std::string& whole) {
  std::string streamed;
  const absl::Status status = recorder::EncodeRecordTo(
      record, recorder::RecordFormat::kMpk, [&](absl::string_view piece) {
        streamed.append(piece.data(), piece.size());
        return absl::OkStatus();
      });
  CHECK(status.ok()) << "encoding in pieces failed: " << status;
  CHECK(streamed == whole) << "encoding in pieces differs from encoding whole";
}

}  // namespace

std::vector<NamedConfig> LoadConfigs(const std::vector<std::string>& dirs) {
  std::vector<NamedConfig> configs;
  for (const std::string& dir : dirs) {
    const std::string path = dir + "/config.pbtxt";
    absl::StatusOr<config::ModelConfig> config =
        model::LoadModelConfigFile(path);
    CHECK(config.ok()) << config.status();
    configs.push_back({path, *std::move(config)});
  }
  return configs;
}

void RecordFuzzer::Run(absl::string_view bytes) const {
  const recorder::DecodeOptions limits = Limits();
  absl::StatusOr<recorder::Record> record = recorder::DecodeRecord(
      std::make_shared<const std::string>(bytes), "input", limits);
  if (!record.ok()) return;

  // What decodes, encodes; and encoding what that decodes to changes
  // nothing more.
  absl::StatusOr<std::string> once =
      recorder::EncodeRecord(*record, recorder::RecordFormat::kMpk);
  if (once.ok()) {
    absl::StatusOr<recorder::Record> again = recorder::DecodeRecord(
        std::make_shared<const std::string>(*once), "re-encoded", limits);
    CHECK(again.ok()) << "a record Ember wrote does not decode: "
                      << again.status();
    absl::StatusOr<std::string> twice =
        recorder::EncodeRecord(*again, recorder::RecordFormat::kMpk);
    CHECK(twice.ok()) << twice.status();
    CHECK(*once == *twice) << "re-encoding is not a fixed point";
    CheckStreamedEncoding(*record, *once);
  }

  for (recorder::Precision precision :
       {recorder::Precision::kHalf, recorder::Precision::kFull}) {
    absl::StatusOr<recorder::Record> converted = recorder::ConvertRecord(
        *record, precision, recorder::RecordFormat::kMpk);
    if (!converted.ok()) continue;
    absl::StatusOr<std::string> encoded =
        recorder::EncodeRecord(*converted, recorder::RecordFormat::kMpk);
    CHECK(encoded.ok()) << "a converted record does not encode: "
                        << encoded.status();
    CheckStreamedEncoding(*converted, *encoded);
  }

  for (const NamedConfig& named : configs_) {
    const model::BuildSource source{named.path, "input"};
    const absl::Status built =
        model::BuildModel(named.config, *record, source).status();
    const absl::Status checked =
        model::CheckModel(named.config, *record, source);
    CHECK(built == checked) << named.path << ": BuildModel says " << built
                            << " but CheckModel says " << checked;
  }
}

}  // namespace ember::fuzz
