#include "recorder/record.h"

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace ember::recorder {

absl::string_view DTypeName(DType dtype) {
  switch (dtype) {
    case DType::kF64:
      return "F64";
    case DType::kF32:
      return "F32";
    case DType::kF16:
      return "F16";
    case DType::kBF16:
      return "BF16";
    case DType::kI64:
      return "I64";
    case DType::kI32:
      return "I32";
    case DType::kI16:
      return "I16";
    case DType::kI8:
      return "I8";
    case DType::kU64:
      return "U64";
    case DType::kU32:
      return "U32";
    case DType::kU16:
      return "U16";
    case DType::kU8:
      return "U8";
    case DType::kBool:
      return "Bool";
  }
  return "?";
}

int DTypeSize(DType dtype) {
  switch (dtype) {
    case DType::kF64:
    case DType::kI64:
    case DType::kU64:
      return 8;
    case DType::kF32:
    case DType::kI32:
    case DType::kU32:
      return 4;
    case DType::kF16:
    case DType::kBF16:
    case DType::kI16:
    case DType::kU16:
      return 2;
    case DType::kI8:
    case DType::kU8:
    case DType::kBool:
      return 1;
  }
  return 1;
}

bool IsFloat(DType dtype) {
  return dtype == DType::kF64 || dtype == DType::kF32 || dtype == DType::kF16 ||
         dtype == DType::kBF16;
}

uint64_t Tensor::NumElements() const {
  // The decoder rejects shapes whose product overflows, so this product is
  // exact for every decoded tensor.
  uint64_t n = 1;
  for (uint64_t d : shape) n *= d;
  return n;
}

Value Value::Bool(bool v) {
  Value out;
  out.type_ = Type::kBool;
  out.bool_ = v;
  return out;
}

Value Value::Int(int64_t v) {
  Value out;
  out.type_ = Type::kInt;
  out.negative_ = v < 0;
  out.int_bits_ = static_cast<uint64_t>(v);
  return out;
}

Value Value::Uint(uint64_t v) {
  Value out;
  out.type_ = Type::kInt;
  out.negative_ = false;
  out.int_bits_ = v;
  return out;
}

Value Value::Float32(float v) {
  Value out;
  out.type_ = Type::kFloat32;
  out.float_ = v;
  return out;
}

Value Value::Float64(double v) {
  Value out;
  out.type_ = Type::kFloat64;
  out.float_ = v;
  return out;
}

Value Value::String(std::string v) {
  Value out;
  out.type_ = Type::kString;
  out.string_ = std::move(v);
  return out;
}

Value Value::Binary(absl::string_view bytes,
                    std::shared_ptr<const void> storage) {
  Value out;
  out.type_ = Type::kBinary;
  out.binary_ = bytes;
  out.binary_storage_ = std::move(storage);
  return out;
}

Value Value::MakeArray(Array items) {
  Value out;
  out.type_ = Type::kArray;
  out.array_ = std::move(items);
  return out;
}

Value Value::MakeMap(Map entries) {
  Value out;
  out.type_ = Type::kMap;
  out.map_ = std::move(entries);
  return out;
}

Value Value::MakeTensor(Tensor tensor) {
  Value out;
  out.type_ = Type::kTensor;
  out.tensor_ = std::make_shared<const Tensor>(std::move(tensor));
  return out;
}

void Value::set_tensor(Tensor tensor) {
  type_ = Type::kTensor;
  tensor_ = std::make_shared<const Tensor>(std::move(tensor));
}

const Value* Value::Find(absl::string_view key) const {
  if (type_ != Type::kMap) return nullptr;
  for (const auto& [k, v] : map_) {
    if (k == key) return &v;
  }
  return nullptr;
}

const Value* Value::FindPath(absl::string_view path) const {
  const Value* node = this;
  size_t i = 0;
  while (i < path.size() && node != nullptr) {
    if (path[i] == '.') {
      ++i;
      continue;
    }
    if (path[i] == '[') {
      size_t close = path.find(']', i);
      if (close == absl::string_view::npos) return nullptr;
      uint64_t index = 0;
      if (!absl::SimpleAtoi(path.substr(i + 1, close - i - 1), &index)) {
        return nullptr;
      }
      if (node->type_ != Type::kArray || index >= node->array_.size()) {
        return nullptr;
      }
      node = &node->array_[index];
      i = close + 1;
      continue;
    }
    size_t end = path.find_first_of(".[", i);
    if (end == absl::string_view::npos) end = path.size();
    node = node->Find(path.substr(i, end - i));
    i = end;
  }
  return node;
}

Record::Record(Value top) : top_(std::move(top)) {}

const Value& Record::item() const {
  static const Value* const kNil = new Value();
  const Value* item = top_.Find("item");
  return item != nullptr ? *item : *kNil;
}

Metadata Record::metadata() const {
  Metadata out;
  const Value* meta = top_.Find("metadata");
  if (meta == nullptr) return out;
  auto get = [meta](absl::string_view key) -> std::string {
    const Value* v = meta->Find(key);
    if (v == nullptr || v->type() != Value::Type::kString) return "";
    return v->string_value();
  };
  out.float_type = get("float");
  out.int_type = get("int");
  out.format = get("format");
  out.version = get("version");
  out.settings = get("settings");
  return out;
}

bool Record::has_phantom_b() const { return top_.Find("_b") != nullptr; }

namespace {

void CollectTensors(const Value& node, std::string& path,
                    std::vector<TensorEntry>& out) {
  switch (node.type()) {
    case Value::Type::kTensor:
      out.push_back(TensorEntry{path, &node.tensor()});
      return;
    case Value::Type::kMap:
      for (const auto& [key, value] : node.map()) {
        const size_t size = path.size();
        if (!path.empty()) path += '.';
        path += key;
        CollectTensors(value, path, out);
        path.resize(size);
      }
      return;
    case Value::Type::kArray:
      for (size_t i = 0; i < node.array().size(); ++i) {
        const size_t size = path.size();
        absl::StrAppend(&path, "[", i, "]");
        CollectTensors(node.array()[i], path, out);
        path.resize(size);
      }
      return;
    default:
      return;
  }
}

}  // namespace

std::vector<TensorEntry> Record::Tensors() const {
  std::vector<TensorEntry> out;
  std::string path;
  CollectTensors(item(), path, out);
  return out;
}

}  // namespace ember::recorder
