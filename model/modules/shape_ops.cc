#include "model/modules/shape_ops.h"

#include <cstring>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace ember::model {
namespace {

// Resolves a possibly negative axis against `rank`; -1 when out of range.
int64_t ResolveAxis(int64_t axis, int64_t rank) {
  if (axis < 0) axis += rank;
  return (axis < 0 || axis >= rank) ? -1 : axis;
}

}  // namespace

absl::StatusOr<TensorType> Reshape::OutputType(
    absl::Span<const TensorType> inputs) const {
  const TensorType& in = inputs[0];
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("reshape of ", TypeToString(in), " to ",
                     ShapeToString(target_), ": ", why));
  };
  // A dimension copied with 0 appears on both sides and cancels out, even
  // when unknown; the rest must agree in element count.
  TensorType out{in.type, target_};
  std::vector<bool> copied(in.shape.size(), false);
  int infer = -1;
  int64_t out_count = 1;
  for (size_t i = 0; i < target_.size(); ++i) {
    const int64_t d = target_[i];
    if (d == 0) {
      if (i >= in.shape.size()) return bad("0 copies a missing axis");
      out.shape[i] = in.shape[i];
      copied[i] = true;
    } else if (d == -1) {
      if (infer >= 0) return bad("more than one -1");
      infer = i;
    } else if (d < -1) {
      return bad("dimensions must be >= -1");
    } else {
      if (d > 0 && out_count > (int64_t{1} << 62) / d) {
        return bad("the shape is too large");
      }
      out_count *= d;
    }
  }
  int64_t in_count = 1;
  bool in_known = true;
  for (size_t i = 0; i < in.shape.size(); ++i) {
    if (copied[i]) continue;
    if (in.shape[i] < 0) {
      in_known = false;
    } else {
      in_count *= in.shape[i];
    }
  }
  if (!in_known) {
    if (infer < 0) return bad("an unknown input dimension needs a -1");
    return out;  // the inferred dimension stays unknown
  }
  if (infer >= 0) {
    if (out_count == 0 || in_count % out_count != 0) {
      return bad("the element count does not divide");
    }
    out.shape[infer] = in_count / out_count;
  } else if (in_count != out_count) {
    return bad("the element counts differ");
  }
  return out;
}

absl::StatusOr<Tensor> Reshape::Forward(absl::Span<const Tensor> inputs) const {
  EMBER_ASSIGN_OR_RETURN(TensorType out,
                         OutputType({TensorType::Of(inputs[0])}));
  return inputs[0].Reshaped(std::move(out.shape));
}

absl::StatusOr<TensorType> Flatten::OutputType(
    absl::Span<const TensorType> inputs) const {
  const TensorType& in = inputs[0];
  int64_t rank = in.shape.size();
  int64_t start = ResolveAxis(start_, rank), end = ResolveAxis(end_, rank);
  if (start < 0 || end < 0 || start > end) {
    return absl::InvalidArgumentError(
        absl::StrCat("flatten from axis ", start_, " to ", end_,
                     " does not fit input ", TypeToString(in)));
  }
  TensorType out{in.type, {}};
  out.shape.assign(in.shape.begin(), in.shape.begin() + start);
  int64_t merged = 1;
  for (int64_t i = start; i <= end; ++i) {
    if (in.shape[i] < 0 || merged < 0) {
      merged = -1;
    } else {
      merged *= in.shape[i];
    }
  }
  out.shape.push_back(merged);
  out.shape.insert(out.shape.end(), in.shape.begin() + end + 1, in.shape.end());
  return out;
}

absl::StatusOr<Tensor> Flatten::Forward(absl::Span<const Tensor> inputs) const {
  EMBER_ASSIGN_OR_RETURN(TensorType out,
                         OutputType({TensorType::Of(inputs[0])}));
  return inputs[0].Reshaped(std::move(out.shape));
}

absl::StatusOr<TensorType> Add::OutputType(
    absl::Span<const TensorType> inputs) const {
  if (inputs.size() < 2) {
    return absl::InvalidArgumentError("add needs at least two inputs");
  }
  TensorType out = inputs[0];
  for (const TensorType& in : inputs) {
    bool fits =
        in.type == DataType::kFloat32 && in.shape.size() == out.shape.size();
    for (size_t d = 0; fits && d < in.shape.size(); ++d) {
      if (out.shape[d] < 0) {
        out.shape[d] = in.shape[d];
      } else if (in.shape[d] >= 0 && in.shape[d] != out.shape[d]) {
        fits = false;
      }
    }
    if (!fits) {
      return absl::InvalidArgumentError(absl::StrCat(
          "add: input ", TypeToString(in), " does not match ",
          TypeToString(inputs[0]), " (FP32 inputs of one shape are required)"));
    }
  }
  return out;
}

absl::StatusOr<Tensor> Add::Forward(absl::Span<const Tensor> inputs) const {
  Tensor y = Tensor::Zeros(DataType::kFloat32, inputs[0].shape());
  float* out = y.mutable_data<float>();
  const int64_t n = y.num_elements();
  for (const Tensor& x : inputs) {
    const float* in = x.data<float>();
    for (int64_t i = 0; i < n; ++i) out[i] += in[i];
  }
  return y;
}

absl::StatusOr<TensorType> Concat::OutputType(
    absl::Span<const TensorType> inputs) const {
  if (inputs.size() < 2) {
    return absl::InvalidArgumentError("concat needs at least two inputs");
  }
  const TensorType& first = inputs[0];
  int64_t axis = ResolveAxis(axis_, first.shape.size());
  if (axis < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("concat axis ", axis_, " is out of range for input ",
                     TypeToString(first)));
  }
  TensorType out = first;
  out.shape[axis] = 0;
  for (const TensorType& in : inputs) {
    bool fits = in.type == first.type && in.shape.size() == first.shape.size();
    for (size_t d = 0; fits && d < in.shape.size(); ++d) {
      if (static_cast<int64_t>(d) == axis) continue;
      if (out.shape[d] < 0) {
        out.shape[d] = in.shape[d];
      } else if (in.shape[d] >= 0 && in.shape[d] != out.shape[d]) {
        fits = false;
      }
    }
    if (!fits) {
      return absl::InvalidArgumentError(absl::StrCat(
          "concat along axis ", axis_, ": input ", TypeToString(in),
          " does not match ", TypeToString(first)));
    }
    if (out.shape[axis] >= 0) {
      out.shape[axis] =
          in.shape[axis] < 0 ? -1 : out.shape[axis] + in.shape[axis];
    }
  }
  return out;
}

absl::StatusOr<Tensor> Concat::Forward(absl::Span<const Tensor> inputs) const {
  EMBER_ASSIGN_OR_RETURN(TensorType out_type, [&] {
    std::vector<TensorType> types;
    for (const Tensor& x : inputs) types.push_back(TensorType::Of(x));
    return OutputType(types);
  }());
  const int64_t axis = ResolveAxis(axis_, out_type.shape.size());
  Tensor y = Tensor::Uninitialized(out_type.type, out_type.shape);
  const int elem = DataTypeSize(out_type.type);
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= out_type.shape[d];
  for (size_t d = axis + 1; d < out_type.shape.size(); ++d) {
    inner *= out_type.shape[d];
  }
  const int64_t out_row = out_type.shape[axis] * inner * elem;
  char* out = y.mutable_data<char>();
  int64_t offset = 0;
  for (const Tensor& x : inputs) {
    const int64_t row = x.dim(axis) * inner * elem;
    const char* in = x.data<char>();
    for (int64_t o = 0; o < outer && row > 0; ++o) {
      std::memcpy(out + o * out_row + offset, in + o * row, row);
    }
    offset += row;
  }
  return y;
}

}  // namespace ember::model
