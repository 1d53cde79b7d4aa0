// `ember infer MODEL --input NAME=FILE [--input ...] [--output NAME ...]
// [--version N] [--json]`: runs one inference request on a server.
//
// FILE is JSON ({"shape": [...], "data": [...]}, optional "datatype"), a
// NumPy .npy array, or `-` for stdin (either format). Inputs are converted
// to the datatype the model declares, so a uint8 image .npy feeds an FP32
// input. Output, as a table:
//
//   $ ember infer connect4 --input board=board.json
//   model connect4, version 1
//
//   q_values  FP32  [1, 7]
//     [0]  0.05404022  0.14255219  0.1933103  0.17730945  0.21758976 ...
//
// `--json` prints {"model_name", "model_version", "id", "outputs": [...]},
// each output in the input format, so outputs can be fed back in.

#ifndef EMBER_CLIENT_COMMANDS_INFER_COMMAND_H_
#define EMBER_CLIENT_COMMANDS_INFER_COMMAND_H_

#include <istream>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "client/commands/arg_parser.h"
#include "client/commands/command.h"
#include "client/commands/server_command.h"

namespace ember::client {

// One invocation of `ember infer`; not thread-safe.
class InferCommand : public Command {
 public:
  static constexpr const char* kName = "infer";
  static constexpr const char* kSummary =
      "run inference on a served model with tensors from JSON or .npy files";
  static constexpr const char* kDescription =
      "Sends one inference request. Each --input NAME=FILE gives a model "
      "input:\nFILE is JSON ({\"shape\": [2, 42], \"data\": [...]} with an "
      "optional\n\"datatype\"; nested \"data\" arrays need no shape), a "
      "NumPy .npy array (C\norder; f2 f4 f8 i1 i2 i4 i8 u1 u2 u4 u8 b1), or "
      "- to read either from\nstdin. Inputs are converted to the datatype "
      "the model declares. Prints\nevery output (or those named with "
      "--output) as a table, or as JSON in the\nsame format as the input "
      "files.";

  // Reads `-` inputs from `in` (std::cin by default).
  explicit InferCommand(std::istream& in);

  void DefineArgs(ArgParser& args) override;
  absl::Status Validate() override;
  absl::Status Run(std::ostream& out) override;

 private:
  std::istream& in_;
  ServerFlags server_;
  std::string model_;
  std::vector<std::string> inputs_;
  std::vector<std::string> outputs_;
  std::string version_;
  bool json_ = false;
};

std::unique_ptr<Command> MakeInferCommand();

}  // namespace ember::client

#endif  // EMBER_CLIENT_COMMANDS_INFER_COMMAND_H_
