#include "client/commands/config_skeleton_command.h"

#include "common/status_macros.h"
#include "model/config_skeleton.h"
#include "recorder/codec.h"
#include "recorder/record.h"

namespace ember::client {

void ConfigSkeletonCommand::DefineArgs(ArgParser& args) {
  args.AddPositional("FILE", &path_, "the record (.mpk or .mpk.gz)");
  args.AddExample("ember config-skeleton model.mpk > config.pbtxt",
                  "a config to complete by hand");
}

absl::Status ConfigSkeletonCommand::Run(std::ostream& out) {
  EMBER_ASSIGN_OR_RETURN(recorder::Record record,
                         recorder::DecodeRecordFile(path_));
  EMBER_ASSIGN_OR_RETURN(std::string text,
                         model::ConfigSkeleton(record, path_));
  out << text;
  return absl::OkStatus();
}

std::unique_ptr<Command> MakeConfigSkeletonCommand() {
  return std::make_unique<ConfigSkeletonCommand>();
}

}  // namespace ember::client
