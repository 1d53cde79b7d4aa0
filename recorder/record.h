// The in-memory form of a Burn record: a tree that keeps everything needed
// to write the file back byte for byte, with parameters as typed tensors.
//
// A Burn record file (`NamedMpkFileRecorder`, `.mpk`, or its gzip form
// `.mpk.gz`) is one MessagePack map:
//
//   {"metadata": {float, int, format, version, settings},
//    "item": <module tree>,
//    "_b": []}                      // absent before Burn 0.12
//
// Structs are maps keyed by field name in declaration order; fields that hold
// no parameters are nil; a parameter is `{"id": str, "param": <body>}` where
// the body is `{bytes, shape, dtype}` (Burn >= 0.14) or `{value, shape}`
// (Burn 0.10-0.13). The decoder turns every parameter into a `Value` of type
// kTensor, whatever its body, so the model library sees one form.
//
// Example:
//
//   EMBER_ASSIGN_OR_RETURN(Record record, DecodeRecordFile("model.mpk"));
//   for (const TensorEntry& t : record.Tensors()) {
//     LOG(INFO) << t.path << " " << DTypeName(t.tensor->dtype);
//   }
//   const Value* w = record.item().FindPath("linear_in.weight");

#ifndef EMBER_RECORDER_RECORD_H_
#define EMBER_RECORDER_RECORD_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace ember::recorder {

// Receives encoded record bytes in order, one piece per call. A non-OK
// status stops the encoding, which then returns that status.
using ByteSink = std::function<absl::Status(absl::string_view)>;

// Element types Burn writes for parameters (Burn's `DType` names).
enum class DType {
  kF64,
  kF32,
  kF16,
  kBF16,
  kI64,
  kI32,
  kI16,
  kI8,
  kU64,
  kU32,
  kU16,
  kU8,
  kBool,
};

// Burn's spelling of `dtype`, e.g. "F32", "BF16", "Bool".
absl::string_view DTypeName(DType dtype);
// Bytes per element.
int DTypeSize(DType dtype);
bool IsFloat(DType dtype);

// How a parameter body was laid out in the file.
enum class TensorLayout {
  kTensorData,  // {"bytes": bin, "shape": [..], "dtype": "F32"}  (>= 0.14)
  kValueShape,  // {"value": [numbers], "shape": [..]}           (<= 0.13)
};

// One parameter (`Param<Tensor>` or `RunningState<Tensor>`). Immutable once
// built; the element bytes may point into the decoded file buffer, which
// `storage` keeps alive.
struct Tensor {
  std::string id;  // Burn's ParamId string, kept as read.
  TensorLayout layout = TensorLayout::kTensorData;
  DType dtype = DType::kF32;
  std::vector<uint64_t> shape;
  // Row-major, little-endian elements: NumElements() * DTypeSize(dtype)
  // bytes. For kValueShape bodies the decoder packs the numbers here.
  absl::string_view bytes;
  std::shared_ptr<const void> storage;
  // Encoding details the writer needs to reproduce the input exactly
  // (for example Burn 0.21's `{"Bool": "Native"}` dtype spelling, or the
  // order of the body's keys). Opaque to users of the tree.
  uint32_t encoding_flags = 0;

  uint64_t NumElements() const;
};

class Value;
using Array = std::vector<Value>;
using Map = std::vector<std::pair<std::string, Value>>;  // file order

// One node of the record tree: a MessagePack value, or a parameter.
// Copies share tensor and bin bytes (cheap). Safe to read from many threads;
// mutation needs exclusive access.
class Value {
 public:
  enum class Type {
    kNil,
    kBool,
    kInt,      // any integer; `int_value()` / `uint_value()`
    kFloat32,  // msgpack float 32 (`ca`)
    kFloat64,  // msgpack float 64 (`cb`)
    kString,
    kBinary,
    kArray,
    kMap,
    kTensor,  // a parameter map {"id", "param"}
  };

  Value() = default;  // nil
  static Value Nil() { return Value(); }
  static Value Bool(bool v);
  static Value Int(int64_t v);
  static Value Uint(uint64_t v);
  static Value Float32(float v);
  static Value Float64(double v);
  static Value String(std::string v);
  static Value Binary(absl::string_view bytes,
                      std::shared_ptr<const void> storage);
  static Value MakeArray(Array items);
  static Value MakeMap(Map entries);
  static Value MakeTensor(Tensor tensor);

  Type type() const { return type_; }
  bool is_nil() const { return type_ == Type::kNil; }
  bool is_map() const { return type_ == Type::kMap; }
  bool is_array() const { return type_ == Type::kArray; }
  bool is_tensor() const { return type_ == Type::kTensor; }

  bool bool_value() const { return bool_; }
  // For kInt: true when the stored integer is negative.
  bool is_negative() const { return negative_; }
  int64_t int_value() const { return static_cast<int64_t>(int_bits_); }
  uint64_t uint_value() const { return int_bits_; }
  double float_value() const { return float_; }
  const std::string& string_value() const { return string_; }
  absl::string_view binary_value() const { return binary_; }
  const Array& array() const { return array_; }
  Array& mutable_array() { return array_; }
  const Map& map() const { return map_; }
  Map& mutable_map() { return map_; }
  const Tensor& tensor() const { return *tensor_; }
  // Replaces the tensor of a kTensor node (precision conversion).
  void set_tensor(Tensor tensor);

  // Map lookup by key; nullptr when this is not a map or has no such key.
  const Value* Find(absl::string_view key) const;
  // Follows a record path such as "convs[1].norm.running_var" from this
  // node; nullptr when any step is missing.
  const Value* FindPath(absl::string_view path) const;

 private:
  Type type_ = Type::kNil;
  bool bool_ = false;
  bool negative_ = false;
  uint64_t int_bits_ = 0;
  double float_ = 0;
  std::string string_;
  absl::string_view binary_;
  std::shared_ptr<const void> binary_storage_;
  Array array_;
  Map map_;
  std::shared_ptr<const Tensor> tensor_;
};

// A parameter and where it sits in the tree.
struct TensorEntry {
  std::string path;  // "linear_in.weight", "convs[1].norm.running_var"
  const Tensor* tensor;
};

// Burn's BurnMetadata strings, as read (or as they will be written).
struct Metadata {
  std::string float_type;  // "f32", "half::binary16::f16", "f64"
  std::string int_type;    // "i32", "i16", "i64"
  std::string format;      // recorder type name
  std::string version;     // burn-core version, e.g. "0.16.1"
  std::string settings;    // "FullPrecisionSettings", ...
};

// A decoded record: the whole top-level map plus convenient accessors.
// Thread-safety as for Value: concurrent reads are safe.
class Record {
 public:
  Record() = default;
  explicit Record(Value top);

  // The top-level map exactly as read ({"metadata", "item", "_b"}).
  const Value& top() const { return top_; }
  Value& mutable_top() { return top_; }
  // The module record ("item"); nil when absent.
  const Value& item() const;
  // Metadata strings; empty strings where the file has none.
  Metadata metadata() const;
  bool has_phantom_b() const;  // the `"_b": []` key (Burn >= 0.12)
  // Every parameter in file order (depth first), with its path.
  std::vector<TensorEntry> Tensors() const;

 private:
  Value top_;
};

}  // namespace ember::recorder

#endif  // EMBER_RECORDER_RECORD_H_
