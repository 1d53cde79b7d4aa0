#include "client/commands/predict_command.h"

#include <cmath>
#include <fstream>
#include <iostream>
#include <limits>
#include <map>
#include <sstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "model/model_builder.h"
#include "model/model_dir.h"

namespace ember::client {
namespace {

using model::DataType;
using model::Tensor;
using model::TensorSpec;

absl::StatusOr<std::string> ReadInput(const std::string& path) {
  std::stringstream text;
  if (path == "-") {
    text << std::cin.rdbuf();
    return text.str();
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot open"));
  text << in.rdbuf();
  if (in.bad()) return absl::DataLossError(absl::StrCat(path, ": read error"));
  return text.str();
}

// Appends the numbers of `v` (a number or nested arrays of them) in
// row-major order.
absl::Status Flatten(const json::Value& v, std::vector<const json::Value*>* out,
                     int depth) {
  if (v.is_number()) {
    out->push_back(&v);
    return absl::OkStatus();
  }
  if (!v.is_array() || depth > 64) {
    return absl::InvalidArgumentError(
        "\"data\" must hold numbers (in nested arrays at most 64 deep)");
  }
  for (const json::Value& item : v.array()) {
    EMBER_RETURN_IF_ERROR(Flatten(item, out, depth + 1));
  }
  return absl::OkStatus();
}

absl::StatusOr<Tensor> TensorFromJson(const json::Value& entry,
                                      const TensorSpec& spec) {
  auto bad = [&](absl::string_view what) {
    return absl::InvalidArgumentError(
        absl::StrCat("input '", spec.name, "': ", what));
  };
  if (const json::Value* type = entry.Find("datatype")) {
    if (!type->is_string() ||
        type->string_value() != model::DataTypeName(spec.type)) {
      return bad(
          absl::StrCat("the model takes ", model::DataTypeName(spec.type)));
    }
  }
  const json::Value* shape_json = entry.Find("shape");
  if (shape_json == nullptr || !shape_json->is_array()) {
    return bad("needs \"shape\": a list of dimensions");
  }
  std::vector<int64_t> shape;
  int64_t count = 1;
  constexpr int64_t kMaxElements = int64_t{1} << 40;
  for (const json::Value& d : shape_json->array()) {
    if (!d.is_integer() || d.int_value() < 0 || d.int_value() > kMaxElements) {
      return bad("shape dimensions must be integers >= 0");
    }
    shape.push_back(d.int_value());
    count = d.int_value() == 0 ? 0 : count * d.int_value();
    if (count > kMaxElements) return bad("the shape is too large");
  }
  const json::Value* data = entry.Find("data");
  if (data == nullptr) return bad("needs \"data\"");
  std::vector<const json::Value*> values;
  if (absl::Status s = Flatten(*data, &values, 0); !s.ok()) {
    return bad(s.message());
  }
  if (static_cast<int64_t>(values.size()) != count) {
    return bad(absl::StrCat("shape ", model::ShapeToString(shape), " needs ",
                            count, " values, \"data\" has ", values.size()));
  }
  if (spec.type == DataType::kInt64) {
    std::vector<int64_t> ints;
    for (const json::Value* v : values) {
      if (!v->is_integer() ||
          v->number_kind() == json::Value::NumberKind::kUint) {
        return bad(
            absl::StrCat("INT64 data must be integers, got ", json::Write(*v)));
      }
      ints.push_back(v->int_value());
    }
    return Tensor::FromInt64Vector(std::move(shape), std::move(ints));
  }
  std::vector<float> floats;
  for (const json::Value* v : values) {
    const double x = v->number();
    if (!std::isfinite(x) || std::abs(x) > std::numeric_limits<float>::max()) {
      return bad(absl::StrCat("value ", json::Write(*v), " does not fit FP32"));
    }
    floats.push_back(static_cast<float>(x));
  }
  return Tensor::FromVector(std::move(shape), std::move(floats));
}

}  // namespace

absl::StatusOr<std::vector<Tensor>> TensorsFromJson(
    const json::Value& doc, absl::Span<const TensorSpec> specs) {
  std::vector<const json::Value*> entries;
  if (doc.is_object()) {
    entries.push_back(&doc);
  } else if (doc.is_array()) {
    for (const json::Value& e : doc.array()) entries.push_back(&e);
  }
  for (const json::Value* e : entries) {
    if (!e->is_object()) entries.clear();
  }
  if (entries.empty()) {
    return absl::InvalidArgumentError(
        "the input must be an object {\"name\", \"shape\", \"data\"} or a "
        "non-empty list of them");
  }
  std::map<std::string, const json::Value*> by_name;
  for (const json::Value* e : entries) {
    const json::Value* name = e->Find("name");
    std::string key;
    if (name == nullptr && specs.size() == 1 && entries.size() == 1) {
      key = specs[0].name;
    } else if (name != nullptr && name->is_string()) {
      key = name->string_value();
    } else {
      return absl::InvalidArgumentError(
          "every input tensor needs a \"name\" (it may be left out only "
          "when the model has one input)");
    }
    bool known = false;
    for (const TensorSpec& spec : specs) known |= spec.name == key;
    if (!known) {
      return absl::InvalidArgumentError(
          absl::StrCat("the model has no input '", key, "'"));
    }
    if (!by_name.emplace(key, e).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("input '", key, "' is given twice"));
    }
  }
  std::vector<Tensor> tensors;
  for (const TensorSpec& spec : specs) {
    auto it = by_name.find(spec.name);
    if (it == by_name.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("input '", spec.name, "' is missing"));
    }
    EMBER_ASSIGN_OR_RETURN(Tensor t, TensorFromJson(*it->second, spec));
    tensors.push_back(std::move(t));
  }
  return tensors;
}

json::Value TensorsToJson(absl::Span<const TensorSpec> specs,
                          absl::Span<const Tensor> tensors) {
  json::Value list = json::Value::MakeArray();
  for (size_t i = 0; i < tensors.size() && i < specs.size(); ++i) {
    const Tensor& t = tensors[i];
    json::Value entry = json::Value::MakeObject();
    entry.Set("name", json::Value::String(specs[i].name));
    entry.Set("datatype",
              json::Value::String(std::string(model::DataTypeName(t.type()))));
    json::Value shape = json::Value::MakeArray();
    for (int64_t d : t.shape()) shape.Append(json::Value::Int(d));
    entry.Set("shape", std::move(shape));
    json::Value data = json::Value::MakeArray();
    for (int64_t j = 0; j < t.num_elements(); ++j) {
      data.Append(t.type() == DataType::kInt64
                      ? json::Value::Int(t.data<int64_t>()[j])
                      : json::Value::Float(t.data<float>()[j]));
    }
    entry.Set("data", std::move(data));
    list.Append(std::move(entry));
  }
  return list;
}

void PredictCommand::DefineArgs(ArgParser& args) {
  args.AddString("model-dir", "DIR", &model_dir_,
                 "model directory: config.pbtxt and N/model.mpk[.gz] (or a "
                 "record in DIR)");
  args.AddString("input", "FILE", &input_,
                 "input tensors as JSON; - reads standard input");
  args.AddBool("pretty", &pretty_, "indent the output JSON");
  args.AddExample(
      "ember predict --model-dir models/connect4 --input board.json",
      "Q-values for the board in board.json");
  args.AddExample(
      "echo '{\"shape\":[1,42],\"data\":[...]}' | ember predict "
      "--model-dir models/connect4 --input -",
      "the same, reading the input from standard input");
}

absl::Status PredictCommand::Validate() {
  if (model_dir_.empty()) {
    return absl::InvalidArgumentError("--model-dir is required");
  }
  if (input_.empty()) return absl::InvalidArgumentError("--input is required");
  return absl::OkStatus();
}

absl::Status PredictCommand::Run(std::ostream& out) {
  const std::string config_path = model_dir_ + "/config.pbtxt";
  EMBER_ASSIGN_OR_RETURN(config::ModelConfig config,
                         model::LoadModelConfigFile(config_path));
  EMBER_ASSIGN_OR_RETURN(std::string record_path,
                         model::FindServedRecord(model_dir_, config));
  EMBER_ASSIGN_OR_RETURN(std::shared_ptr<const model::Model> model,
                         model::LoadModel(config, config_path, record_path));

  EMBER_ASSIGN_OR_RETURN(std::string text, ReadInput(input_));
  absl::StatusOr<json::Value> doc = json::Parse(text);
  if (!doc.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(input_, ": ", doc.status().message()));
  }
  EMBER_ASSIGN_OR_RETURN(std::vector<model::Tensor> inputs,
                         TensorsFromJson(*doc, model->inputs()));
  EMBER_RETURN_IF_ERROR(model::CheckInputs(model->inputs(), inputs));
  EMBER_ASSIGN_OR_RETURN(std::vector<model::Tensor> outputs,
                         model->Forward(inputs));
  json::WriteOptions options;
  options.indent = pretty_ ? 2 : 0;
  out << json::Write(TensorsToJson(model->outputs(), outputs), options) << "\n";
  return absl::OkStatus();
}

std::unique_ptr<Command> MakePredictCommand() {
  return std::make_unique<PredictCommand>();
}

}  // namespace ember::client
