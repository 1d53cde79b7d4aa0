// Burn's normalisation modules at inference: BatchNorm, LayerNorm and
// GroupNorm.
//
// Epsilons and GroupNorm's group count are not in the record (their fields
// are nil); they come from the options, with Burn's defaults.
//
//   EMBER_ASSIGN_OR_RETURN(std::unique_ptr<LayerNorm> norm,
//                          LayerNorm::Create(record, "norm_x", {}));
//   norm->ApplyRows(data, rows);  // in place, over the last axis

#ifndef EMBER_MODEL_MODULES_NORM_H_
#define EMBER_MODEL_MODULES_NORM_H_

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

struct NormOptions {
  double epsilon = 1e-5;   // Burn's default for every norm
  int64_t num_groups = 0;  // GroupNorm only; required there
};

// Batch normalisation with the running statistics (inference mode):
// y = (x - running_mean) / sqrt(running_var + ε) · gamma + beta over axis 1
// of an input [batch, channels, ...]. Record keys: gamma, beta,
// running_mean, running_var, each [channels]. Immutable; thread-safe.
class BatchNorm : public Module {
 public:
  static absl::StatusOr<std::unique_ptr<BatchNorm>> Create(
      const recorder::Value& record, absl::string_view path,
      const NormOptions& options);

  absl::StatusOr<TensorType> OutputType(
      absl::Span<const TensorType> inputs) const override;
  absl::StatusOr<Tensor> Forward(
      absl::Span<const Tensor> inputs) const override;
  int64_t parameter_bytes() const override;

 private:
  BatchNorm() = default;

  std::string path_;
  // Folded parameters: y = x · scale + shift per channel.
  std::vector<float> scale_;
  std::vector<float> shift_;
  int64_t channels_ = 0;
  int64_t recorded_bytes_ = 0;
};

// Layer normalisation over the last axis with the biased variance:
// y = (x - mean) / sqrt(var + ε) · gamma + beta. Record keys: gamma [d],
// beta [d] (optional since Burn 0.20). Immutable; thread-safe.
class LayerNorm : public Module {
 public:
  static absl::StatusOr<std::unique_ptr<LayerNorm>> Create(
      const recorder::Value& record, absl::string_view path,
      const NormOptions& options);

  int64_t size() const { return size_; }

  // Normalises `rows` rows of size() floats in place.
  void ApplyRows(float* data, int64_t rows) const;

  absl::StatusOr<TensorType> OutputType(
      absl::Span<const TensorType> inputs) const override;
  absl::StatusOr<Tensor> Forward(
      absl::Span<const Tensor> inputs) const override;
  int64_t parameter_bytes() const override;

 private:
  LayerNorm() = default;

  std::string path_;
  double epsilon_ = 1e-5;
  int64_t size_ = 0;  // d
  std::vector<float> gamma_;
  std::vector<float> beta_;  // empty when the record has none
};

// Group normalisation of an input [batch, channels, ...]: channels are split
// into num_groups groups, each normalised over its channels and all further
// axes (biased variance), then scaled per channel when the record has gamma
// and beta (Burn's `affine`). Immutable; thread-safe.
class GroupNorm : public Module {
 public:
  static absl::StatusOr<std::unique_ptr<GroupNorm>> Create(
      const recorder::Value& record, absl::string_view path,
      const NormOptions& options);

  absl::StatusOr<TensorType> OutputType(
      absl::Span<const TensorType> inputs) const override;
  absl::StatusOr<Tensor> Forward(
      absl::Span<const Tensor> inputs) const override;
  int64_t parameter_bytes() const override;

 private:
  GroupNorm() = default;

  std::string path_;
  double epsilon_ = 1e-5;
  int64_t num_groups_ = 1;
  int64_t channels_ = -1;     // gamma's size; -1 without gamma
  std::vector<float> gamma_;  // [channels] or empty
  std::vector<float> beta_;   // [channels] or empty
};

}  // namespace ember::model

#endif  // EMBER_MODEL_MODULES_NORM_H_
