// `ember metadata MODEL [--version N] [--json]`: a model's versions,
// inputs and outputs, as the server reports them.
//
//   $ ember metadata connect4
//   model     connect4
//   versions  1
//   platform  ember
//
//   INPUT   DATATYPE  SHAPE
//   board   FP32      [-1, 42]
//
//   OUTPUT    DATATYPE  SHAPE
//   q_values  FP32      [-1, 7]

#ifndef EMBER_CLIENT_COMMANDS_METADATA_COMMAND_H_
#define EMBER_CLIENT_COMMANDS_METADATA_COMMAND_H_

#include <memory>
#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "client/commands/arg_parser.h"
#include "client/commands/command.h"
#include "client/commands/server_command.h"

namespace ember::client {

// One invocation of `ember metadata`; not thread-safe.
class MetadataCommand : public Command {
 public:
  static constexpr const char* kName = "metadata";
  static constexpr const char* kSummary =
      "show a served model's versions, inputs and outputs";
  static constexpr const char* kDescription =
      "Prints a model's versions and platform and each input and output "
      "tensor\nwith its datatype and shape (-1 marks a dimension of any "
      "size, usually the\nbatch).";

  void DefineArgs(ArgParser& args) override;
  absl::Status Validate() override { return server_.Validate(); }
  // JSON keys: name, versions, platform, inputs and outputs as
  // [{name, datatype, shape}].
  absl::Status Run(std::ostream& out) override;

 private:
  ServerFlags server_;
  std::string model_;
  std::string version_;
  bool json_ = false;
};

std::unique_ptr<Command> MakeMetadataCommand();

}  // namespace ember::client

#endif  // EMBER_CLIENT_COMMANDS_METADATA_COMMAND_H_
