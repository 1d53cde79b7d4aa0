// Reads one Burn record from its MessagePack payload (already gunzipped)
// into the record tree. Internal to the codec; use codec.h's DecodeRecord.
//
//   EMBER_ASSIGN_OR_RETURN(Record r,
//                          ReadMpkPayload(*file, file, "m.mpk", {}));

#ifndef EMBER_RECORDER_MPK_READER_H_
#define EMBER_RECORDER_MPK_READER_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "recorder/record.h"

namespace ember::recorder::internal {

// Bounds on what one payload may make the reader build.
struct ReaderLimits {
  int max_depth = 64;       // nesting of maps and arrays
  uint64_t max_values = 0;  // tree nodes outside tensor bodies
};

// Parses `payload`, which `owner` keeps alive. Bin tensor bytes become
// views into it (the tensors hold `owner`); old `{value, shape}` numbers are
// packed once. Exceeding `limits` is ResourceExhausted; anything malformed is
// InvalidArgument naming `source`, the record path and the byte offset. Never
// throws except std::bad_alloc.
absl::StatusOr<Record> ReadMpkPayload(absl::string_view payload,
                                      std::shared_ptr<const void> owner,
                                      absl::string_view source,
                                      const ReaderLimits& limits);

// Burn's dtype name ("F32", "BF16", "Bool", ...) to DType.
absl::StatusOr<DType> DTypeFromName(absl::string_view name);

}  // namespace ember::recorder::internal

#endif  // EMBER_RECORDER_MPK_READER_H_
