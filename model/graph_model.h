// A model defined declaratively by the `layers` of its config.pbtxt.
//
// Each layer names its inputs: earlier layers or model inputs by name; with
// none given, the previous layer (the first model input for the first
// layer). References may only point backwards, so the graph cannot have a
// cycle. Each model output takes the value of the layer (or model input)
// with the same name; when there is exactly one output and nothing carries
// its name, it takes the last layer.
//
// Creation validates everything once: the config's inputs and outputs, every
// layer's type, settings and sub-record, and the types and shapes of every
// value end to end (-1 dimensions propagate).
//
//   EMBER_ASSIGN_OR_RETURN(std::unique_ptr<GraphModel> model,
//                          GraphModel::Create(config, record, source));

#ifndef EMBER_MODEL_GRAPH_MODEL_H_
#define EMBER_MODEL_GRAPH_MODEL_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "model/model.h"
#include "model/model_builder.h"
#include "model/modules/module.h"
#include "proto/model_config.pb.h"
#include "recorder/record.h"

namespace ember::model {

// Immutable after Create; Forward is thread-safe.
class GraphModel : public Model {
 public:
  // Errors name `source.config_path`, the layer and the record path.
  static absl::StatusOr<std::unique_ptr<GraphModel>> Create(
      const config::ModelConfig& config, const recorder::Record& record,
      const BuildSource& source);

  const std::vector<TensorSpec>& inputs() const override { return inputs_; }
  const std::vector<TensorSpec>& outputs() const override { return outputs_; }
  absl::StatusOr<std::vector<Tensor>> Forward(
      absl::Span<const Tensor> inputs) const override;
  int64_t parameter_bytes() const override { return parameter_bytes_; }

 private:
  // Values are numbered: model inputs first, then one per layer.
  struct Node {
    std::string name;
    std::string type;
    std::string record_path;
    std::unique_ptr<Module> module;
    std::vector<int> inputs;  // value numbers
    // The module overwrites its input's buffer: nothing reads that buffer
    // (or a view of it) later, and it is neither a model input nor output.
    bool in_place = false;
  };

  // What Create knows about the values defined so far.
  struct Values {
    std::map<std::string, int> by_name;  // value number by name
    std::vector<TensorType> types;       // static type by value number
  };

  // Builds, connects and type-checks one `layers` entry.
  absl::Status AddLayer(const config::Layer& layer,
                        const config::ModelConfig& config,
                        const recorder::Record& record, Values& values);
  // Maps each declared output to a value and checks its type.
  absl::Status ResolveOutputs(const Values& values);
  // Marks the nodes that can run in place (see Node::in_place).
  void PlanInPlace();
  // Logs record parameters that no layer reads.
  void WarnAboutUnusedParameters(const recorder::Record& record) const;

  GraphModel() = default;
  // "config.pbtxt: layer 'fc1' (linear, record path 'fc1' in 1/model.mpk)".
  std::string Where(const Node& node) const;

  std::string config_path_;
  std::string record_file_;
  std::vector<TensorSpec> inputs_;
  std::vector<TensorSpec> outputs_;
  std::vector<Node> nodes_;
  std::vector<int> output_values_;  // value number of each output
  // last_use_[v]: the index of the last node reading value v (-1 if none),
  // so intermediate tensors are released as soon as possible.
  std::vector<int> last_use_;
  int64_t parameter_bytes_ = 0;
};

}  // namespace ember::model

#endif  // EMBER_MODEL_GRAPH_MODEL_H_
