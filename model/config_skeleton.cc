#include "model/config_skeleton.h"

#include <cstdint>
#include <set>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "model/modules/params.h"

namespace ember::model {
namespace {

using recorder::Value;

// One line group of the skeleton: a layer, or a note about a nil field or
// an unrecognised module.
struct Entry {
  std::string path;
  std::string type;                    // empty for notes
  std::vector<uint64_t> weight_shape;  // the shape the dims are read from
  std::vector<std::string> lines;      // comments and settings, indented
};

const Value* TensorAt(const Value& module, absl::string_view key) {
  const Value* v = module.Find(key);
  return v != nullptr && v->is_tensor() ? v : nullptr;
}

bool HasKey(const Value& module, absl::string_view key) {
  return module.Find(key) != nullptr;
}

bool IsLstm(const Value& v) {
  return v.is_map() && HasKey(v, "input_gate") && HasKey(v, "forget_gate") &&
         HasKey(v, "output_gate") && HasKey(v, "cell_gate");
}

std::vector<uint64_t> LstmInputShape(const Value& lstm) {
  const Value* w = lstm.FindPath("input_gate.input_transform.weight");
  if (w == nullptr || !w->is_tensor()) return {};
  return w->tensor().shape;
}

// The layer type `module` looks like, or "" when it is not recognised.
std::string Classify(const Value& module, std::vector<uint64_t>* shape) {
  if (IsLstm(module)) {
    *shape = LstmInputShape(module);
    return "lstm";
  }
  const Value* forward = module.Find("forward");
  const Value* reverse = module.Find("reverse");
  if (forward != nullptr && reverse != nullptr && IsLstm(*forward) &&
      IsLstm(*reverse)) {
    *shape = LstmInputShape(*forward);
    return "bilstm";
  }
  if (const Value* gamma = TensorAt(module, "gamma")) {
    *shape = gamma->tensor().shape;
    if (TensorAt(module, "running_mean") && TensorAt(module, "running_var")) {
      return "batch_norm";
    }
    if (HasKey(module, "num_groups") || HasKey(module, "affine")) {
      return "group_norm";
    }
    return "layer_norm";
  }
  if (HasKey(module, "num_groups") && HasKey(module, "affine")) {
    return "group_norm";  // without affine parameters
  }
  if (const Value* weight = TensorAt(module, "weight")) {
    *shape = weight->tensor().shape;
    switch (shape->size()) {
      case 2:
        return HasKey(module, "bias") ? "linear" : "embedding";
      case 3:
        return "conv1d";
      case 4:
        return "conv2d";
    }
  }
  return "";
}

std::vector<std::string> SettingsLines(const std::string& type) {
  if (type == "conv2d" || type == "conv1d") {
    return {
        "# FILL IN: stride, padding, dilation and groups are not in the "
        "record.",
        "# Defaults: stride 1, padding \"valid\", dilation 1, groups 1.",
        "# settings { key: \"padding\" value: \"valid\" }  "
        "# or \"same\", \"p\", \"h,w\", \"top,left,bottom,right\"",
        "# settings { key: \"stride\" value: \"1\" }"};
  }
  if (type == "batch_norm" || type == "layer_norm") {
    return {
        "# settings { key: \"epsilon\" value: \"1e-5\" }  # Burn's "
        "default"};
  }
  if (type == "group_norm") {
    return {"settings { key: \"num_groups\" value: \"FILL IN\" }  # FILL IN"};
  }
  if (type == "lstm" || type == "bilstm") {
    return {
        "# settings { key: \"batch_first\" value: \"true\" }  # Burn's "
        "default"};
  }
  return {};
}

void Walk(const Value& node, const std::string& path, bool has_parameters,
          std::vector<Entry>* out);

// True when `v` holds a parameter anywhere below.
bool HoldsParameters(const Value& v) {
  if (v.is_tensor()) return true;
  if (v.is_map()) {
    for (const auto& [k, child] : v.map()) {
      if (HoldsParameters(child)) return true;
    }
  }
  if (v.is_array()) {
    for (const Value& child : v.array()) {
      if (HoldsParameters(child)) return true;
    }
  }
  return false;
}

void WalkChildren(const Value& node, const std::string& path,
                  std::vector<Entry>* out) {
  if (node.is_array()) {
    for (size_t i = 0; i < node.array().size(); ++i) {
      Walk(node.array()[i], IndexRecordPath(path, i), true, out);
    }
    return;
  }
  std::vector<std::string> direct;
  for (const auto& [key, child] : node.map()) {
    const std::string child_path = JoinRecordPath(path, key);
    if (child.is_nil()) {
      out->push_back(
          {child_path,
           "",
           {},
           {absl::StrCat("# FILL IN: '", child_path,
                         "' holds no parameters (an activation, pool, "
                         "dropout or setting?):"),
            "# add its layer where the forward pass uses it, or drop this "
            "note."}});
    } else if (child.is_tensor()) {
      direct.push_back(key);
    } else {
      Walk(child, child_path, HoldsParameters(child), out);
    }
  }
  if (!direct.empty()) {
    out->push_back(
        {path,
         "",
         {},
         {absl::StrCat("# FILL IN: '", path.empty() ? "(root)" : path,
                       "' holds parameters (", absl::StrJoin(direct, ", "),
                       ") of a module no layer type covers:"),
          "# it needs a compiled architecture."}});
  }
}

void Walk(const Value& node, const std::string& path, bool has_parameters,
          std::vector<Entry>* out) {
  if (!has_parameters) return;
  if (node.is_map()) {
    std::vector<uint64_t> shape;
    std::string type = Classify(node, &shape);
    if (!type.empty()) {
      out->push_back({path, type, shape, SettingsLines(type)});
      return;
    }
  }
  if (node.is_map() || node.is_array()) WalkChildren(node, path, out);
}

std::string LayerName(const std::string& path, std::set<std::string>* used) {
  std::string name;
  for (char c : path) {
    if (c == '.' || c == '[') {
      name += '_';
    } else if (c != ']') {
      name += c;
    }
  }
  if (name.empty()) name = "layer";
  std::string unique = name;
  for (int i = 2; !used->insert(unique).second; ++i) {
    unique = absl::StrCat(name, "_", i);
  }
  return unique;
}

std::string Dims(std::vector<int64_t> dims) {
  return absl::StrCat("[", absl::StrJoin(dims, ", "), "]");
}

// The model input a first layer of `type` suggests.
std::string InputLine(const Entry* first) {
  std::string datatype = "FP32", shape = "[-1, -1]", note = "name and shape";
  if (first != nullptr) {
    const std::vector<uint64_t>& w = first->weight_shape;
    const int64_t d = w.size() >= 2 ? static_cast<int64_t>(w[1]) : -1;
    const int64_t d0 = w.empty() ? -1 : static_cast<int64_t>(w[0]);
    if (first->type == "linear") {
      shape = Dims({-1, d0});
      note = "name";
    } else if (first->type == "embedding") {
      datatype = "INT64";
      note = "name; ids [batch, sequence]";
    } else if (first->type == "conv2d") {
      shape = Dims({-1, d, -1, -1});
      note = "name, height, width (channels = weight dim 1 x groups)";
    } else if (first->type == "conv1d") {
      shape = Dims({-1, d, -1});
      note = "name, length";
    } else if (first->type == "lstm" || first->type == "bilstm") {
      shape = Dims({-1, -1, d0});
      note = "name";
    }
  }
  return absl::StrCat("input { name: \"input\" datatype: ", datatype,
                      " shape: ", shape, " }  # FILL IN: ", note);
}

std::string OutputLine(const Entry* last) {
  std::string shape = "[-1, -1]", note = "name and shape";
  if (last != nullptr && last->type == "linear") {
    shape = Dims({-1, static_cast<int64_t>(last->weight_shape[1])});
    note = "name";
  }
  return absl::StrCat("output { name: \"output\" datatype: FP32 shape: ", shape,
                      " }  # FILL IN: ", note);
}

// The compiled architecture whose record layout `item` has, or "".
std::string MatchingArchitecture(const Value& item) {
  std::vector<uint64_t> unused;
  const Value* in = item.Find("linear_in");
  const Value* out = item.Find("linear_out");
  if (in != nullptr && out != nullptr && in->is_map() && out->is_map() &&
      Classify(*in, &unused) == "linear" &&
      Classify(*out, &unused) == "linear") {
    return "burn_book_mlp";
  }
  const Value* cell = item.FindPath("stacked_lstm.layers[0]");
  if (cell != nullptr && cell->is_map() && HasKey(*cell, "weight_ih") &&
      HasKey(*cell, "weight_hh") && HasKey(*cell, "norm_x") &&
      item.Find("fc") != nullptr) {
    return "modern_lstm";
  }
  return "";
}

}  // namespace

absl::StatusOr<std::string> ConfigSkeleton(const recorder::Record& record,
                                           absl::string_view source) {
  const Value& item = record.item();
  if (!item.is_map()) {
    return absl::InvalidArgumentError(
        absl::StrCat(source,
                     ": the record has no module tree ('item' is not "
                     "a map)"));
  }
  std::vector<Entry> entries;
  WalkChildren(item, "", &entries);

  const Entry* first = nullptr;
  const Entry* last = nullptr;
  for (const Entry& e : entries) {
    if (e.type.empty()) continue;
    if (first == nullptr) first = &e;
    last = &e;
  }
  const recorder::Metadata meta = record.metadata();
  std::string text = absl::StrCat(
      "# Skeleton generated from ", source, " (Burn ",
      meta.version.empty() ? "version unknown" : meta.version, ", ",
      meta.settings.empty() ? "settings unknown" : meta.settings, ").\n",
      "# The record holds parameters only. Check the layer order against "
      "the\n# model's forward pass, add activations, pooling, reshapes and "
      "skips where it\n# has them, and resolve every FILL IN. Layer types "
      "and settings:\n# docs/model.md.\n",
      InputLine(first), "\n", OutputLine(last), "\n");
  const std::string architecture = MatchingArchitecture(item);
  if (!architecture.empty()) {
    absl::StrAppend(
        &text, "# The record has the layout of the compiled architecture '",
        architecture,
        "'.\n# To serve it that way, replace every layers "
        "entry below with:\n# architecture: \"",
        architecture, "\"\n");
  }
  std::set<std::string> used = {"input", "output"};
  for (const Entry& e : entries) {
    if (e.type.empty()) {
      for (const std::string& line : e.lines)
        absl::StrAppend(&text, line, "\n");
      continue;
    }
    const std::string head =
        absl::StrCat("name: \"", LayerName(e.path, &used), "\" type: \"",
                     e.type, "\" record_path: \"", e.path, "\"");
    if (e.lines.empty()) {
      absl::StrAppend(&text, "layers { ", head, " }\n");
      continue;
    }
    absl::StrAppend(&text, "layers {\n  ", head, "\n");
    for (const std::string& line : e.lines) {
      absl::StrAppend(&text, "  ", line, "\n");
    }
    absl::StrAppend(&text, "}\n");
  }
  if (first == nullptr) {
    absl::StrAppend(&text,
                    "# FILL IN: no module of a known layer type was found; "
                    "this record needs a\n# compiled architecture "
                    "(architecture: \"...\").\n");
  }
  return text;
}

}  // namespace ember::model
