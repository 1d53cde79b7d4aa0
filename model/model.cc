#include "model/model.h"

#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

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

absl::Status WarmUp(const Model& model) {
  std::vector<Tensor> zeros;
  std::vector<std::string> shapes;
  for (const TensorSpec& spec : model.inputs()) {
    std::vector<int64_t> shape = spec.shape;
    for (int64_t& d : shape) d = d < 0 ? 1 : d;
    shapes.push_back(absl::StrCat(spec.name, " ", ShapeToString(shape)));
    zeros.push_back(Tensor::Zeros(spec.type, std::move(shape)));
  }
  absl::StatusOr<std::vector<Tensor>> out = model.Forward(zeros);
  if (!out.ok()) {
    return absl::Status(out.status().code(),
                        absl::StrCat("warm-up inference on zeros (",
                                     absl::StrJoin(shapes, ", "),
                                     ") failed: ", out.status().message()));
  }
  return absl::OkStatus();
}

bool OnlyLeadingDimensionsDynamic(absl::Span<const TensorSpec> specs) {
  for (const TensorSpec& spec : specs) {
    for (size_t d = 1; d < spec.shape.size(); ++d) {
      if (spec.shape[d] < 0) return false;
    }
  }
  return true;
}

}  // namespace ember::model
