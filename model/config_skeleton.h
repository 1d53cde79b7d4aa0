// A starting config.pbtxt for a Burn record (`ember config-skeleton`).
//
// A record holds parameters only, so the skeleton lists the modules it can
// recognise from their keys and shapes, in record order, each as a layer
// with its record path:
//
//   weight [in, out] + bias key            -> linear
//   weight [n, d] without a bias key       -> embedding
//   weight [out, in/groups, k]             -> conv1d
//   weight [out, in/groups, kh, kw]        -> conv2d
//   gamma, beta, running_mean, running_var -> batch_norm
//   gamma (+ beta) with num_groups         -> group_norm
//   gamma (+ beta) otherwise               -> layer_norm
//   input_gate, forget_gate, ... (4 gates) -> lstm
//   forward + reverse LSTMs                -> bilstm
//
// Everything the record cannot carry is marked "# FILL IN": the input and
// output names and shapes it could not infer, conv and pool settings, and
// every nil field (activations, pools, dropout), whose layers must be placed
// where the model's forward pass uses them. The text parses as a
// ModelConfig as is.
//
//   EMBER_ASSIGN_OR_RETURN(std::string text,
//                          ConfigSkeleton(record, "model.mpk"));

#ifndef EMBER_MODEL_CONFIG_SKELETON_H_
#define EMBER_MODEL_CONFIG_SKELETON_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "recorder/record.h"

namespace ember::model {

// `source` names the record in the header comment. Fails when the record
// has no module tree (`item` is not a map).
absl::StatusOr<std::string> ConfigSkeleton(const recorder::Record& record,
                                           absl::string_view source);

}  // namespace ember::model

#endif  // EMBER_MODEL_CONFIG_SKELETON_H_
