// Burn's `modern-lstm` example as a compiled architecture ("modern_lstm"):
// a stack of custom LSTM cells with layer normalisation, optionally
// bidirectional, followed by a Linear head on the last time step.
//
// Record layout:
//   stacked_lstm.layers[k]  cells, forward in time
//   reverse_lstm.layers[k]  cells for the reversed sequence, or nil
//   fc                      Linear [directions · hidden, output]
// Each cell holds weight_ih Linear [in, 4H], weight_hh Linear [H, 4H] and
// LayerNorms norm_x [4H], norm_h [H], norm_c [H] (ε = 1e-5).
//
// One cell step, with state slots S1 and S2 (both zero at t = 0) and gate
// blocks in the order i, f, g, o:
//   gates = LN_x(x·W_ih + b_ih) + S2·W_hh + b_hh
//   c = LN_c(σ(f) ⊙ S1 + σ(i) ⊙ tanh(g));  h = LN_h(σ(o) ⊙ tanh(c))
//   S1 ← h, S2 ← c, and the cell passes c on.
// This slot order is what the example's code does (its state struct is
// filled in the opposite order of its constructor's parameters); the
// weights were trained with it, and the textbook order predicts badly.
//
// The output is fc([forward stack's output at T-1 ++ reverse stack's output
// after its first step]); the reverse stack's first step sees only x[T-1].
// Default specs: input "sequence" FP32 [-1, -1, d_in], output "prediction"
// FP32 [-1, d_out].
//
//   config.pbtxt:  architecture: "modern_lstm"

#ifndef EMBER_MODEL_ARCHITECTURES_MODERN_LSTM_H_
#define EMBER_MODEL_ARCHITECTURES_MODERN_LSTM_H_

#include <memory>

#include "absl/status/statusor.h"
#include "model/model.h"
#include "model/model_builder.h"
#include "proto/model_config.pb.h"
#include "recorder/record.h"

namespace ember::model {

// An ArchitectureFactory. Fails when a cell or the head is missing or any
// two shapes disagree, naming the record paths and shapes.
absl::StatusOr<std::shared_ptr<const Model>> BuildModernLstm(
    const config::ModelConfig& config, const recorder::Record& record,
    const BuildSource& source);

}  // namespace ember::model

#endif  // EMBER_MODEL_ARCHITECTURES_MODERN_LSTM_H_
