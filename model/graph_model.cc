#include "model/graph_model.h"

#include <map>
#include <set>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "glog/logging.h"
#include "model/config_specs.h"
#include "model/layer_factory.h"

namespace ember::model {
namespace {

absl::Status Prefixed(const absl::Status& status, absl::string_view where) {
  return absl::Status(status.code(),
                      absl::StrCat(where, ": ", status.message()));
}

// True when the tensor at `tensor_path` lies inside the sub-record `path`.
bool IsInside(absl::string_view tensor_path, absl::string_view path) {
  if (!absl::StartsWith(tensor_path, path)) return false;
  if (tensor_path.size() == path.size()) return true;
  char next = tensor_path[path.size()];
  return next == '.' || next == '[';
}

}  // namespace

std::string GraphModel::Where(const Node& node) const {
  std::string where =
      absl::StrCat(config_path_, ": layer '", node.name, "' (", node.type);
  if (!node.record_path.empty()) {
    absl::StrAppend(&where, ", record path '", node.record_path, "'");
    if (!record_file_.empty()) absl::StrAppend(&where, " in ", record_file_);
  }
  absl::StrAppend(&where, ")");
  return where;
}

absl::StatusOr<std::unique_ptr<GraphModel>> GraphModel::Create(
    const config::ModelConfig& config, const recorder::Record& record,
    const BuildSource& source) {
  std::unique_ptr<GraphModel> model(new GraphModel());
  model->config_path_ = source.config_path;
  model->record_file_ = source.record_path;
  const std::string& path = source.config_path;
  EMBER_ASSIGN_OR_RETURN(model->inputs_,
                         SpecsFromConfig(config.input(), "input", path));
  EMBER_ASSIGN_OR_RETURN(model->outputs_,
                         SpecsFromConfig(config.output(), "output", path));
  if (model->inputs_.empty() || model->outputs_.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": a model needs at least one input and one output"));
  }
  if (config.layers().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": no layers and no architecture: set one of them"));
  }

  Values values;
  for (const TensorSpec& spec : model->inputs_) {
    values.by_name[spec.name] = values.types.size();
    values.types.push_back({spec.type, spec.shape});
  }
  for (const config::Layer& layer : config.layers()) {
    EMBER_RETURN_IF_ERROR(model->AddLayer(layer, config, record, values));
  }
  EMBER_RETURN_IF_ERROR(model->ResolveOutputs(values));

  model->last_use_.assign(values.types.size(), -1);
  for (size_t i = 0; i < model->nodes_.size(); ++i) {
    for (int v : model->nodes_[i].inputs) model->last_use_[v] = i;
  }
  model->PlanInPlace();
  model->WarnAboutUnusedParameters(record);
  return model;
}

absl::Status GraphModel::AddLayer(const config::Layer& layer,
                                  const config::ModelConfig& config,
                                  const recorder::Record& record,
                                  Values& values) {
  Node node;
  node.name = layer.name();
  node.type = layer.type();
  node.record_path = layer.record_path();
  if (node.name.empty()) {
    node.name = absl::StrCat("#", nodes_.size());
    return absl::InvalidArgumentError(
        absl::StrCat(Where(node), ": every layer needs a name"));
  }
  const std::string where = Where(node);
  if (values.by_name.count(node.name) > 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        where,
        ": the name is already used by an earlier layer or a model "
        "input"));
  }

  absl::StatusOr<std::unique_ptr<Module>> module =
      CreateLayerModule(layer, record.item());
  if (!module.ok()) return Prefixed(module.status(), where);
  node.module = std::move(*module);

  // Inputs: the previous value by default, else names defined earlier.
  if (layer.inputs().empty()) {
    node.inputs.push_back(nodes_.empty() ? 0 : values.types.size() - 1);
  }
  for (const std::string& input : layer.inputs()) {
    auto it = values.by_name.find(input);
    if (it == values.by_name.end()) {
      bool later = false;
      for (const config::Layer& other : config.layers()) {
        later |= other.name() == input;
      }
      return absl::InvalidArgumentError(absl::StrCat(
          where, ": input '", input, "' ",
          later ? "is this layer or a later one (a cycle): inputs must "
                  "come before the layer"
                : "is neither an earlier layer nor a model input"));
    }
    node.inputs.push_back(it->second);
  }
  const int arity = node.module->num_inputs();
  const int given = node.inputs.size();
  if ((arity >= 0 && given != arity) || (arity < 0 && given < 2)) {
    return absl::InvalidArgumentError(absl::StrCat(
        where, ": takes ", arity < 0 ? "two or more" : absl::StrCat(arity),
        " input(s), got ", given));
  }

  std::vector<TensorType> in_types;
  for (int v : node.inputs) in_types.push_back(values.types[v]);
  absl::StatusOr<TensorType> out = node.module->OutputType(in_types);
  if (!out.ok()) return Prefixed(out.status(), where);

  values.by_name[node.name] = values.types.size();
  values.types.push_back(*out);
  parameter_bytes_ += node.module->parameter_bytes();
  nodes_.push_back(std::move(node));
  return absl::OkStatus();
}

absl::Status GraphModel::ResolveOutputs(const Values& values) {
  for (const TensorSpec& spec : outputs_) {
    int value;
    auto it = values.by_name.find(spec.name);
    if (it != values.by_name.end()) {
      value = it->second;
    } else if (outputs_.size() == 1) {
      value = values.types.size() - 1;
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          config_path_, ": output '", spec.name,
          "' names no layer; with several outputs each must be named like "
          "the layer it returns"));
    }
    const TensorType& type = values.types[value];
    if (!TypeFitsSpec(type, spec)) {
      return absl::InvalidArgumentError(
          absl::StrCat(config_path_, ": output '", spec.name, "' is declared ",
                       DataTypeName(spec.type), ShapeToString(spec.shape),
                       " but the graph produces ", TypeToString(type)));
    }
    output_values_.push_back(value);
  }
  return absl::OkStatus();
}

void GraphModel::WarnAboutUnusedParameters(
    const recorder::Record& record) const {
  // Parameters no layer reads usually mean a config that skips a layer.
  std::vector<std::string> unused;
  for (const recorder::TensorEntry& entry : record.Tensors()) {
    bool used = false;
    for (const Node& node : nodes_) {
      used |=
          !node.record_path.empty() && IsInside(entry.path, node.record_path);
    }
    if (!used) unused.push_back(entry.path);
  }
  if (!unused.empty()) {
    LOG(WARNING) << config_path_ << ": " << unused.size()
                 << " record parameter(s) are used by no layer, e.g. '"
                 << unused.front() << "' (record " << record_file_ << ")";
  }
}

void GraphModel::PlanInPlace() {
  const int num_inputs = inputs_.size();
  std::set<int> outputs(output_values_.begin(), output_values_.end());
  // root[v]: the value whose buffer v shares (itself when it owns one).
  std::vector<int> root(num_inputs + nodes_.size());
  for (int v = 0; v < num_inputs; ++v) root[v] = v;
  for (size_t i = 0; i < nodes_.size(); ++i) {
    Node& node = nodes_[i];
    const int out = num_inputs + i;
    root[out] = out;
    if (node.inputs.size() != 1) continue;
    const int r = root[node.inputs[0]];
    if (node.module->OutputAliasesInput()) {
      root[out] = r;
      continue;
    }
    if (!node.module->CanApplyInPlace() || r < num_inputs) continue;
    bool free = true;
    for (int u = 0; u < out && free; ++u) {
      if (root[u] != r) continue;
      free = outputs.count(u) == 0 && last_use_[u] <= static_cast<int>(i);
    }
    if (free) {
      node.in_place = true;
      root[out] = r;
    }
  }
}

absl::StatusOr<std::vector<Tensor>> GraphModel::Forward(
    absl::Span<const Tensor> inputs) const {
  EMBER_RETURN_IF_ERROR(CheckInputs(inputs_, inputs));
  std::vector<Tensor> values(inputs_.size() + nodes_.size());
  std::copy(inputs.begin(), inputs.end(), values.begin());
  std::set<int> keep(output_values_.begin(), output_values_.end());

  std::vector<Tensor> args;
  std::vector<TensorType> arg_types;
  for (size_t i = 0; i < nodes_.size(); ++i) {
    const Node& node = nodes_[i];
    args.clear();
    arg_types.clear();
    for (int v : node.inputs) {
      args.push_back(values[v]);
      arg_types.push_back(TensorType::Of(values[v]));
    }
    // Dimensions unknown at build time (the batch, a sequence length) are
    // checked here, so a module only ever sees inputs it accepts.
    absl::Status status = node.module->OutputType(arg_types).status();
    if (status.ok() && node.in_place) {
      // The planner proved no one else reads this buffer.
      args.clear();
      Tensor t = std::move(values[node.inputs[0]]);
      values[node.inputs[0]] = Tensor();
      node.module->ApplyInPlace(t);
      values[inputs_.size() + i] = std::move(t);
    } else if (status.ok()) {
      absl::StatusOr<Tensor> out = node.module->Forward(args);
      status = out.status();
      if (out.ok()) values[inputs_.size() + i] = std::move(*out);
    }
    if (!status.ok()) return Prefixed(status, Where(node));
    for (int v : node.inputs) {
      if (last_use_[v] == static_cast<int>(i) && keep.count(v) == 0) {
        values[v] = Tensor();
      }
    }
  }

  std::vector<Tensor> outputs;
  for (size_t o = 0; o < outputs_.size(); ++o) {
    const Tensor& out = values[output_values_[o]];
    if (!TypeFitsSpec(TensorType::Of(out), outputs_[o])) {
      return absl::InvalidArgumentError(
          absl::StrCat(config_path_, ": output '", outputs_[o].name,
                       "' came out as ", TypeToString(TensorType::Of(out)),
                       ", declared ", ShapeToString(outputs_[o].shape)));
    }
    outputs.push_back(out);
  }
  return outputs;
}

}  // namespace ember::model
