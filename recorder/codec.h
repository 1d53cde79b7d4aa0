// Reading and writing Burn record files: `NamedMpkFileRecorder` (`.mpk`) and
// `NamedMpkGzFileRecorder` (`.mpk.gz`) as written by Burn 0.10 to 0.21, plus
// precision conversion with Burn's three settings and the one copy of tensor
// elements into a model's f32 buffers.
//
// Decoding keeps `{bytes, shape, dtype}` payloads as views into the file
// buffer; old `{value, shape}` bodies are packed once into little-endian
// elements. Encoding a decoded record at its own precision reproduces Burn's
// bytes exactly (for `.mpk.gz`, the decompressed payload).
//
//   EMBER_ASSIGN_OR_RETURN(Record record, DecodeRecordFile(path));
//   for (const TensorEntry& t : record.Tensors()) {
//     std::vector<float> w(t.tensor->NumElements());
//     EMBER_RETURN_IF_ERROR(CopyToFloat32(*t.tensor, absl::MakeSpan(w)));
//   }
//   EMBER_ASSIGN_OR_RETURN(Record half, ConvertRecord(record,
//                          Precision::kHalf, RecordFormat::kMpk));
//   EMBER_RETURN_IF_ERROR(WriteRecordFile(half, "model-f16.mpk",
//                                         RecordFormat::kMpk));
//
// Every function is thread-safe: none keeps state between calls.

#ifndef EMBER_RECORDER_CODEC_H_
#define EMBER_RECORDER_CODEC_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "recorder/record.h"

namespace ember::recorder {

// The two Burn file recorders Ember reads and writes.
enum class RecordFormat { kMpk, kMpkGz };
// Burn's three precision settings.
enum class Precision { kFull, kHalf, kDouble };

// From a path's extension: ".mpk.gz" -> kMpkGz, ".mpk" -> kMpk, else an
// InvalidArgument error naming the path.
absl::StatusOr<RecordFormat> FormatForPath(absl::string_view path);
// ".mpk" or ".mpk.gz".
absl::string_view FormatExtension(RecordFormat format);

// "full", "half", "double".
absl::string_view PrecisionName(Precision precision);
// Inverse of PrecisionName (case-insensitive); InvalidArgument otherwise.
absl::StatusOr<Precision> ParsePrecision(absl::string_view name);
// The settings type name Burn records: "FullPrecisionSettings", ...
absl::string_view PrecisionSettingsName(Precision precision);

// Limits that keep hostile or broken input from exhausting memory or stack.
struct DecodeOptions {
  // Largest msgpack payload accepted after gunzip; a larger inflated size is
  // refused as a gzip bomb. Default 16 GiB, above any real Burn model.
  uint64_t max_inflated_bytes = uint64_t{16} << 30;
  // Deepest nesting of maps and arrays accepted. Real records nest less
  // than 20 levels.
  int max_depth = 64;
  // Most tree nodes (MessagePack values outside tensor bodies) accepted.
  // Each costs about 150 bytes in memory, so this bounds the tree a small
  // hostile file of nils could make. Real records hold fewer than 100,000.
  uint64_t max_values = uint64_t{1} << 22;
};

// Decodes a whole file already in memory (gunzips when it starts 1f 8b).
// Tensor bytes point into `file` (kept alive by the tensors' storage).
// `source` names the file in error messages. Errors are InvalidArgument
// (malformed record), DataLoss (corrupt gzip) or ResourceExhausted (a limit
// in `options`), and name the record path and byte offset involved.
absl::StatusOr<Record> DecodeRecord(std::shared_ptr<const std::string> file,
                                    absl::string_view source);
absl::StatusOr<Record> DecodeRecord(std::shared_ptr<const std::string> file,
                                    absl::string_view source,
                                    const DecodeOptions& options);
// The same for bytes held by anything else (a mapped file, say): `owner`
// must keep `bytes` alive and unchanged; tensors hold on to it.
absl::StatusOr<Record> DecodeRecord(absl::string_view bytes,
                                    std::shared_ptr<const void> owner,
                                    absl::string_view source,
                                    const DecodeOptions& options);
// Reads `path` and decodes it; NotFound etc. when it cannot be read.
absl::StatusOr<Record> DecodeRecordFile(const std::string& path);
absl::StatusOr<Record> DecodeRecordFile(const std::string& path,
                                        const DecodeOptions& options);

// The MessagePack payload exactly as Burn writes it; with kMpkGz, gzipped
// (header 1f 8b 08 00 00000000 00 ff like Burn; deflate level 6).
absl::StatusOr<std::string> EncodeRecord(const Record& record,
                                         RecordFormat format);
// The same bytes handed to `out` in order and in pieces, so the encoded
// record is never whole in memory: with kMpk each tensor's payload comes
// straight from the record's buffers. When `out` fails, its status is
// returned and what it received is a prefix to discard.
absl::Status EncodeRecordTo(const Record& record, RecordFormat format,
                            const ByteSink& out);
// Writes atomically: temp file in the same directory, fsync, rename,
// fsync of the directory. An existing `path` is replaced.
absl::Status WriteRecordFile(const Record& record, const std::string& path,
                             RecordFormat format);

// The record Burn's recorder with `precision` would write for the same
// module, in `format`: float tensors to f32/f16/f64, int tensors to
// i32/i16/i64, bool untouched; metadata float/int/format/settings strings set
// to what Burn writes for that recorder and setting.
//
// Tensors already at the target dtype are shared, not copied, and keep their
// encoding, so a record at the requested precision and format comes back
// byte-identical. When any tensor changes dtype, every tensor is written in
// the `{bytes, shape, dtype}` layout, `_b: []` is added when missing, and a
// record that had `{value, shape}` bodies gets version "0.14.0" (the first
// Burn release that reads this layout). Int values that do not fit the
// target type are an InvalidArgument error naming the tensor.
absl::StatusOr<Record> ConvertRecord(const Record& record, Precision precision,
                                     RecordFormat format);
// Which precision a record is stored at (from its float tensors' dtypes, or
// its metadata when it has none). InvalidArgument when the float tensors mix
// dtypes or use one no setting writes (BF16).
absl::StatusOr<Precision> RecordPrecision(const Record& record);

// Converts any tensor's elements to f32 into `out` (exactly NumElements()
// long). The one copy from file bytes to a model's buffer; vectorised for
// f16 and bf16. Integers convert with the usual rounding to nearest f32;
// Bool gives 0 or 1.
absl::Status CopyToFloat32(const Tensor& tensor, absl::Span<float> out);

// Parses Burn's dtype name ("F32", "BF16", "Bool", ...); nullopt-like
// InvalidArgument for anything else.
absl::StatusOr<DType> ParseDTypeName(absl::string_view name);

}  // namespace ember::recorder

#endif  // EMBER_RECORDER_CODEC_H_
