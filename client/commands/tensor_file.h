// Tensors for `ember infer`: read from JSON or NumPy `.npy` files (or
// stdin), converted to the datatype a model expects, and written as JSON.
//
// JSON input: {"shape": [2, 3], "data": [1, 2, 3, 4, 5, 6]} with an
// optional "datatype" ("FP32", "INT64", ...). "data" may also be nested
// ([[1, 2, 3], [4, 5, 6]]), in which case "shape" may be left out.
// .npy input: format versions 1-3, C order, dtypes <f2 <f4 <f8 |i1 <i2 <i4
// <i8 |u1 <u2 <u4 <u8 |b1 (big-endian ">" forms are byte-swapped).
//
//   EMBER_ASSIGN_OR_RETURN(Tensor t, ReadTensorFile("image", "7.npy",
//                                                   std::cin, "FP32"));
//   EMBER_ASSIGN_OR_RETURN(t, ConvertTensor(t, "FP32"));
//   std::string text = json::Write(TensorToJson(t));

#ifndef EMBER_CLIENT_COMMANDS_TENSOR_FILE_H_
#define EMBER_CLIENT_COMMANDS_TENSOR_FILE_H_

#include <istream>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "client/ember_client.h"
#include "common/json.h"

namespace ember::client {

// Reads `path` ("-": all of `in`) as .npy when it starts with the NumPy
// magic, else as JSON. `default_datatype` applies to JSON without a
// "datatype". Inputs over 256 MiB (the server's default message limit) are
// refused. Errors are INVALID_ARGUMENT (NOT_FOUND for a missing file) and
// name the file.
absl::StatusOr<Tensor> ReadTensorFile(const std::string& name,
                                      const std::string& path, std::istream& in,
                                      const std::string& default_datatype);

// The two formats, from bytes; `source` names them in errors.
absl::StatusOr<Tensor> ParseTensorJson(const std::string& name,
                                       absl::string_view text,
                                       absl::string_view source,
                                       const std::string& default_datatype);
absl::StatusOr<Tensor> ParseNpy(const std::string& name,
                                absl::string_view bytes,
                                absl::string_view source);

// `tensor` as `datatype` (unchanged when it already is). Integer targets
// need integral values in range; errors name the tensor and element.
absl::StatusOr<Tensor> ConvertTensor(const Tensor& tensor,
                                     const std::string& datatype);

// {"name", "datatype", "shape", "data": [flat, row-major]}: the input
// format, so an output can be fed back in. Floats are written in their
// shortest exact form.
json::Value TensorToJson(const Tensor& tensor);

// One element as text, shortest exact form ("0.05404022", "-3", "true").
std::string ElementText(const Tensor& tensor, size_t index);

}  // namespace ember::client

#endif  // EMBER_CLIENT_COMMANDS_TENSOR_FILE_H_
