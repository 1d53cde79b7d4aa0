// Dense tensors for inference: the values that flow between modules and
// across the model boundary.
//
// A Tensor is a row-major buffer with a shape and an element type. Ember
// computes in f32; int64 tensors carry indices (Embedding inputs). Copies
// share the buffer (cheap); a tensor handed to another thread or stored in a
// model must not be written afterwards. Use `Tensor::Zeros` or
// `Tensor::FromVector` to make one you own and fill.
//
//   Tensor x = Tensor::Zeros(DataType::kFloat32, {batch, 784});
//   float* p = x.mutable_data<float>();

#ifndef EMBER_MODEL_TENSOR_H_
#define EMBER_MODEL_TENSOR_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace ember::model {

// Element types a model declares for its inputs and outputs. The names are
// the Open Inference Protocol's datatype strings.
enum class DataType {
  kFloat32,  // "FP32"
  kInt64,    // "INT64"
};

absl::string_view DataTypeName(DataType type);
int DataTypeSize(DataType type);

class Tensor {
 public:
  Tensor() = default;

  static Tensor Zeros(DataType type, std::vector<int64_t> shape);
  // Like Zeros without clearing the buffer, for a producer that writes
  // every element (saves a pass over large outputs).
  static Tensor Uninitialized(DataType type, std::vector<int64_t> shape);
  static Tensor FromVector(std::vector<int64_t> shape,
                           std::vector<float> values);
  static Tensor FromInt64Vector(std::vector<int64_t> shape,
                                std::vector<int64_t> values);

  DataType type() const { return type_; }
  const std::vector<int64_t>& shape() const { return shape_; }
  int rank() const { return static_cast<int>(shape_.size()); }
  int64_t dim(int i) const { return shape_[i]; }
  int64_t num_elements() const { return num_elements_; }
  size_t byte_size() const { return num_elements_ * DataTypeSize(type_); }

  template <typename T>
  const T* data() const {
    return static_cast<const T*>(buffer_.get());
  }
  template <typename T>
  T* mutable_data() {
    return static_cast<T*>(buffer_.get());
  }
  template <typename T>
  absl::Span<const T> span() const {
    return absl::Span<const T>(data<T>(), num_elements_);
  }

  // A tensor sharing this buffer with another shape of the same element
  // count (reshape / flatten).
  Tensor Reshaped(std::vector<int64_t> shape) const;

  // "[2, 3, 4]".
  std::string ShapeString() const;

 private:
  DataType type_ = DataType::kFloat32;
  std::vector<int64_t> shape_;
  int64_t num_elements_ = 0;
  std::shared_ptr<void> buffer_;
};

// "[2, 3, 4]"; -1 prints as -1.
std::string ShapeToString(absl::Span<const int64_t> shape);

}  // namespace ember::model

#endif  // EMBER_MODEL_TENSOR_H_
