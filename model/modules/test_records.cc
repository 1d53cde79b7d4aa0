#include "model/modules/test_records.h"

#include <memory>

#include "recorder/half.h"

namespace ember::model::testing {

recorder::Value F32Param(std::vector<uint64_t> shape,
                         std::vector<float> values) {
  auto storage = std::make_shared<std::vector<float>>(std::move(values));
  recorder::Tensor t;
  t.id = "test";
  t.dtype = recorder::DType::kF32;
  t.shape = std::move(shape);
  t.bytes = absl::string_view(reinterpret_cast<const char*>(storage->data()),
                              storage->size() * sizeof(float));
  t.storage = storage;
  return recorder::Value::MakeTensor(std::move(t));
}

recorder::Value F16Param(std::vector<uint64_t> shape,
                         const std::vector<float>& values) {
  auto storage = std::make_shared<std::vector<uint16_t>>();
  for (float v : values) storage->push_back(recorder::FloatToHalfScalar(v));
  recorder::Tensor t;
  t.id = "test";
  t.dtype = recorder::DType::kF16;
  t.shape = std::move(shape);
  t.bytes = absl::string_view(reinterpret_cast<const char*>(storage->data()),
                              storage->size() * sizeof(uint16_t));
  t.storage = storage;
  return recorder::Value::MakeTensor(std::move(t));
}

recorder::Value ModuleRecord(
    std::vector<std::pair<std::string, recorder::Value>> fields) {
  return recorder::Value::MakeMap(std::move(fields));
}

recorder::Record RecordOf(recorder::Value item) {
  return recorder::Record(recorder::Value::MakeMap(
      {{"metadata", recorder::Value::Nil()}, {"item", std::move(item)}}));
}

std::vector<float> Ramp(int64_t n, float scale) {
  std::vector<float> v(n);
  for (int64_t i = 0; i < n; ++i) {
    v[i] = scale * static_cast<float>((i * 7) % 11 - 5);
  }
  return v;
}

}  // namespace ember::model::testing
