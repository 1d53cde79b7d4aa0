// Conversion between Open Inference Protocol tensors and model tensors.
//
// Inputs arrive typed (InferTensorContents) or raw (raw_input_contents,
// little-endian, row-major; the only way FP16 travels). FP32, FP16, FP64,
// INT32 and INT64 inputs are converted to what the model declares (FP32 or
// INT64; a float sent to an INT64 input must hold an integral value). Every
// problem is INVALID_ARGUMENT with a message that names the input and says
// what was expected.
//
// Outputs are the ones the request names (all, in model order, when it
// names none), as FP32/INT64 or, on request through the output parameter
// "datatype", as FP16/FP64 (float outputs) or INT32 (integer outputs). They
// travel raw when the request asks (request parameter "binary_data_output"
// or output parameter "binary_data"), when it sent raw inputs, or when an
// output is FP16; otherwise typed.
//
//   EMBER_ASSIGN_OR_RETURN(DecodedInputs in,
//                          DecodeInputs(request, model.inputs(), 64));
//   ... Forward(in.tensors) ...
//   EMBER_RETURN_IF_ERROR(EncodeOutputs(request, model.outputs(), outputs,
//                                       &response));

#ifndef EMBER_SERVER_INFER_CODEC_H_
#define EMBER_SERVER_INFER_CODEC_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "model/model.h"
#include "model/tensor.h"
#include "proto/grpc_service.pb.h"

namespace ember::server {

struct DecodedInputs {
  // One per model input, in the model's order.
  std::vector<model::Tensor> tensors;
  // Batch size (first dimension) when the model is batched, else 1.
  int64_t batch_size = 1;
};

// Validates the request's inputs against `specs` and converts them.
// `max_batch_size` > 0 limits the first dimension of batched inputs (those
// whose spec's first dimension is -1).
absl::StatusOr<DecodedInputs> DecodeInputs(
    const inference::ModelInferRequest& request,
    absl::Span<const model::TensorSpec> specs, int64_t max_batch_size);

// Checks the requested outputs and datatypes before any work is done.
absl::Status CheckRequestedOutputs(const inference::ModelInferRequest& request,
                                   absl::Span<const model::TensorSpec> specs);

// Fills `response` outputs (and raw_output_contents) from `outputs`, which
// hold one tensor per entry of `specs`.
absl::Status EncodeOutputs(const inference::ModelInferRequest& request,
                           absl::Span<const model::TensorSpec> specs,
                           const std::vector<model::Tensor>& outputs,
                           inference::ModelInferResponse* response);

// Byte size of one element of an Open Inference Protocol datatype Ember
// accepts ("FP32", "FP16", "FP64", "INT32", "INT64"); 0 for others.
int WireDatatypeSize(absl::string_view datatype);

}  // namespace ember::server

#endif  // EMBER_SERVER_INFER_CODEC_H_
