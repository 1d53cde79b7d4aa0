// Writes a record tree as the MessagePack Burn writes: canonical compact
// encoding in insertion order (rmp-serde's output), with each tensor spelled
// as its encoding flags say. Internal to the codec; use codec.h's
// EncodeRecord.
//
//   EMBER_ASSIGN_OR_RETURN(std::string bytes, WriteMpkPayload(record.top()));

#ifndef EMBER_RECORDER_MPK_WRITER_H_
#define EMBER_RECORDER_MPK_WRITER_H_

#include <string>

#include "absl/status/statusor.h"
#include "recorder/record.h"

namespace ember::recorder::internal {

// InvalidArgument when a tensor's bytes disagree with its shape and dtype,
// or it cannot be written in its layout (BF16 in {value, shape}, bin over
// 4 GiB). msgpack-cxx may throw std::bad_alloc; the caller catches.
absl::StatusOr<std::string> WriteMpkPayload(const Value& top);

// The same bytes handed to `out` in order: each tensor's bin payload
// straight from the record's buffers, everything between gathered into
// pieces of at most 1 MiB. The first error from `out` is returned.
absl::Status WriteMpkPayloadTo(const Value& top, const ByteSink& out);

}  // namespace ember::recorder::internal

#endif  // EMBER_RECORDER_MPK_WRITER_H_
