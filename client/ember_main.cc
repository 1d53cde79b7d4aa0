// `ember`: the Ember command line. Each command lives in client/commands/
// and is registered once in the table below.

#include <iostream>
#include <string>
#include <vector>

#include "client/commands/command.h"
#include "client/commands/config_skeleton_command.h"
#include "client/commands/convert_command.h"
#include "client/commands/dispatch.h"
#include "client/commands/inspect_command.h"
#include "client/commands/predict_command.h"

namespace {

using ember::client::CommandEntry;
using ember::client::ConfigSkeletonCommand;
using ember::client::ConvertCommand;
using ember::client::InspectCommand;
using ember::client::PredictCommand;

// Every `ember` command, in the order `ember help` lists them.
const CommandEntry kCommands[] = {
    {InspectCommand::kName, InspectCommand::kSummary,
     InspectCommand::kDescription, &ember::client::MakeInspectCommand},
    {ConvertCommand::kName, ConvertCommand::kSummary,
     ConvertCommand::kDescription, &ember::client::MakeConvertCommand},
    {ConfigSkeletonCommand::kName, ConfigSkeletonCommand::kSummary,
     ConfigSkeletonCommand::kDescription,
     &ember::client::MakeConfigSkeletonCommand},
    {PredictCommand::kName, PredictCommand::kSummary,
     PredictCommand::kDescription, &ember::client::MakePredictCommand},
};

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  return ember::client::RunCli(kCommands, args, std::cout, std::cerr);
}
