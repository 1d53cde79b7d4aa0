// `ember inspect FILE [--json]`: what a Burn record holds, read offline.
//
//   $ ember inspect model.mpk
//   burn version  0.18.0
//   settings      HalfPrecisionSettings (float half::binary16::f16, int i16)
//   ...
//
// The text form shows the Burn version, settings, recorder, tensor layout,
// compression, a tree of modules with each parameter's dtype and shape, and
// the totals. `--json` prints one JSON object instead (keys listed in
// InspectCommand::Run's comment and in docs/recorder.md).

#ifndef EMBER_CLIENT_COMMANDS_INSPECT_COMMAND_H_
#define EMBER_CLIENT_COMMANDS_INSPECT_COMMAND_H_

#include <memory>
#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "client/commands/arg_parser.h"
#include "client/commands/command.h"

namespace ember::client {

// One invocation of `ember inspect`; not thread-safe.
class InspectCommand : public Command {
 public:
  static constexpr const char* kName = "inspect";
  static constexpr const char* kSummary =
      "show a Burn record's metadata, module tree and parameters";
  static constexpr const char* kDescription =
      "Reads a Burn record (.mpk or .mpk.gz, any Burn release 0.10-0.21) and "
      "prints\nits Burn version, precision settings, recorder, tensor layout, "
      "compression,\na tree of modules with each parameter's dtype and shape, "
      "and the total\nparameter count and bytes. Works offline.";

  void DefineArgs(ArgParser& args) override;
  // JSON keys: file, burn_version, float, int, format, settings, layout
  // ("tensor_data", "value_shape", "mixed" or "none"), compressed,
  // has_phantom_b, precision, num_tensors, num_parameters, bytes, and
  // tensors: [{path, dtype, shape, num_elements, bytes}] in file order.
  absl::Status Run(std::ostream& out) override;

 private:
  std::string path_;
  bool json_ = false;
};

std::unique_ptr<Command> MakeInspectCommand();

}  // namespace ember::client

#endif  // EMBER_CLIENT_COMMANDS_INSPECT_COMMAND_H_
