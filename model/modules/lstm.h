// Burn's `Lstm` and `BiLstm` at inference.
//
// Record layout (burn-core `nn::lstm`): `input_gate`, `forget_gate`,
// `output_gate`, `cell_gate`, each a GateController
// {input_transform: Linear [d_input, d_hidden],
//  hidden_transform: Linear [d_hidden, d_hidden]}. Each step computes
//   i = σ(x·Wi + h·Ui + b), f = σ(...), o = σ(...), g = tanh(...)
//   c' = f ⊙ c + i ⊙ g,  h' = o ⊙ tanh(c')
// from zero initial state. The module's output is the hidden state of every
// step. A BiLstm record is {forward: Lstm, reverse: Lstm}; its output
// concatenates both directions along the feature axis, forward first, with
// the reverse direction run from the last step to the first.
//
//   EMBER_ASSIGN_OR_RETURN(std::unique_ptr<Lstm> lstm,
//                          Lstm::Create(record, "lstm", {}));
//   EMBER_ASSIGN_OR_RETURN(Tensor h, lstm->Forward({x}));  // [B, T, H]

#ifndef EMBER_MODEL_MODULES_LSTM_H_
#define EMBER_MODEL_MODULES_LSTM_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "model/modules/module.h"
#include "recorder/record.h"

namespace ember::model {

struct LstmOptions {
  // Input [batch, time, features] (Burn's default) or [time, batch,
  // features]; the output uses the same order.
  bool batch_first = true;
  // Run from the last step to the first (Burn 0.20's `reverse`).
  bool reverse = false;
};

// Immutable; thread-safe.
class Lstm : public Module {
 public:
  static absl::StatusOr<std::unique_ptr<Lstm>> Create(
      const recorder::Value& record, absl::string_view path,
      const LstmOptions& options);

  int64_t d_input() const { return d_input_; }
  int64_t d_hidden() const { return d_hidden_; }

  // Runs over `x` ([batch, time, d_input], batch-major whatever
  // `batch_first` says) and writes the hidden state of step t, for sample b,
  // at out[(b · time + t) · out_stride + out_offset ...+ d_hidden].
  // `reverse` overrides the option (BiLstm's second direction).
  void Run(const float* x, int64_t batch, int64_t time, bool reverse,
           float* out, int64_t out_stride, int64_t out_offset) const;

  absl::StatusOr<TensorType> OutputType(
      absl::Span<const TensorType> inputs) const override;
  absl::StatusOr<Tensor> Forward(
      absl::Span<const Tensor> inputs) const override;
  int64_t parameter_bytes() const override;

 private:
  Lstm() = default;

  std::string path_;
  LstmOptions options_;
  int64_t d_input_ = 0;
  int64_t d_hidden_ = 0;
  // Gates side by side in the order i, f, g (cell), o.
  std::vector<float> input_weight_;   // [d_input, 4·d_hidden]
  std::vector<float> hidden_weight_;  // [d_hidden, 4·d_hidden]
  std::vector<float> bias_;           // [4·d_hidden], both biases summed
};

// Immutable; thread-safe.
class BiLstm : public Module {
 public:
  // `options.reverse` must be false.
  static absl::StatusOr<std::unique_ptr<BiLstm>> Create(
      const recorder::Value& record, absl::string_view path,
      const LstmOptions& options);

  absl::StatusOr<TensorType> OutputType(
      absl::Span<const TensorType> inputs) const override;
  absl::StatusOr<Tensor> Forward(
      absl::Span<const Tensor> inputs) const override;
  int64_t parameter_bytes() const override;

 private:
  BiLstm() = default;

  bool batch_first_ = true;
  std::unique_ptr<Lstm> forward_;
  std::unique_ptr<Lstm> reverse_;
};

// Copies x [time, batch, f] to [batch, time, f] (or back: the operation is
// its own inverse with batch and time swapped).
std::vector<float> SwapLeadingAxes(const float* x, int64_t a, int64_t b,
                                   int64_t f);

}  // namespace ember::model

#endif  // EMBER_MODEL_MODULES_LSTM_H_
