#include "model/tensor.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "glog/logging.h"

namespace ember::model {
namespace {

int64_t CountElements(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    CHECK_GE(d, 0) << "tensor dimensions must be known: "
                   << ShapeToString(shape);
    n *= d;
  }
  return n;
}

// Wraps `values` in a type-erased buffer that owns them.
template <typename T>
std::shared_ptr<void> OwningBuffer(std::vector<T> values) {
  auto owner = std::make_shared<std::vector<T>>(std::move(values));
  T* data = owner->data();
  return std::shared_ptr<void>(std::move(owner), data);
}

}  // namespace

absl::string_view DataTypeName(DataType type) {
  switch (type) {
    case DataType::kFloat32:
      return "FP32";
    case DataType::kInt64:
      return "INT64";
  }
  return "UNKNOWN";
}

int DataTypeSize(DataType type) {
  switch (type) {
    case DataType::kFloat32:
      return 4;
    case DataType::kInt64:
      return 8;
  }
  return 0;
}

Tensor Tensor::Zeros(DataType type, std::vector<int64_t> shape) {
  Tensor t;
  t.type_ = type;
  t.num_elements_ = CountElements(shape);
  t.shape_ = std::move(shape);
  if (type == DataType::kInt64) {
    t.buffer_ = OwningBuffer(std::vector<int64_t>(t.num_elements_, 0));
  } else {
    t.buffer_ = OwningBuffer(std::vector<float>(t.num_elements_, 0.0f));
  }
  return t;
}

Tensor Tensor::Uninitialized(DataType type, std::vector<int64_t> shape) {
  Tensor t;
  t.type_ = type;
  t.num_elements_ = CountElements(shape);
  t.shape_ = std::move(shape);
  // Default-initialised arrays are not cleared.
  if (type == DataType::kInt64) {
    t.buffer_ = std::shared_ptr<int64_t>(new int64_t[t.num_elements_],
                                         std::default_delete<int64_t[]>());
  } else {
    t.buffer_ = std::shared_ptr<float>(new float[t.num_elements_],
                                       std::default_delete<float[]>());
  }
  return t;
}

Tensor Tensor::FromVector(std::vector<int64_t> shape,
                          std::vector<float> values) {
  Tensor t;
  t.type_ = DataType::kFloat32;
  t.num_elements_ = CountElements(shape);
  CHECK_EQ(t.num_elements_, static_cast<int64_t>(values.size()))
      << "shape " << ShapeToString(shape) << " does not fit " << values.size()
      << " values";
  t.shape_ = std::move(shape);
  t.buffer_ = OwningBuffer(std::move(values));
  return t;
}

Tensor Tensor::FromInt64Vector(std::vector<int64_t> shape,
                               std::vector<int64_t> values) {
  Tensor t;
  t.type_ = DataType::kInt64;
  t.num_elements_ = CountElements(shape);
  CHECK_EQ(t.num_elements_, static_cast<int64_t>(values.size()))
      << "shape " << ShapeToString(shape) << " does not fit " << values.size()
      << " values";
  t.shape_ = std::move(shape);
  t.buffer_ = OwningBuffer(std::move(values));
  return t;
}

Tensor Tensor::Reshaped(std::vector<int64_t> shape) const {
  CHECK_EQ(CountElements(shape), num_elements_)
      << "cannot reshape " << ShapeString() << " to " << ShapeToString(shape);
  Tensor t = *this;
  t.shape_ = std::move(shape);
  return t;
}

std::string Tensor::ShapeString() const { return ShapeToString(shape_); }

std::string ShapeToString(absl::Span<const int64_t> shape) {
  return absl::StrCat("[", absl::StrJoin(shape, ", "), "]");
}

}  // namespace ember::model
