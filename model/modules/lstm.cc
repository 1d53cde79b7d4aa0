#include "model/modules/lstm.h"

#include <cmath>
#include <optional>
#include <utility>

#include "Eigen/Core"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "model/modules/activation.h"
#include "model/modules/params.h"

namespace ember::model {
namespace {

using RowMatrix =
    Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// The gate sub-records in the column order of the packed weights.
constexpr const char* kGates[4] = {"input_gate", "forget_gate", "cell_gate",
                                   "output_gate"};

// Copies `src` [rows, h] into columns [gate·h, (gate+1)·h) of `dst`
// [rows, 4h].
void PackColumns(const std::vector<float>& src, int64_t rows, int64_t h,
                 int gate, std::vector<float>* dst) {
  for (int64_t r = 0; r < rows; ++r) {
    std::copy_n(src.data() + r * h, h, dst->data() + r * 4 * h + gate * h);
  }
}

absl::Status CheckSequenceInput(const TensorType& in, int64_t d_input,
                                absl::string_view what) {
  if (in.type == DataType::kFloat32 && in.shape.size() == 3 &&
      (in.shape[2] < 0 || in.shape[2] == d_input)) {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(
      absl::StrCat("input ", TypeToString(in), " does not fit ", what,
                   ": expected FP32 [batch, time, ", d_input, "]"));
}

// Burn >= 0.20 records the activations an Lstm was configured with, as an
// enum map such as {"Sigmoid": nil}. Only the standard choice is computed
// here; anything else must fail loudly rather than give wrong numbers.
absl::Status CheckRecordedActivation(const recorder::Value& record,
                                     absl::string_view path,
                                     absl::string_view key,
                                     absl::string_view expected) {
  const recorder::Value* v = record.Find(key);
  if (v == nullptr || v->is_nil()) return absl::OkStatus();
  std::string name;
  if (v->is_map() && v->map().size() == 1) {
    name = v->map()[0].first;
  } else if (v->type() == recorder::Value::Type::kString) {
    name = v->string_value();
  }
  if (name == expected) return absl::OkStatus();
  return absl::UnimplementedError(
      absl::StrCat("record path '", JoinRecordPath(path, key),
                   "': activation '", name.empty() ? "(unreadable)" : name,
                   "' is not supported; only ", expected, " is"));
}

}  // namespace

std::vector<float> SwapLeadingAxes(const float* x, int64_t a, int64_t b,
                                   int64_t f) {
  std::vector<float> out(a * b * f);
  for (int64_t i = 0; i < a; ++i) {
    for (int64_t j = 0; j < b; ++j) {
      std::copy_n(x + (i * b + j) * f, f, out.data() + (j * a + i) * f);
    }
  }
  return out;
}

absl::StatusOr<std::unique_ptr<Lstm>> Lstm::Create(
    const recorder::Value& record, absl::string_view path,
    const LstmOptions& options) {
  EMBER_RETURN_IF_ERROR(CheckModuleRecord(record, path));
  EMBER_RETURN_IF_ERROR(
      CheckRecordedActivation(record, path, "gate_activation", "Sigmoid"));
  EMBER_RETURN_IF_ERROR(
      CheckRecordedActivation(record, path, "cell_activation", "Tanh"));
  EMBER_RETURN_IF_ERROR(
      CheckRecordedActivation(record, path, "hidden_activation", "Tanh"));
  std::unique_ptr<Lstm> lstm(new Lstm());
  lstm->path_ = std::string(path);
  lstm->options_ = options;
  for (int gate = 0; gate < 4; ++gate) {
    std::string gate_path = JoinRecordPath(path, kGates[gate]);
    EMBER_ASSIGN_OR_RETURN(const recorder::Value* gate_record,
                           FindSubModule(record, path, kGates[gate]));
    EMBER_ASSIGN_OR_RETURN(
        const recorder::Value* input_record,
        FindSubModule(*gate_record, gate_path, "input_transform"));
    EMBER_ASSIGN_OR_RETURN(
        const recorder::Value* hidden_record,
        FindSubModule(*gate_record, gate_path, "hidden_transform"));
    std::string input_path = JoinRecordPath(gate_path, "input_transform");
    std::string hidden_path = JoinRecordPath(gate_path, "hidden_transform");
    EMBER_ASSIGN_OR_RETURN(Param wx,
                           LoadParam(*input_record, input_path, "weight", 2));
    EMBER_ASSIGN_OR_RETURN(Param wh,
                           LoadParam(*hidden_record, hidden_path, "weight", 2));
    if (gate == 0) {
      lstm->d_input_ = wx.dim(0);
      lstm->d_hidden_ = wx.dim(1);
      const int64_t h = lstm->d_hidden_;
      if (!wx.shape_only) {
        lstm->input_weight_.assign(lstm->d_input_ * 4 * h, 0.0f);
        lstm->hidden_weight_.assign(h * 4 * h, 0.0f);
        lstm->bias_.assign(4 * h, 0.0f);
      }
    }
    const int64_t d = lstm->d_input_, h = lstm->d_hidden_;
    std::string reference = absl::StrCat(
        "'", JoinRecordPath(path, "input_gate.input_transform.weight"), "' [",
        d, ", ", h, "]");
    EMBER_RETURN_IF_ERROR(CheckParamShape(wx, {d, h}, reference));
    EMBER_RETURN_IF_ERROR(CheckParamShape(wh, {h, h}, reference));
    if (!wx.shape_only) {
      PackColumns(wx.values, d, h, gate, &lstm->input_weight_);
      PackColumns(wh.values, h, h, gate, &lstm->hidden_weight_);
    }
    for (const auto& [sub, sub_path] :
         {std::pair{input_record, input_path},
          std::pair{hidden_record, hidden_path}}) {
      EMBER_ASSIGN_OR_RETURN(std::optional<Param> bias,
                             LoadOptionalParam(*sub, sub_path, "bias", 1));
      if (!bias.has_value()) continue;
      EMBER_RETURN_IF_ERROR(CheckParamShape(*bias, {h}, reference));
      if (bias->shape_only) continue;
      for (int64_t i = 0; i < h; ++i) {
        lstm->bias_[gate * h + i] += bias->values[i];
      }
    }
  }
  return lstm;
}

void Lstm::Run(const float* x, int64_t batch, int64_t time, bool reverse,
               float* out, int64_t out_stride, int64_t out_offset) const {
  const int64_t h = d_hidden_;
  // Input projections of every step at once: [batch·time, 4h].
  RowMatrix projected(batch * time, 4 * h);
  projected.noalias() =
      Eigen::Map<const RowMatrix>(x, batch * time, d_input_) *
      Eigen::Map<const RowMatrix>(input_weight_.data(), d_input_, 4 * h);
  projected.rowwise() +=
      Eigen::Map<const Eigen::RowVectorXf>(bias_.data(), 4 * h);

  Eigen::Map<const RowMatrix> hidden_weight(hidden_weight_.data(), h, 4 * h);
  RowMatrix state_h = RowMatrix::Zero(batch, h);
  RowMatrix state_c = RowMatrix::Zero(batch, h);
  RowMatrix gates(batch, 4 * h);
  for (int64_t step = 0; step < time; ++step) {
    const int64_t t = reverse ? time - 1 - step : step;
    gates.noalias() = state_h * hidden_weight;
    for (int64_t b = 0; b < batch; ++b) {
      const float* p = projected.data() + (b * time + t) * 4 * h;
      float* g = gates.data() + b * 4 * h;
      float* c = state_c.data() + b * h;
      float* hs = state_h.data() + b * h;
      float* o = out + (b * time + t) * out_stride + out_offset;
      for (int64_t i = 0; i < h; ++i) {
        const float in_gate = Sigmoid(g[i] + p[i]);
        const float forget = Sigmoid(g[h + i] + p[h + i]);
        const float cell = std::tanh(g[2 * h + i] + p[2 * h + i]);
        const float output = Sigmoid(g[3 * h + i] + p[3 * h + i]);
        c[i] = forget * c[i] + in_gate * cell;
        hs[i] = output * std::tanh(c[i]);
        o[i] = hs[i];
      }
    }
  }
}

absl::StatusOr<TensorType> Lstm::OutputType(
    absl::Span<const TensorType> inputs) const {
  EMBER_RETURN_IF_ERROR(CheckSequenceInput(
      inputs[0], d_input_,
      absl::StrCat("lstm '", path_, "' (input_transform weight [", d_input_,
                   ", ", d_hidden_, "])")));
  TensorType out = inputs[0];
  out.shape[2] = d_hidden_;
  return out;
}

absl::StatusOr<Tensor> Lstm::Forward(absl::Span<const Tensor> inputs) const {
  const Tensor& x = inputs[0];
  const int64_t a = x.dim(0), b = x.dim(1);
  std::vector<int64_t> shape = {a, b, d_hidden_};
  Tensor y = Tensor::Uninitialized(DataType::kFloat32, shape);
  if (options_.batch_first) {
    Run(x.data<float>(), a, b, options_.reverse, y.mutable_data<float>(),
        d_hidden_, 0);
    return y;
  }
  // [time, batch, f]: run batch-major, then swap back.
  std::vector<float> xb = SwapLeadingAxes(x.data<float>(), a, b, d_input_);
  std::vector<float> hb(a * b * d_hidden_);
  Run(xb.data(), b, a, options_.reverse, hb.data(), d_hidden_, 0);
  std::vector<float> ht = SwapLeadingAxes(hb.data(), b, a, d_hidden_);
  std::copy(ht.begin(), ht.end(), y.mutable_data<float>());
  return y;
}

int64_t Lstm::parameter_bytes() const {
  return (input_weight_.size() + hidden_weight_.size() + bias_.size()) *
         sizeof(float);
}

absl::StatusOr<std::unique_ptr<BiLstm>> BiLstm::Create(
    const recorder::Value& record, absl::string_view path,
    const LstmOptions& options) {
  if (options.reverse) {
    return absl::InvalidArgumentError(
        absl::StrCat("bilstm '", path, "' has no 'reverse' setting"));
  }
  LstmOptions batch_major;  // the directions always run batch-major
  std::unique_ptr<BiLstm> bilstm(new BiLstm());
  bilstm->batch_first_ = options.batch_first;
  for (const char* key : {"forward", "reverse"}) {
    EMBER_ASSIGN_OR_RETURN(const recorder::Value* sub,
                           FindSubModule(record, path, key));
    EMBER_ASSIGN_OR_RETURN(
        std::unique_ptr<Lstm> lstm,
        Lstm::Create(*sub, JoinRecordPath(path, key), batch_major));
    (key[0] == 'f' ? bilstm->forward_ : bilstm->reverse_) = std::move(lstm);
  }
  const Lstm& f = *bilstm->forward_;
  const Lstm& r = *bilstm->reverse_;
  if (f.d_input() != r.d_input() || f.d_hidden() != r.d_hidden()) {
    return absl::InvalidArgumentError(
        absl::StrCat("record path '", path, "': forward is [", f.d_input(),
                     " -> ", f.d_hidden(), "] but reverse is [", r.d_input(),
                     " -> ", r.d_hidden(), "]"));
  }
  return bilstm;
}

absl::StatusOr<TensorType> BiLstm::OutputType(
    absl::Span<const TensorType> inputs) const {
  EMBER_ASSIGN_OR_RETURN(TensorType out, forward_->OutputType(inputs));
  out.shape[2] = 2 * forward_->d_hidden();
  return out;
}

absl::StatusOr<Tensor> BiLstm::Forward(absl::Span<const Tensor> inputs) const {
  const Tensor& x = inputs[0];
  const int64_t h = forward_->d_hidden();
  const int64_t d = forward_->d_input();
  int64_t batch = x.dim(0), time = x.dim(1);
  std::vector<float> swapped;
  const float* xb = x.data<float>();
  if (!batch_first_) {
    std::swap(batch, time);
    swapped = SwapLeadingAxes(xb, time, batch, d);
    xb = swapped.data();
  }
  std::vector<float> out(batch * time * 2 * h);
  forward_->Run(xb, batch, time, false, out.data(), 2 * h, 0);
  reverse_->Run(xb, batch, time, true, out.data(), 2 * h, h);
  if (!batch_first_) out = SwapLeadingAxes(out.data(), batch, time, 2 * h);
  return Tensor::FromVector({x.dim(0), x.dim(1), 2 * h}, std::move(out));
}

int64_t BiLstm::parameter_bytes() const {
  return forward_->parameter_bytes() + reverse_->parameter_bytes();
}

}  // namespace ember::model
