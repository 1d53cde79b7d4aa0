#include "model/architectures/modern_lstm.h"

#include <cmath>
#include <optional>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "model/config_specs.h"
#include "model/modules/activation.h"
#include "model/modules/linear.h"
#include "model/modules/norm.h"
#include "model/modules/params.h"

namespace ember::model {
namespace {

absl::Status ShapeMismatch(absl::string_view path, absl::string_view what,
                           int64_t got, int64_t want) {
  return absl::InvalidArgumentError(absl::StrCat("record path '", path,
                                                 "': ", what, " is ", got,
                                                 " but the cell needs ", want));
}

// One layer-normalised cell. Immutable; thread-safe.
class Cell {
 public:
  static absl::StatusOr<Cell> Create(const recorder::Value& record,
                                     const std::string& path, int64_t d_input) {
    Cell cell;
    std::unique_ptr<Linear>* linears[2] = {&cell.weight_ih_, &cell.weight_hh_};
    const char* linear_keys[2] = {"weight_ih", "weight_hh"};
    for (int i = 0; i < 2; ++i) {
      EMBER_ASSIGN_OR_RETURN(const recorder::Value* sub,
                             FindSubModule(record, path, linear_keys[i]));
      EMBER_ASSIGN_OR_RETURN(
          *linears[i],
          Linear::Create(*sub, JoinRecordPath(path, linear_keys[i])));
    }
    std::unique_ptr<LayerNorm>* norms[3] = {&cell.norm_x_, &cell.norm_h_,
                                            &cell.norm_c_};
    const char* norm_keys[3] = {"norm_x", "norm_h", "norm_c"};
    for (int i = 0; i < 3; ++i) {
      EMBER_ASSIGN_OR_RETURN(const recorder::Value* sub,
                             FindSubModule(record, path, norm_keys[i]));
      EMBER_ASSIGN_OR_RETURN(
          *norms[i],
          LayerNorm::Create(*sub, JoinRecordPath(path, norm_keys[i]), {}));
    }

    const int64_t h = cell.weight_hh_->d_input();
    cell.hidden_ = h;
    const std::string ih = JoinRecordPath(path, "weight_ih.weight");
    const std::string hh = JoinRecordPath(path, "weight_hh.weight");
    if (cell.weight_ih_->d_input() != d_input) {
      return ShapeMismatch(ih, "d_input", cell.weight_ih_->d_input(), d_input);
    }
    if (cell.weight_ih_->d_output() != 4 * h) {
      return ShapeMismatch(ih, "d_output", cell.weight_ih_->d_output(), 4 * h);
    }
    if (cell.weight_hh_->d_output() != 4 * h) {
      return ShapeMismatch(hh, "d_output", cell.weight_hh_->d_output(), 4 * h);
    }
    const int64_t norm_sizes[3] = {4 * h, h, h};
    for (int i = 0; i < 3; ++i) {
      if ((*norms[i])->size() != norm_sizes[i]) {
        return ShapeMismatch(
            JoinRecordPath(JoinRecordPath(path, norm_keys[i]), "gamma"),
            "the size", (*norms[i])->size(), norm_sizes[i]);
      }
    }
    return cell;
  }

  int64_t hidden() const { return hidden_; }

  // One step for `batch` rows of input `x`; updates the slots `s1`, `s2`
  // ([batch, H] each) and leaves the value passed on (c) in `s2`.
  void Step(const float* x, int64_t batch, std::vector<float>& s1,
            std::vector<float>& s2) const {
    const int64_t h = hidden_;
    std::vector<float> gates(batch * 4 * h), recurrent(batch * 4 * h);
    weight_ih_->Apply(x, batch, gates.data());
    norm_x_->ApplyRows(gates.data(), batch);
    weight_hh_->Apply(s2.data(), batch, recurrent.data());
    std::vector<float> c(batch * h), hidden(batch * h);
    for (int64_t b = 0; b < batch; ++b) {
      const float* g = gates.data() + b * 4 * h;
      const float* r = recurrent.data() + b * 4 * h;
      for (int64_t j = 0; j < h; ++j) {
        const float i_gate = Sigmoid(g[j] + r[j]);
        const float f_gate = Sigmoid(g[h + j] + r[h + j]);
        const float g_gate = std::tanh(g[2 * h + j] + r[2 * h + j]);
        c[b * h + j] = f_gate * s1[b * h + j] + i_gate * g_gate;
      }
    }
    norm_c_->ApplyRows(c.data(), batch);
    for (int64_t b = 0; b < batch; ++b) {
      const float* g = gates.data() + b * 4 * h;
      const float* r = recurrent.data() + b * 4 * h;
      for (int64_t j = 0; j < h; ++j) {
        const float o_gate = Sigmoid(g[3 * h + j] + r[3 * h + j]);
        hidden[b * h + j] = o_gate * std::tanh(c[b * h + j]);
      }
    }
    norm_h_->ApplyRows(hidden.data(), batch);
    s1 = std::move(hidden);
    s2 = std::move(c);
  }

  int64_t parameter_bytes() const {
    return weight_ih_->parameter_bytes() + weight_hh_->parameter_bytes() +
           norm_x_->parameter_bytes() + norm_h_->parameter_bytes() +
           norm_c_->parameter_bytes();
  }

 private:
  int64_t hidden_ = 0;
  std::unique_ptr<Linear> weight_ih_;
  std::unique_ptr<Linear> weight_hh_;
  std::unique_ptr<LayerNorm> norm_x_;
  std::unique_ptr<LayerNorm> norm_h_;
  std::unique_ptr<LayerNorm> norm_c_;
};

// A stack of cells; each keeps its own slots across time.
class Stack {
 public:
  static absl::StatusOr<Stack> Create(const recorder::Value& record,
                                      const std::string& path,
                                      int64_t d_input) {
    EMBER_ASSIGN_OR_RETURN(const recorder::Value* unused,
                           FindSubModule(record, "", path));
    (void)unused;
    const recorder::Value* layers = record.FindPath(path + ".layers");
    const std::string layers_path = path + ".layers";
    if (layers == nullptr || !layers->is_array() || layers->array().empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("record path '", layers_path,
                       "': expected a non-empty array of "
                       "cells"));
    }
    Stack stack;
    int64_t in = d_input;
    for (size_t k = 0; k < layers->array().size(); ++k) {
      EMBER_ASSIGN_OR_RETURN(Cell cell,
                             Cell::Create(layers->array()[k],
                                          IndexRecordPath(layers_path, k), in));
      if (k > 0 && cell.hidden() != stack.cells_[0].hidden()) {
        return ShapeMismatch(
            IndexRecordPath(layers_path, k) + ".weight_hh.weight",
            "the hidden size", cell.hidden(), stack.cells_[0].hidden());
      }
      in = cell.hidden();
      stack.cells_.push_back(std::move(cell));
    }
    return stack;
  }

  int64_t hidden() const { return cells_[0].hidden(); }

  // Feeds the `steps` time steps of x [batch, time, d_in] at t = first,
  // first + delta, ... and returns the stack's output [batch, H] after the
  // last of them.
  std::vector<float> Run(const float* x, int64_t batch, int64_t time,
                         int64_t d_in, int64_t first, int64_t delta,
                         int64_t steps) const {
    const int64_t h = hidden();
    std::vector<std::vector<float>> s1(cells_.size(),
                                       std::vector<float>(batch * h, 0.0f));
    std::vector<std::vector<float>> s2 = s1;
    std::vector<float> step_input(batch * d_in);
    for (int64_t n = 0, t = first; n < steps; ++n, t += delta) {
      for (int64_t b = 0; b < batch; ++b) {
        std::copy_n(x + (b * time + t) * d_in, d_in,
                    step_input.data() + b * d_in);
      }
      const float* v = step_input.data();
      for (size_t k = 0; k < cells_.size(); ++k) {
        cells_[k].Step(v, batch, s1[k], s2[k]);
        v = s2[k].data();
      }
    }
    return s2.back();
  }

  int64_t parameter_bytes() const {
    int64_t bytes = 0;
    for (const Cell& cell : cells_) bytes += cell.parameter_bytes();
    return bytes;
  }

 private:
  std::vector<Cell> cells_;
};

// Immutable after construction; Forward is thread-safe.
class ModernLstm : public CompiledModel {
 public:
  ModernLstm(Stack forward, std::optional<Stack> reverse,
             std::unique_ptr<Linear> fc, int64_t d_input)
      : forward_(std::move(forward)),
        reverse_(std::move(reverse)),
        fc_(std::move(fc)),
        d_input_(d_input) {}

  absl::StatusOr<std::vector<Tensor>> Forward(
      absl::Span<const Tensor> inputs) const override {
    EMBER_RETURN_IF_ERROR(CheckInputs(this->inputs(), inputs));
    const Tensor& x = inputs[0];
    const int64_t batch = x.dim(0), time = x.dim(1);
    if (time < 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("input '", this->inputs()[0].name, "' ", x.ShapeString(),
                       ": the sequence needs at least one step"));
    }
    const int64_t h = forward_.hidden();
    const int64_t directions = reverse_.has_value() ? 2 : 1;
    std::vector<float> features(batch * directions * h);
    std::vector<float> last =
        forward_.Run(x.data<float>(), batch, time, d_input_, 0, 1, time);
    for (int64_t b = 0; b < batch; ++b) {
      std::copy_n(last.data() + b * h, h, features.data() + b * directions * h);
    }
    if (reverse_.has_value()) {
      // Reversed back into time order, the reverse stack's value at T-1 is
      // its output after its first step, which has seen only x[T-1].
      std::vector<float> first = reverse_->Run(x.data<float>(), batch, time,
                                               d_input_, time - 1, -1, 1);
      for (int64_t b = 0; b < batch; ++b) {
        std::copy_n(first.data() + b * h, h,
                    features.data() + b * directions * h + h);
      }
    }
    Tensor y =
        Tensor::Uninitialized(DataType::kFloat32, {batch, fc_->d_output()});
    fc_->Apply(features.data(), batch, y.mutable_data<float>());
    return std::vector<Tensor>{y};
  }

  int64_t parameter_bytes() const override {
    return forward_.parameter_bytes() +
           (reverse_.has_value() ? reverse_->parameter_bytes() : 0) +
           fc_->parameter_bytes();
  }

 private:
  Stack forward_;
  std::optional<Stack> reverse_;
  std::unique_ptr<Linear> fc_;
  int64_t d_input_;
};

absl::StatusOr<std::shared_ptr<const Model>> Build(
    const config::ModelConfig& config, const recorder::Record& record,
    const BuildSource& source) {
  const recorder::Value& item = record.item();
  EMBER_RETURN_IF_ERROR(CheckModuleRecord(item, ""));
  // The input size is layer 0's weight_ih d_input.
  const recorder::Value* first_weight =
      item.FindPath("stacked_lstm.layers[0].weight_ih.weight");
  if (first_weight == nullptr || !first_weight->is_tensor() ||
      first_weight->tensor().shape.size() != 2) {
    return absl::InvalidArgumentError(
        "record path 'stacked_lstm.layers[0].weight_ih.weight': expected a "
        "rank-2 parameter");
  }
  const int64_t d_input = first_weight->tensor().shape[0];
  EMBER_ASSIGN_OR_RETURN(Stack forward,
                         Stack::Create(item, "stacked_lstm", d_input));
  std::optional<Stack> reverse;
  const recorder::Value* reverse_record = item.Find("reverse_lstm");
  if (reverse_record != nullptr && !reverse_record->is_nil()) {
    EMBER_ASSIGN_OR_RETURN(reverse,
                           Stack::Create(item, "reverse_lstm", d_input));
    if (reverse->hidden() != forward.hidden()) {
      return ShapeMismatch("reverse_lstm.layers[0].weight_hh.weight",
                           "the hidden size", reverse->hidden(),
                           forward.hidden());
    }
  }
  EMBER_ASSIGN_OR_RETURN(const recorder::Value* fc_record,
                         FindSubModule(item, "", "fc"));
  EMBER_ASSIGN_OR_RETURN(std::unique_ptr<Linear> fc,
                         Linear::Create(*fc_record, "fc"));
  const int64_t features = forward.hidden() * (reverse.has_value() ? 2 : 1);
  if (fc->d_input() != features) {
    return ShapeMismatch("fc.weight", "d_input", fc->d_input(), features);
  }
  const int64_t d_output = fc->d_output();
  auto model = std::make_shared<ModernLstm>(
      std::move(forward), std::move(reverse), std::move(fc), d_input);
  EMBER_RETURN_IF_ERROR(
      model->ResolveIo(config, source.config_path,
                       {{"sequence", DataType::kFloat32, {-1, -1, d_input}}},
                       {{"prediction", DataType::kFloat32, {-1, d_output}}}));
  return std::shared_ptr<const Model>(std::move(model));
}

}  // namespace

absl::StatusOr<std::shared_ptr<const Model>> BuildModernLstm(
    const config::ModelConfig& config, const recorder::Record& record,
    const BuildSource& source) {
  absl::StatusOr<std::shared_ptr<const Model>> model =
      Build(config, record, source);
  if (model.ok()) return model;
  const absl::Status& s = model.status();
  // Spec errors already name the config file.
  if (absl::StartsWith(s.message(), source.config_path)) return s;
  return absl::Status(
      s.code(),
      absl::StrCat(source.config_path, ": architecture 'modern_lstm' on ",
                   source.record_path, ": ", s.message()));
}

}  // namespace ember::model
