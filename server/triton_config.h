// A served model's configuration in the form Triton's ModelConfig RPC
// returns (`inference.ModelConfig`), so Triton's clients and tools (for
// example perf_analyzer, which reads max_batch_size and the input shapes
// from it) work against emberd unchanged.
//
//   inference::ModelConfig triton =
//       ToTritonConfig("connect4", servable->config, *servable->model);
//
// Batching follows Triton's rule: with max_batch_size > 0 every input and
// output has a leading batch dimension that `dims` leave out. Ember reports
// that form when its config sets max_batch_size and every input and output
// spec starts with a dimension of any size; otherwise max_batch_size is 0
// and `dims` are the whole shapes (-1 where any size goes).

#ifndef EMBER_SERVER_TRITON_CONFIG_H_
#define EMBER_SERVER_TRITON_CONFIG_H_

#include <string>

#include "model/model.h"
#include "proto/grpc_service.pb.h"
#include "proto/model_config.pb.h"

namespace ember::server {

inference::ModelConfig ToTritonConfig(const std::string& name,
                                      const config::ModelConfig& config,
                                      const model::Model& model);

}  // namespace ember::server

#endif  // EMBER_SERVER_TRITON_CONFIG_H_
