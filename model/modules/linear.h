// Burn's `Linear`: y = x · W + b over the last axis.
//
// The record holds `weight` [d_input, d_output] (Burn's default row layout,
// not transposed like PyTorch's) and an optional `bias` [d_output]. Inputs of
// any rank >= 1 are accepted; every leading axis is kept.
//
//   EMBER_ASSIGN_OR_RETURN(std::unique_ptr<Linear> fc,
//                          Linear::Create(*record.item().Find("fc1"), "fc1"));
//   EMBER_ASSIGN_OR_RETURN(Tensor y, fc->Forward({x}));  // [B, d_output]

#ifndef EMBER_MODEL_MODULES_LINEAR_H_
#define EMBER_MODEL_MODULES_LINEAR_H_

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

// How the record stores the weight. Burn's default (`LinearLayout::Row`)
// is [d_input, d_output]; with `LinearLayout::Col` (Burn >= 0.19) the file
// holds [d_output, d_input]. The record does not say which.
enum class LinearLayout { kRow, kCol };

// Immutable; thread-safe.
class Linear : public Module {
 public:
  // Builds from the Linear sub-record found at `path`.
  static absl::StatusOr<std::unique_ptr<Linear>> Create(
      const recorder::Value& record, absl::string_view path,
      LinearLayout layout = LinearLayout::kRow);

  int64_t d_input() const { return d_input_; }
  int64_t d_output() const { return d_output_; }
  bool has_bias() const { return !bias_.empty(); }
  const std::string& path() const { return path_; }

  // out[r, :] = in[r, :] · W + b for `rows` rows; `in` holds rows × d_input
  // floats and `out` rows × d_output. The buffers must not overlap.
  void Apply(const float* in, int64_t rows, float* out) const;

  absl::StatusOr<TensorType> OutputType(
      absl::Span<const TensorType> inputs) const override;
  absl::StatusOr<Tensor> Forward(
      absl::Span<const Tensor> inputs) const override;
  int64_t parameter_bytes() const override;

 private:
  Linear() = default;

  std::string path_;
  int64_t d_input_ = 0;
  int64_t d_output_ = 0;
  std::vector<float> weight_;  // [d_input, d_output], row-major
  std::vector<float> bias_;    // [d_output] or empty
};

}  // namespace ember::model

#endif  // EMBER_MODEL_MODULES_LINEAR_H_
