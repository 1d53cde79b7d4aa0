// Burn's `Embedding`: a row gather from `weight` [n_embedding, d_model].
//
// The input is an INT64 tensor of ids of any shape; the output appends
// d_model to it. An id outside [0, n_embedding) is an InvalidArgument error
// naming the id and where it was found.
//
//   EMBER_ASSIGN_OR_RETURN(std::unique_ptr<Embedding> embed,
//                          Embedding::Create(record, "embedding"));
//   EMBER_ASSIGN_OR_RETURN(Tensor y, embed->Forward({ids}));  // [B, T, d]

#ifndef EMBER_MODEL_MODULES_EMBEDDING_H_
#define EMBER_MODEL_MODULES_EMBEDDING_H_

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

// Immutable; thread-safe.
class Embedding : public Module {
 public:
  static absl::StatusOr<std::unique_ptr<Embedding>> Create(
      const recorder::Value& record, absl::string_view path);

  absl::StatusOr<TensorType> OutputType(
      absl::Span<const TensorType> inputs) const override;
  absl::StatusOr<Tensor> Forward(
      absl::Span<const Tensor> inputs) const override;
  int64_t parameter_bytes() const override;

 private:
  Embedding() = default;

  std::string path_;
  int64_t count_ = 0;
  int64_t dim_ = 0;
  std::vector<float> weight_;  // [count, dim]
};

}  // namespace ember::model

#endif  // EMBER_MODEL_MODULES_EMBEDDING_H_
