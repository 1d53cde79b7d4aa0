// The Burn book's example model as a compiled architecture
// ("burn_book_mlp"):
//
//   struct Model { linear_in: Linear, linear_out: Linear, activation: Relu }
//   forward(x) = linear_out(relu(linear_in(x)))
//
// Dimensions come from the record (the book uses 10 -> 64 -> 2). Default
// specs: input "input" FP32 [-1, d_in], output "output" FP32 [-1, d_out].
//
//   config.pbtxt:  architecture: "burn_book_mlp"

#ifndef EMBER_MODEL_ARCHITECTURES_BURN_BOOK_MLP_H_
#define EMBER_MODEL_ARCHITECTURES_BURN_BOOK_MLP_H_

#include <memory>

#include "absl/status/statusor.h"
#include "model/model.h"
#include "model/model_builder.h"
#include "proto/model_config.pb.h"
#include "recorder/record.h"

namespace ember::model {

// An ArchitectureFactory. Fails when `linear_in` or `linear_out` is missing
// or their dimensions disagree (naming both record paths and shapes).
absl::StatusOr<std::shared_ptr<const Model>> BuildBurnBookMlp(
    const config::ModelConfig& config, const recorder::Record& record,
    const BuildSource& source);

}  // namespace ember::model

#endif  // EMBER_MODEL_ARCHITECTURES_BURN_BOOK_MLP_H_
