// `ember`: the Ember command line. Each command lives in client/commands/
// and is registered once in the table below.

#include <iostream>
#include <string>
#include <vector>

#include "client/commands/command.h"
#include "client/commands/config_skeleton_command.h"
#include "client/commands/convert_command.h"
#include "client/commands/dispatch.h"
#include "client/commands/health_command.h"
#include "client/commands/infer_command.h"
#include "client/commands/inspect_command.h"
#include "client/commands/metadata_command.h"
#include "client/commands/models_command.h"
#include "client/commands/predict_command.h"
#include "client/commands/repository_command.h"
#include "client/commands/transfer_command.h"

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
    // Commands that talk to a server.
    {ember::client::HealthCommand::kName,
     ember::client::HealthCommand::kSummary,
     ember::client::HealthCommand::kDescription,
     &ember::client::MakeHealthCommand},
    {ember::client::ModelsCommand::kName,
     ember::client::ModelsCommand::kSummary,
     ember::client::ModelsCommand::kDescription,
     &ember::client::MakeModelsCommand},
    {ember::client::MetadataCommand::kName,
     ember::client::MetadataCommand::kSummary,
     ember::client::MetadataCommand::kDescription,
     &ember::client::MakeMetadataCommand},
    {ember::client::InferCommand::kName, ember::client::InferCommand::kSummary,
     ember::client::InferCommand::kDescription,
     &ember::client::MakeInferCommand},
    {ember::client::UploadCommand::kName,
     ember::client::UploadCommand::kSummary,
     ember::client::UploadCommand::kDescription,
     &ember::client::MakeUploadCommand},
    {ember::client::DownloadCommand::kName,
     ember::client::DownloadCommand::kSummary,
     ember::client::DownloadCommand::kDescription,
     &ember::client::MakeDownloadCommand},
    {ember::client::RepositoryCommand::kLoadName,
     ember::client::RepositoryCommand::kLoadSummary,
     ember::client::RepositoryCommand::kLoadDescription,
     &ember::client::MakeLoadCommand},
    {ember::client::RepositoryCommand::kUnloadName,
     ember::client::RepositoryCommand::kUnloadSummary,
     ember::client::RepositoryCommand::kUnloadDescription,
     &ember::client::MakeUnloadCommand},
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
