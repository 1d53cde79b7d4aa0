// `ember convert IN OUT [--precision full|half|double]`: rewrites a Burn
// record as Burn's recorder with that precision setting would have written
// it; OUT's extension picks `.mpk` or `.mpk.gz`. Works offline.
//
//   $ ember convert model.mpk model-f16.mpk --precision half
//   wrote model-f16.mpk: half precision, 6 tensors, 9,838 tensor bytes

#ifndef EMBER_CLIENT_COMMANDS_CONVERT_COMMAND_H_
#define EMBER_CLIENT_COMMANDS_CONVERT_COMMAND_H_

#include <memory>
#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "client/commands/arg_parser.h"
#include "client/commands/command.h"

namespace ember::client {

// One invocation of `ember convert`; not thread-safe.
class ConvertCommand : public Command {
 public:
  static constexpr const char* kName = "convert";
  static constexpr const char* kSummary =
      "rewrite a Burn record at another precision or as .mpk/.mpk.gz";
  static constexpr const char* kDescription =
      "Reads a Burn record and writes the record Burn's NamedMpkFileRecorder "
      "(OUT\nending in .mpk) or NamedMpkGzFileRecorder (.mpk.gz) would write "
      "with the\nchosen precision settings: float tensors become "
      "f32/f16/f64, int tensors\ni32/i16/i64, bool tensors stay. A "
      "precision change writes the\n{bytes, shape, dtype} layout that Burn "
      "0.14 and later load; at the record's\nown precision tensors keep their "
      "layout, and with the same format the\nbytes are unchanged. OUT is "
      "replaced atomically.";

  void DefineArgs(ArgParser& args) override;
  absl::Status Validate() override;
  absl::Status Run(std::ostream& out) override;

 private:
  std::string in_;
  std::string out_;
  std::string precision_;
};

std::unique_ptr<Command> MakeConvertCommand();

}  // namespace ember::client

#endif  // EMBER_CLIENT_COMMANDS_CONVERT_COMMAND_H_
