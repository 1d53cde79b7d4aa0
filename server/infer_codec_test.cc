#include "server/infer_codec.h"

#include <cstring>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "recorder/half.h"

namespace ember::server {
namespace {

using inference::ModelInferRequest;
using inference::ModelInferResponse;

const std::vector<model::TensorSpec>& Specs() {
  static const auto* specs = new std::vector<model::TensorSpec>{
      {"image", model::DataType::kFloat32, {-1, 3}},
      {"tokens", model::DataType::kInt64, {-1, 2}}};
  return *specs;
}

template <typename T>
std::string Raw(const std::vector<T>& values) {
  return std::string(reinterpret_cast<const char*>(values.data()),
                     values.size() * sizeof(T));
}

ModelInferRequest::InferInputTensor* AddInput(ModelInferRequest& request,
                                              const std::string& name,
                                              const std::string& datatype,
                                              std::vector<int64_t> shape) {
  auto* input = request.add_inputs();
  input->set_name(name);
  input->set_datatype(datatype);
  for (int64_t d : shape) input->add_shape(d);
  return input;
}

// A valid typed request: image FP32 [2,3], tokens INT64 [2,2].
ModelInferRequest TypedRequest() {
  ModelInferRequest request;
  auto* image = AddInput(request, "image", "FP32", {2, 3});
  for (float v : {1.f, 2.f, 3.f, 4.f, 5.f, 6.f}) {
    image->mutable_contents()->add_fp32_contents(v);
  }
  auto* tokens = AddInput(request, "tokens", "INT64", {2, 2});
  for (int64_t v : {7, 8, 9, 10}) {
    tokens->mutable_contents()->add_int64_contents(v);
  }
  return request;
}

std::string ErrorOf(const ModelInferRequest& request, int64_t max_batch = 0) {
  absl::StatusOr<DecodedInputs> decoded =
      DecodeInputs(request, Specs(), max_batch);
  EXPECT_FALSE(decoded.ok());
  EXPECT_TRUE(absl::IsInvalidArgument(decoded.status())) << decoded.status();
  return std::string(decoded.status().message());
}

TEST(DecodeInputsTest, TypedInputsInModelOrder) {
  ModelInferRequest request = TypedRequest();
  std::swap(*request.mutable_inputs(0), *request.mutable_inputs(1));
  absl::StatusOr<DecodedInputs> decoded = DecodeInputs(request, Specs(), 0);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  ASSERT_EQ(decoded->tensors.size(), 2u);
  EXPECT_EQ(decoded->batch_size, 2);
  EXPECT_EQ(decoded->tensors[0].shape(), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(decoded->tensors[0].data<float>()[5], 6.f);
  EXPECT_EQ(decoded->tensors[1].type(), model::DataType::kInt64);
  EXPECT_EQ(decoded->tensors[1].data<int64_t>()[3], 10);
}

TEST(DecodeInputsTest, RawInputsConvertFromEveryAcceptedType) {
  ModelInferRequest request;
  AddInput(request, "image", "FP16", {1, 3});
  AddInput(request, "tokens", "INT32", {1, 2});
  std::vector<uint16_t> half = {recorder::FloatToHalfScalar(0.5f),
                                recorder::FloatToHalfScalar(-2.f),
                                recorder::FloatToHalfScalar(1024.f)};
  *request.add_raw_input_contents() = Raw(half);
  *request.add_raw_input_contents() = Raw(std::vector<int32_t>{-3, 4});
  absl::StatusOr<DecodedInputs> decoded = DecodeInputs(request, Specs(), 0);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->tensors[0].data<float>()[0], 0.5f);
  EXPECT_EQ(decoded->tensors[0].data<float>()[1], -2.f);
  EXPECT_EQ(decoded->tensors[0].data<float>()[2], 1024.f);
  EXPECT_EQ(decoded->tensors[1].data<int64_t>()[0], -3);

  ModelInferRequest f64;
  AddInput(f64, "image", "FP64", {1, 3});
  AddInput(f64, "tokens", "FP32", {1, 2});
  *f64.add_raw_input_contents() = Raw(std::vector<double>{0.25, 1, 2});
  *f64.add_raw_input_contents() = Raw(std::vector<float>{5, 6});
  decoded = DecodeInputs(f64, Specs(), 0);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->tensors[0].data<float>()[0], 0.25f);
  EXPECT_EQ(decoded->tensors[1].data<int64_t>()[1], 6);
}

TEST(DecodeInputsTest, ErrorsSayWhatWasExpected) {
  ModelInferRequest wrong_name = TypedRequest();
  wrong_name.mutable_inputs(0)->set_name("picture");
  EXPECT_NE(ErrorOf(wrong_name).find("expects: image, tokens"),
            std::string::npos);

  ModelInferRequest missing = TypedRequest();
  missing.mutable_inputs()->RemoveLast();
  EXPECT_NE(ErrorOf(missing).find("\"tokens\": missing; the model expects "
                                  "INT64 [-1, 2]"),
            std::string::npos)
      << ErrorOf(missing);

  ModelInferRequest bad_shape = TypedRequest();
  bad_shape.mutable_inputs(0)->set_shape(1, 4);
  EXPECT_NE(ErrorOf(bad_shape).find("[2, 4] does not match the model's "
                                    "[-1, 3]"),
            std::string::npos)
      << ErrorOf(bad_shape);

  ModelInferRequest bad_rank = TypedRequest();
  bad_rank.mutable_inputs(0)->add_shape(1);
  EXPECT_NE(ErrorOf(bad_rank).find("rank 3 vs 2"), std::string::npos);

  ModelInferRequest bad_type = TypedRequest();
  bad_type.mutable_inputs(0)->set_datatype("BYTES");
  EXPECT_NE(ErrorOf(bad_type).find("\"BYTES\" is not supported"),
            std::string::npos);

  ModelInferRequest few_values = TypedRequest();
  few_values.mutable_inputs(0)
      ->mutable_contents()
      ->mutable_fp32_contents()
      ->RemoveLast();
  EXPECT_NE(ErrorOf(few_values)
                .find("hold 5 FP32 values; shape [2, 3] "
                      "needs 6"),
            std::string::npos)
      << ErrorOf(few_values);

  ModelInferRequest typed_half = TypedRequest();
  typed_half.mutable_inputs(0)->set_datatype("FP16");
  EXPECT_NE(ErrorOf(typed_half).find("raw_input_contents"), std::string::npos);

  ModelInferRequest not_integer = TypedRequest();
  not_integer.mutable_inputs(1)->set_datatype("FP32");
  not_integer.mutable_inputs(1)->clear_contents();
  for (float v : {1.f, 2.5f, 3.f, 4.f}) {
    not_integer.mutable_inputs(1)->mutable_contents()->add_fp32_contents(v);
  }
  EXPECT_NE(ErrorOf(not_integer).find("element 1 (2.5) is not an integer"),
            std::string::npos)
      << ErrorOf(not_integer);

  EXPECT_NE(ErrorOf(TypedRequest(), 1)
                .find("batch size 2 exceeds the "
                      "model's max_batch_size 1"),
            std::string::npos);

  ModelInferRequest negative = TypedRequest();
  negative.mutable_inputs(0)->set_shape(0, -2);
  EXPECT_FALSE(DecodeInputs(negative, Specs(), 0).ok());
}

TEST(DecodeInputsTest, RawByteCountsAreChecked) {
  ModelInferRequest request;
  AddInput(request, "image", "FP32", {1, 3});
  AddInput(request, "tokens", "INT64", {1, 2});
  *request.add_raw_input_contents() = Raw(std::vector<float>{1, 2});
  *request.add_raw_input_contents() = Raw(std::vector<int64_t>{1, 2});
  EXPECT_NE(ErrorOf(request).find("holds 8 bytes; shape [1, 3] of FP32 "
                                  "needs 12"),
            std::string::npos)
      << ErrorOf(request);

  request.mutable_raw_input_contents()->RemoveLast();
  EXPECT_NE(ErrorOf(request).find("1 entries for 2 inputs"), std::string::npos);
}

TEST(EncodeOutputsTest, TypedByDefaultRawOnRequest) {
  const std::vector<model::TensorSpec> specs = {
      {"logits", model::DataType::kFloat32, {-1, 2}},
      {"index", model::DataType::kInt64, {-1}}};
  const std::vector<model::Tensor> outputs = {
      model::Tensor::FromVector({1, 2}, {0.5f, -1.5f}),
      model::Tensor::FromInt64Vector({1}, {3})};

  ModelInferRequest request;
  ModelInferResponse typed;
  ASSERT_TRUE(EncodeOutputs(request, specs, outputs, &typed).ok());
  ASSERT_EQ(typed.outputs_size(), 2);
  EXPECT_EQ(typed.raw_output_contents_size(), 0);
  EXPECT_EQ(typed.outputs(0).datatype(), "FP32");
  EXPECT_EQ(typed.outputs(0).contents().fp32_contents(1), -1.5f);
  EXPECT_EQ(typed.outputs(1).contents().int64_contents(0), 3);

  ModelInferRequest binary;
  (*binary.mutable_parameters())["binary_data_output"].set_bool_param(true);
  ModelInferResponse raw;
  ASSERT_TRUE(EncodeOutputs(binary, specs, outputs, &raw).ok());
  ASSERT_EQ(raw.raw_output_contents_size(), 2);
  EXPECT_FALSE(raw.outputs(0).has_contents());
  float values[2];
  std::memcpy(values, raw.raw_output_contents(0).data(), 8);
  EXPECT_EQ(values[1], -1.5f);

  ModelInferRequest one;
  auto* wanted = one.add_outputs();
  wanted->set_name("logits");
  (*wanted->mutable_parameters())["datatype"].set_string_param("FP16");
  ModelInferResponse half;
  ASSERT_TRUE(EncodeOutputs(one, specs, outputs, &half).ok());
  ASSERT_EQ(half.outputs_size(), 1);
  EXPECT_EQ(half.outputs(0).datatype(), "FP16");
  ASSERT_EQ(half.raw_output_contents(0).size(), 4u);
  uint16_t bits[2];
  std::memcpy(bits, half.raw_output_contents(0).data(), 4);
  EXPECT_EQ(recorder::HalfToFloatScalar(bits[0]), 0.5f);

  ModelInferRequest unknown;
  unknown.add_outputs()->set_name("probs");
  ModelInferResponse none;
  absl::Status status = EncodeOutputs(unknown, specs, outputs, &none);
  EXPECT_TRUE(absl::IsInvalidArgument(status));
  EXPECT_NE(status.message().find("it has: logits, index"),
            absl::string_view::npos);

  ModelInferRequest bad_type;
  auto* as_int = bad_type.add_outputs();
  as_int->set_name("logits");
  (*as_int->mutable_parameters())["datatype"].set_string_param("INT32");
  EXPECT_TRUE(absl::IsInvalidArgument(CheckRequestedOutputs(bad_type, specs)));
}

}  // namespace
}  // namespace ember::server
