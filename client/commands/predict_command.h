// `ember predict --model-dir DIR --input FILE`: runs one model directory
// offline, without a server, through the same path the daemon serves
// requests with (LoadModel, CheckInputs, Forward); only the JSON reading and
// writing is particular to this command.
//
//   $ ember predict --model-dir models/connect4 --input board.json
//   [{"name":"q_values","datatype":"FP32","shape":[1,7],"data":[...]}]
//
// DIR holds config.pbtxt and a record: the highest numbered version
// directory's model.mpk / model.mpk.gz (or config.record_file), else a
// record directly in DIR. The input file ("-" for stdin) is one JSON object
// {"name": ..., "shape": [...], "data": [...]} or a list of them; "name"
// may be left out when the model has one input, "datatype" may be given and
// must then match, and "data" may be nested (it is read row-major). The
// output is a list of such objects, one per model output, in the model's
// order.

#ifndef EMBER_CLIENT_COMMANDS_PREDICT_COMMAND_H_
#define EMBER_CLIENT_COMMANDS_PREDICT_COMMAND_H_

#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "client/commands/arg_parser.h"
#include "client/commands/command.h"
#include "common/json.h"
#include "model/model.h"
#include "model/tensor.h"

namespace ember::client {

// One invocation of `ember predict`; not thread-safe.
class PredictCommand : public Command {
 public:
  static constexpr const char* kName = "predict";
  static constexpr const char* kSummary =
      "run a model directory on JSON inputs, offline";
  static constexpr const char* kDescription =
      "Loads a model directory (config.pbtxt and the record of its highest "
      "version)\nexactly as emberd does, runs one inference on the tensors "
      "in the input JSON\nand prints the outputs as JSON. Input: "
      "{\"name\", \"shape\", \"data\"} or a list of\nsuch objects; output: a "
      "list of {\"name\", \"datatype\", \"shape\", \"data\"}.";

  void DefineArgs(ArgParser& args) override;
  absl::Status Validate() override;
  absl::Status Run(std::ostream& out) override;

 private:
  std::string model_dir_;
  std::string input_;
  bool pretty_ = false;
};

std::unique_ptr<Command> MakePredictCommand();

// The model's inputs, in `specs` order, from the parsed input JSON. Errors
// name the tensor and what is wrong (missing, unknown or repeated name,
// shape and data count, a value that is not a number or not an integer).
absl::StatusOr<std::vector<model::Tensor>> TensorsFromJson(
    const json::Value& doc, absl::Span<const model::TensorSpec> specs);

// The output list printed by the command.
json::Value TensorsToJson(absl::Span<const model::TensorSpec> specs,
                          absl::Span<const model::Tensor> tensors);

}  // namespace ember::client

#endif  // EMBER_CLIENT_COMMANDS_PREDICT_COMMAND_H_
