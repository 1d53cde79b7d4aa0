#include "model/modules/embedding.h"

#include <algorithm>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "model/modules/params.h"

namespace ember::model {

absl::StatusOr<std::unique_ptr<Embedding>> Embedding::Create(
    const recorder::Value& record, absl::string_view path) {
  EMBER_ASSIGN_OR_RETURN(Param weight, LoadParam(record, path, "weight", 2));
  std::unique_ptr<Embedding> embedding(new Embedding());
  embedding->path_ = std::string(path);
  embedding->count_ = weight.dim(0);
  embedding->dim_ = weight.dim(1);
  embedding->weight_ = std::move(weight.values);
  return embedding;
}

absl::StatusOr<TensorType> Embedding::OutputType(
    absl::Span<const TensorType> inputs) const {
  const TensorType& in = inputs[0];
  if (in.type != DataType::kInt64) {
    return absl::InvalidArgumentError(absl::StrCat(
        "embedding '", path_, "' takes INT64 ids, got ", TypeToString(in)));
  }
  TensorType out{DataType::kFloat32, in.shape};
  out.shape.push_back(dim_);
  return out;
}

absl::StatusOr<Tensor> Embedding::Forward(
    absl::Span<const Tensor> inputs) const {
  const Tensor& ids = inputs[0];
  std::vector<int64_t> shape = ids.shape();
  shape.push_back(dim_);
  Tensor y = Tensor::Uninitialized(DataType::kFloat32, std::move(shape));
  const int64_t* in = ids.data<int64_t>();
  float* out = y.mutable_data<float>();
  for (int64_t i = 0; i < ids.num_elements(); ++i) {
    if (in[i] < 0 || in[i] >= count_) {
      return absl::InvalidArgumentError(
          absl::StrCat("embedding '", path_, "': id ", in[i], " at flat index ",
                       i, " is outside [0, ", count_, ")"));
    }
    std::copy_n(weight_.data() + in[i] * dim_, dim_, out + i * dim_);
  }
  return y;
}

int64_t Embedding::parameter_bytes() const {
  return weight_.size() * sizeof(float);
}

}  // namespace ember::model
