// `ember config-skeleton FILE`: prints a starting config.pbtxt for a Burn
// record, with its recognisable modules as layers (in record order, with
// their record paths and inferred types) and "# FILL IN" marks wherever the
// record cannot say what the model does (activations, pooling, padding,
// stride, input and output names). See model/config_skeleton.h.
//
//   $ ember config-skeleton model.mpk > models/mine/config.pbtxt

#ifndef EMBER_CLIENT_COMMANDS_CONFIG_SKELETON_COMMAND_H_
#define EMBER_CLIENT_COMMANDS_CONFIG_SKELETON_COMMAND_H_

#include <memory>
#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "client/commands/arg_parser.h"
#include "client/commands/command.h"

namespace ember::client {

// One invocation of `ember config-skeleton`; not thread-safe.
class ConfigSkeletonCommand : public Command {
 public:
  static constexpr const char* kName = "config-skeleton";
  static constexpr const char* kSummary =
      "print a starting config.pbtxt for a Burn record";
  static constexpr const char* kDescription =
      "Reads a Burn record and prints a config.pbtxt to start from: one "
      "layer per\nrecognised module (linear, conv1d/2d, batch/layer/group "
      "norm, embedding,\nlstm, bilstm) in record order, with its record "
      "path, and a \"# FILL IN\"\nmark for everything the record does not "
      "carry: activations, pooling,\npadding, stride, input and output names "
      "and shapes.";

  void DefineArgs(ArgParser& args) override;
  absl::Status Run(std::ostream& out) override;

 private:
  std::string path_;
};

std::unique_ptr<Command> MakeConfigSkeletonCommand();

}  // namespace ember::client

#endif  // EMBER_CLIENT_COMMANDS_CONFIG_SKELETON_COMMAND_H_
