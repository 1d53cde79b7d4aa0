#include "server/infer_codec.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "recorder/half.h"

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "raw tensor contents are little-endian; this code copies them as is"
#endif

namespace ember::server {
namespace {

using inference::InferParameter;
using inference::InferTensorContents;
using inference::ModelInferRequest;
using inference::ModelInferResponse;

// Tensors above this many elements are refused before any allocation.
constexpr int64_t kMaxElements = int64_t{1} << 34;

std::string SpecNames(absl::Span<const model::TensorSpec> specs) {
  return absl::StrJoin(specs, ", ",
                       [](std::string* out, const model::TensorSpec& spec) {
                         absl::StrAppend(out, spec.name);
                       });
}

absl::Status Invalid(absl::string_view what, absl::string_view name,
                     absl::string_view detail) {
  return absl::InvalidArgumentError(
      absl::StrCat(what, " \"", name, "\": ", detail));
}

// The element count of `shape`, or an error for negative or huge shapes.
absl::StatusOr<int64_t> ElementCount(absl::string_view name,
                                     absl::Span<const int64_t> shape) {
  int64_t count = 1;
  for (int64_t dim : shape) {
    if (dim < 0) {
      return Invalid("input", name,
                     absl::StrCat("shape ", model::ShapeToString(shape),
                                  " has a negative dimension"));
    }
    if (dim != 0 && count > kMaxElements / dim) {
      return Invalid(
          "input", name,
          absl::StrCat("shape ", model::ShapeToString(shape), " is too large"));
    }
    count *= dim;
  }
  return count;
}

absl::Status CheckShape(const model::TensorSpec& spec,
                        absl::Span<const int64_t> shape,
                        int64_t max_batch_size) {
  const std::string expected = model::ShapeToString(spec.shape);
  if (shape.size() != spec.shape.size()) {
    return Invalid(
        "input", spec.name,
        absl::StrCat("shape ", model::ShapeToString(shape),
                     " does not match the model's ", expected, " (rank ",
                     shape.size(), " vs ", spec.shape.size(), ")"));
  }
  for (size_t i = 0; i < shape.size(); ++i) {
    if (spec.shape[i] >= 0 && shape[i] != spec.shape[i]) {
      return Invalid("input", spec.name,
                     absl::StrCat("shape ", model::ShapeToString(shape),
                                  " does not match the model's ", expected,
                                  " (dimension ", i, ")"));
    }
  }
  if (max_batch_size > 0 && !shape.empty() && spec.shape[0] < 0 &&
      shape[0] > max_batch_size) {
    return Invalid(
        "input", spec.name,
        absl::StrCat("batch size ", shape[0],
                     " exceeds the model's max_batch_size ", max_batch_size));
  }
  return absl::OkStatus();
}

// Reads element i of the source as `Dst`, from raw bytes or typed values.
template <typename Dst>
absl::Status ConvertElements(const model::TensorSpec& spec,
                             absl::string_view datatype, const void* raw,
                             const InferTensorContents* typed, int64_t count,
                             Dst* out) {
  auto store = [&](int64_t i, double value) -> absl::Status {
    if constexpr (std::is_integral_v<Dst>) {
      if (!std::isfinite(value) || value != std::floor(value) ||
          std::fabs(value) > 9.007199254740992e15) {
        return Invalid("input", spec.name,
                       absl::StrCat("element ", i, " (", value,
                                    ") is not an integer; the model "
                                    "expects INT64"));
      }
    }
    out[i] = static_cast<Dst>(value);
    return absl::OkStatus();
  };
  if (datatype == "FP32") {
    const float* src = raw != nullptr ? static_cast<const float*>(raw)
                                      : typed->fp32_contents().data();
    if constexpr (std::is_same_v<Dst, float>) {
      std::memcpy(out, src, count * sizeof(float));
    } else {
      for (int64_t i = 0; i < count; ++i) {
        if (absl::Status s = store(i, src[i]); !s.ok()) return s;
      }
    }
  } else if (datatype == "FP64") {
    const double* src = raw != nullptr ? static_cast<const double*>(raw)
                                       : typed->fp64_contents().data();
    for (int64_t i = 0; i < count; ++i) {
      if (absl::Status s = store(i, src[i]); !s.ok()) return s;
    }
  } else if (datatype == "FP16") {
    const uint16_t* src = static_cast<const uint16_t*>(raw);
    if constexpr (std::is_same_v<Dst, float>) {
      recorder::HalfToFloat(src, out, count);
    } else {
      for (int64_t i = 0; i < count; ++i) {
        absl::Status s = store(i, recorder::HalfToFloatScalar(src[i]));
        if (!s.ok()) return s;
      }
    }
  } else if (datatype == "INT32") {
    const int32_t* src = raw != nullptr ? static_cast<const int32_t*>(raw)
                                        : typed->int_contents().data();
    for (int64_t i = 0; i < count; ++i) out[i] = static_cast<Dst>(src[i]);
  } else {  // INT64
    const int64_t* src = raw != nullptr ? static_cast<const int64_t*>(raw)
                                        : typed->int64_contents().data();
    if constexpr (std::is_same_v<Dst, int64_t>) {
      std::memcpy(out, src, count * sizeof(int64_t));
    } else {
      for (int64_t i = 0; i < count; ++i) out[i] = static_cast<Dst>(src[i]);
    }
  }
  return absl::OkStatus();
}

int64_t TypedCount(absl::string_view datatype,
                   const InferTensorContents& contents) {
  if (datatype == "FP32") return contents.fp32_contents_size();
  if (datatype == "FP64") return contents.fp64_contents_size();
  if (datatype == "INT32") return contents.int_contents_size();
  if (datatype == "INT64") return contents.int64_contents_size();
  return 0;
}

absl::StatusOr<model::Tensor> DecodeOne(
    const model::TensorSpec& spec,
    const ModelInferRequest::InferInputTensor& input, const std::string* raw,
    int64_t max_batch_size) {
  const std::string& datatype = input.datatype();
  const int size = WireDatatypeSize(datatype);
  if (size == 0) {
    return Invalid("input", spec.name,
                   absl::StrCat("datatype \"", datatype,
                                "\" is not supported; the model expects ",
                                model::DataTypeName(spec.type),
                                " (FP32, FP16, FP64, INT32 and INT64 are "
                                "converted)"));
  }
  if (absl::Status s = CheckShape(spec, input.shape(), max_batch_size);
      !s.ok()) {
    return s;
  }
  absl::StatusOr<int64_t> count = ElementCount(spec.name, input.shape());
  if (!count.ok()) return count.status();

  if (raw != nullptr) {
    const int64_t expected = *count * size;
    if (static_cast<int64_t>(raw->size()) != expected) {
      return Invalid(
          "input", spec.name,
          absl::StrCat("raw_input_contents holds ", raw->size(),
                       " bytes; shape ", model::ShapeToString(input.shape()),
                       " of ", datatype, " needs ", expected));
    }
  } else {
    if (datatype == "FP16") {
      return Invalid("input", spec.name,
                     "FP16 has no typed contents; send it in "
                     "raw_input_contents (little-endian)");
    }
    const int64_t have = TypedCount(datatype, input.contents());
    if (have != *count) {
      return Invalid(
          "input", spec.name,
          absl::StrCat("contents hold ", have, " ", datatype, " values; shape ",
                       model::ShapeToString(input.shape()), " needs ", *count));
    }
  }

  std::vector<int64_t> shape(input.shape().begin(), input.shape().end());
  model::Tensor tensor = model::Tensor::Zeros(spec.type, shape);
  const void* raw_data = raw != nullptr ? raw->data() : nullptr;
  absl::Status converted;
  if (spec.type == model::DataType::kFloat32) {
    converted = ConvertElements(spec, datatype, raw_data, &input.contents(),
                                *count, tensor.mutable_data<float>());
  } else {
    converted = ConvertElements(spec, datatype, raw_data, &input.contents(),
                                *count, tensor.mutable_data<int64_t>());
  }
  if (!converted.ok()) return converted;
  return tensor;
}

bool BoolParameter(
    const google::protobuf::Map<std::string, InferParameter>& parameters,
    const std::string& key) {
  auto it = parameters.find(key);
  return it != parameters.end() &&
         it->second.parameter_choice_case() == InferParameter::kBoolParam &&
         it->second.bool_param();
}

// The datatype an output is sent as: the "datatype" output parameter, or
// the model's own.
absl::StatusOr<std::string> OutputDatatype(
    const model::TensorSpec& spec,
    const ModelInferRequest::InferRequestedOutputTensor* requested) {
  const std::string native(model::DataTypeName(spec.type));
  if (requested == nullptr) return native;
  auto it = requested->parameters().find("datatype");
  if (it == requested->parameters().end()) return native;
  if (it->second.parameter_choice_case() != InferParameter::kStringParam) {
    return Invalid("output", spec.name,
                   "parameter \"datatype\" must be a string");
  }
  const std::string& wanted = it->second.string_param();
  const bool ok =
      spec.type == model::DataType::kFloat32
          ? (wanted == "FP32" || wanted == "FP16" || wanted == "FP64")
          : (wanted == "INT64" || wanted == "INT32");
  if (!ok) {
    return Invalid(
        "output", spec.name,
        absl::StrCat("cannot be sent as ", wanted, "; it is ", native,
                     spec.type == model::DataType::kFloat32
                         ? " (FP32, FP16 or FP64 allowed)"
                         : " (INT64 or INT32 allowed)"));
  }
  return wanted;
}

struct OutputPlan {
  int index;  // into specs/outputs
  const ModelInferRequest::InferRequestedOutputTensor* requested;
  std::string datatype;
};

absl::StatusOr<std::vector<OutputPlan>> PlanOutputs(
    const ModelInferRequest& request,
    absl::Span<const model::TensorSpec> specs) {
  std::vector<OutputPlan> plan;
  if (request.outputs().empty()) {
    for (int i = 0; i < static_cast<int>(specs.size()); ++i) {
      plan.push_back(
          {i, nullptr, std::string(model::DataTypeName(specs[i].type))});
    }
    return plan;
  }
  for (const auto& requested : request.outputs()) {
    int index = -1;
    for (int i = 0; i < static_cast<int>(specs.size()); ++i) {
      if (specs[i].name == requested.name()) index = i;
    }
    if (index < 0) {
      return Invalid("output", requested.name(),
                     absl::StrCat("the model has no such output; it has: ",
                                  SpecNames(specs)));
    }
    absl::StatusOr<std::string> datatype =
        OutputDatatype(specs[index], &requested);
    if (!datatype.ok()) return datatype.status();
    plan.push_back({index, &requested, *datatype});
  }
  return plan;
}

template <typename Src, typename Dst>
void AppendConverted(const model::Tensor& tensor, std::string* raw,
                     google::protobuf::RepeatedField<Dst>* typed) {
  absl::Span<const Src> values = tensor.span<Src>();
  if (raw != nullptr) {
    const size_t offset = raw->size();
    raw->resize(offset + values.size() * sizeof(Dst));
    Dst* out = reinterpret_cast<Dst*>(&(*raw)[offset]);
    for (size_t i = 0; i < values.size(); ++i) {
      out[i] = static_cast<Dst>(values[i]);
    }
  } else {
    typed->Reserve(values.size());
    for (Src v : values) typed->Add(static_cast<Dst>(v));
  }
}

absl::Status EncodeOne(const model::TensorSpec& spec,
                       const model::Tensor& tensor, const std::string& datatype,
                       bool raw_form,
                       ModelInferResponse::InferOutputTensor* out,
                       std::string* raw) {
  out->set_name(spec.name);
  out->set_datatype(datatype);
  for (int64_t dim : tensor.shape()) out->add_shape(dim);
  if (tensor.type() != spec.type) {
    return absl::InternalError(
        absl::StrCat("output \"", spec.name, "\" came out as ",
                     model::DataTypeName(tensor.type()), ", declared ",
                     model::DataTypeName(spec.type)));
  }
  InferTensorContents* contents = raw_form ? nullptr : out->mutable_contents();
  std::string* raw_out = raw_form ? raw : nullptr;
  if (spec.type == model::DataType::kFloat32) {
    if (datatype == "FP16") {
      absl::Span<const float> values = tensor.span<float>();
      raw->resize(values.size() * 2);
      recorder::FloatToHalf(values.data(),
                            reinterpret_cast<uint16_t*>(raw->data()),
                            values.size());
    } else if (datatype == "FP64") {
      AppendConverted<float, double>(
          tensor, raw_out,
          raw_form ? nullptr : contents->mutable_fp64_contents());
    } else {
      AppendConverted<float, float>(
          tensor, raw_out,
          raw_form ? nullptr : contents->mutable_fp32_contents());
    }
    return absl::OkStatus();
  }
  if (datatype == "INT32") {
    for (int64_t v : tensor.span<int64_t>()) {
      if (v < std::numeric_limits<int32_t>::min() ||
          v > std::numeric_limits<int32_t>::max()) {
        return Invalid(
            "output", spec.name,
            absl::StrCat("value ", v, " does not fit INT32; ask for INT64"));
      }
    }
    AppendConverted<int64_t, int32_t>(
        tensor, raw_out, raw_form ? nullptr : contents->mutable_int_contents());
  } else {
    AppendConverted<int64_t, int64_t>(
        tensor, raw_out,
        raw_form ? nullptr : contents->mutable_int64_contents());
  }
  return absl::OkStatus();
}

}  // namespace

int WireDatatypeSize(absl::string_view datatype) {
  if (datatype == "FP32" || datatype == "INT32") return 4;
  if (datatype == "FP64" || datatype == "INT64") return 8;
  if (datatype == "FP16") return 2;
  return 0;
}

absl::StatusOr<DecodedInputs> DecodeInputs(
    const ModelInferRequest& request, absl::Span<const model::TensorSpec> specs,
    int64_t max_batch_size) {
  const bool raw = request.raw_input_contents_size() > 0;
  if (raw && request.raw_input_contents_size() != request.inputs_size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "raw_input_contents has ", request.raw_input_contents_size(),
        " entries for ", request.inputs_size(), " inputs; give one per input"));
  }
  std::map<std::string, int> by_name;
  for (int i = 0; i < request.inputs_size(); ++i) {
    const auto& input = request.inputs(i);
    if (raw && input.has_contents()) {
      return Invalid("input", input.name(),
                     "has typed contents although the request uses "
                     "raw_input_contents; use one form for all inputs");
    }
    if (!by_name.emplace(input.name(), i).second) {
      return Invalid("input", input.name(), "given twice");
    }
    bool known = false;
    for (const auto& spec : specs) known = known || spec.name == input.name();
    if (!known) {
      return Invalid("input", input.name(),
                     absl::StrCat("the model has no such input; it expects: ",
                                  SpecNames(specs)));
    }
  }

  DecodedInputs decoded;
  for (const model::TensorSpec& spec : specs) {
    auto it = by_name.find(spec.name);
    if (it == by_name.end()) {
      return Invalid("input", spec.name,
                     absl::StrCat("missing; the model expects ",
                                  model::DataTypeName(spec.type), " ",
                                  model::ShapeToString(spec.shape)));
    }
    const auto& input = request.inputs(it->second);
    absl::StatusOr<model::Tensor> tensor = DecodeOne(
        spec, input, raw ? &request.raw_input_contents(it->second) : nullptr,
        max_batch_size);
    if (!tensor.ok()) return tensor.status();
    if (decoded.tensors.empty() && !spec.shape.empty() && spec.shape[0] < 0) {
      decoded.batch_size = tensor->dim(0);
    }
    decoded.tensors.push_back(*std::move(tensor));
  }
  return decoded;
}

absl::Status CheckRequestedOutputs(const ModelInferRequest& request,
                                   absl::Span<const model::TensorSpec> specs) {
  return PlanOutputs(request, specs).status();
}

absl::Status EncodeOutputs(const ModelInferRequest& request,
                           absl::Span<const model::TensorSpec> specs,
                           const std::vector<model::Tensor>& outputs,
                           ModelInferResponse* response) {
  if (outputs.size() != specs.size()) {
    return absl::InternalError(
        absl::StrCat("the model produced ", outputs.size(),
                     " outputs, declared ", specs.size()));
  }
  absl::StatusOr<std::vector<OutputPlan>> plan = PlanOutputs(request, specs);
  if (!plan.ok()) return plan.status();

  bool raw = request.raw_input_contents_size() > 0 ||
             BoolParameter(request.parameters(), "binary_data_output");
  for (const OutputPlan& p : *plan) {
    raw = raw || p.datatype == "FP16" ||
          (p.requested != nullptr &&
           BoolParameter(p.requested->parameters(), "binary_data"));
  }
  for (const OutputPlan& p : *plan) {
    std::string* raw_out = raw ? response->add_raw_output_contents() : nullptr;
    absl::Status s = EncodeOne(specs[p.index], outputs[p.index], p.datatype,
                               raw, response->add_outputs(), raw_out);
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace ember::server
