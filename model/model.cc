#include "model/model.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace ember::model {

absl::Status CheckInputs(absl::Span<const TensorSpec> specs,
                         absl::Span<const Tensor> inputs) {
  if (inputs.size() != specs.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "expected ", specs.size(), " input tensor(s), got ", inputs.size()));
  }
  for (size_t i = 0; i < specs.size(); ++i) {
    const TensorSpec& spec = specs[i];
    const Tensor& input = inputs[i];
    if (input.type() != spec.type) {
      return absl::InvalidArgumentError(absl::StrCat(
          "input '", spec.name, "': expected datatype ",
          DataTypeName(spec.type), ", got ", DataTypeName(input.type())));
    }
    bool fits = input.rank() == static_cast<int>(spec.shape.size());
    for (int d = 0; fits && d < input.rank(); ++d) {
      fits = spec.shape[d] < 0 || spec.shape[d] == input.dim(d);
    }
    if (!fits) {
      return absl::InvalidArgumentError(absl::StrCat(
          "input '", spec.name, "': expected shape ", ShapeToString(spec.shape),
          ", got ", input.ShapeString()));
    }
  }
  return absl::OkStatus();
}

}  // namespace ember::model
