#include "client/commands/infer_command.h"

#include <iostream>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "client/commands/tensor_file.h"
#include "common/json.h"
#include "common/status_macros.h"

namespace ember::client {
namespace {

using TensorMetadata = inference::ModelMetadataResponse::TensorMetadata;

// Prints one output: a header line, then one line per row of the last
// dimension, led by the indices of the dimensions before it.
void PrintTensor(const Tensor& tensor, std::ostream& out) {
  out << "\n"
      << tensor.name << "  " << tensor.datatype << "  ["
      << absl::StrJoin(tensor.shape, ", ") << "]\n";
  if (tensor.datatype == "BYTES") {
    const json::Value doc = TensorToJson(tensor);
    out << "  " << json::Write(*doc.Find("data")) << "\n";
    return;
  }
  const int64_t count = tensor.ElementCount();
  const int64_t row = tensor.shape.empty() ? 1 : tensor.shape.back();
  if (count <= 0 || row <= 0) return;
  for (int64_t start = 0; start < count; start += row) {
    std::string line = "  ";
    if (tensor.shape.size() > 1) {
      std::vector<int64_t> index(tensor.shape.size() - 1);
      int64_t rest = start / row;
      for (int d = static_cast<int>(index.size()) - 1; d >= 0; --d) {
        index[d] = rest % tensor.shape[d];
        rest /= tensor.shape[d];
      }
      absl::StrAppend(&line, "[", absl::StrJoin(index, ", "), "]  ");
    }
    for (int64_t i = start; i < start + row; ++i) {
      absl::StrAppend(&line, i > start ? "  " : "", ElementText(tensor, i));
    }
    out << line << "\n";
  }
}

}  // namespace

InferCommand::InferCommand(std::istream& in) : in_(in) {}

void InferCommand::DefineArgs(ArgParser& args) {
  args.AddPositional("MODEL", &model_, "model name");
  args.AddStringList("input", "NAME=FILE", &inputs_,
                     "an input tensor from a .json or .npy file, or - for "
                     "stdin");
  args.AddStringList("output", "NAME", &outputs_,
                     "return only this output (default: all)");
  args.AddString("version", "N", &version_,
                 "model version (default: the highest ready one)");
  args.AddBool("json", &json_, "print the result as JSON");
  server_.Define(args);
  args.AddExample("ember infer connect4 --input board=board.json",
                  "Q-values for the boards in board.json");
  args.AddExample(
      "python3 -c 'import numpy as n; n.save(\"x.npy\", n.zeros((1, 42), "
      "\"f4\"))'\n  ember infer connect4 --input board=x.npy --json",
      "the same from a NumPy array, as JSON");
  args.AddExample(
      "echo '{\"data\": [[0, 0, 1]]}' | ember infer m --input x=- "
      "--output y",
      "an input from stdin; only output y");
}

absl::Status InferCommand::Validate() {
  EMBER_RETURN_IF_ERROR(server_.Validate());
  if (inputs_.empty()) {
    return absl::InvalidArgumentError("give at least one --input NAME=FILE");
  }
  std::set<std::string> names;
  int from_stdin = 0;
  for (const std::string& spec : inputs_) {
    const size_t eq = spec.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--input takes NAME=FILE (e.g. board=board.json), not \"", spec,
          "\""));
    }
    if (!names.insert(spec.substr(0, eq)).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("input ", spec.substr(0, eq), " is given twice"));
    }
    if (spec.substr(eq + 1) == "-") ++from_stdin;
  }
  if (from_stdin > 1) {
    return absl::InvalidArgumentError("only one input can come from stdin");
  }
  return absl::OkStatus();
}

absl::Status InferCommand::Run(std::ostream& out) {
  EMBER_ASSIGN_OR_RETURN(std::unique_ptr<EmberClient> client,
                         server_.Connect());
  // The model's declared inputs decide each tensor's datatype.
  absl::StatusOr<inference::ModelMetadataResponse> metadata =
      client->ModelMetadata(model_, version_);
  if (!metadata.ok()) return ServerError(metadata.status());

  std::vector<Tensor> tensors;
  for (const std::string& spec : inputs_) {
    const size_t eq = spec.find('=');
    const std::string name = spec.substr(0, eq);
    const TensorMetadata* declared = nullptr;
    std::vector<std::string> known;
    for (const TensorMetadata& input : metadata->inputs()) {
      known.push_back(input.name());
      if (input.name() == name) declared = &input;
    }
    if (declared == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("model ", model_, " has no input '", name,
                       "' (its inputs: ", absl::StrJoin(known, ", "), ")"));
    }
    EMBER_ASSIGN_OR_RETURN(
        Tensor tensor,
        ReadTensorFile(name, spec.substr(eq + 1), in_, declared->datatype()));
    if (!declared->datatype().empty()) {
      EMBER_ASSIGN_OR_RETURN(tensor,
                             ConvertTensor(tensor, declared->datatype()));
    }
    tensors.push_back(std::move(tensor));
  }

  InferOptions options;
  options.model_version = version_;
  for (const std::string& name : outputs_) options.outputs.push_back({name});
  absl::StatusOr<InferResult> result = client->Infer(model_, tensors, options);
  if (!result.ok()) return ServerError(result.status());

  if (json_) {
    json::Value doc = json::Value::MakeObject();
    doc.Set("model_name", json::Value::String(result->model_name));
    doc.Set("model_version", json::Value::String(result->model_version));
    doc.Set("id", json::Value::String(result->request_id));
    json::Value list = json::Value::MakeArray();
    for (const Tensor& tensor : result->outputs) {
      list.Append(TensorToJson(tensor));
    }
    doc.Set("outputs", std::move(list));
    out << json::Write(doc) << "\n";
    return absl::OkStatus();
  }
  out << "model " << result->model_name << ", version " << result->model_version
      << "\n";
  for (const Tensor& tensor : result->outputs) PrintTensor(tensor, out);
  return absl::OkStatus();
}

std::unique_ptr<Command> MakeInferCommand() {
  return std::make_unique<InferCommand>(std::cin);
}

}  // namespace ember::client
