// Finding the record a model directory serves, for offline use
// (`ember predict`): the same directory layout the daemon watches.
//
//   <dir>/config.pbtxt
//   <dir>/<version>/model.mpk        (or model.mpk.gz, or config.record_file)
//   <dir>/model.mpk                  (a record directly in the directory)
//
//   EMBER_ASSIGN_OR_RETURN(std::string record, FindServedRecord(dir, config));

#ifndef EMBER_MODEL_MODEL_DIR_H_
#define EMBER_MODEL_MODEL_DIR_H_

#include <string>

#include "absl/status/statusor.h"
#include "proto/model_config.pb.h"

namespace ember::model {

// The record file of the highest numbered version directory of `dir` that
// holds one; with no such directory, a record directly in `dir`. Version
// directories follow the daemon's rule: positive decimal integers without
// leading zeros. The file
// name is config.record_file(), or "model.mpk" then "model.mpk.gz" when
// that is empty. NotFound names the directory and the names tried.
absl::StatusOr<std::string> FindServedRecord(const std::string& dir,
                                             const config::ModelConfig& config);

}  // namespace ember::model

#endif  // EMBER_MODEL_MODEL_DIR_H_
