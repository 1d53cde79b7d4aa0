#include "client/commands/convert_command.h"

#include <cstdint>
#include <memory>
#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "recorder/codec.h"
#include "recorder/record.h"

namespace ember::client {

void ConvertCommand::DefineArgs(ArgParser& args) {
  args.AddPositional("IN", &in_, "the record to read (.mpk or .mpk.gz)");
  args.AddPositional("OUT", &out_,
                     "where to write; its extension (.mpk or .mpk.gz) "
                     "picks the recorder");
  args.AddString("precision", "full|half|double", &precision_,
                 "Burn precision setting to store (f32/i32, f16/i16, "
                 "f64/i64); default: the record's own");
  args.AddExample("ember convert model.mpk model-f16.mpk --precision half",
                  "half-precision copy (Burn's CompactRecorder layout)");
  args.AddExample("ember convert old.mpk.gz new.mpk",
                  "same precision, uncompressed; old {value, shape} bodies "
                  "stay as they are");
  args.AddExample("ember convert old.mpk.gz new.mpk --precision full",
                  "f32 TensorData record that Burn 0.14+ loads");
}

absl::Status ConvertCommand::Validate() {
  if (!precision_.empty()) {
    EMBER_RETURN_IF_ERROR(recorder::ParsePrecision(precision_).status());
  }
  return recorder::FormatForPath(out_).status();
}

absl::Status ConvertCommand::Run(std::ostream& out) {
  EMBER_ASSIGN_OR_RETURN(const recorder::RecordFormat format,
                         recorder::FormatForPath(out_));
  EMBER_ASSIGN_OR_RETURN(recorder::Record record,
                         recorder::DecodeRecordFile(in_));
  recorder::Precision precision;
  if (precision_.empty()) {
    EMBER_ASSIGN_OR_RETURN(precision, recorder::RecordPrecision(record));
  } else {
    EMBER_ASSIGN_OR_RETURN(precision, recorder::ParsePrecision(precision_));
  }
  EMBER_ASSIGN_OR_RETURN(recorder::Record converted,
                         recorder::ConvertRecord(record, precision, format));
  EMBER_RETURN_IF_ERROR(recorder::WriteRecordFile(converted, out_, format));
  uint64_t bytes = 0;
  const auto tensors = converted.Tensors();
  for (const recorder::TensorEntry& t : tensors) {
    bytes += t.tensor->bytes.size();
  }
  out << "wrote " << out_ << ": " << recorder::PrecisionName(precision)
      << " precision, " << tensors.size() << " tensors, " << bytes
      << " tensor bytes\n";
  return absl::OkStatus();
}

std::unique_ptr<Command> MakeConvertCommand() {
  return std::make_unique<ConvertCommand>();
}

}  // namespace ember::client
