// `ember upload` and `ember download`: move Burn records to and from a
// server's repository (the records service), with a progress display on
// stderr (see ProgressBar): redrawn in place when stderr and stdout are
// both terminals, plain lines otherwise.
//
//   $ ember upload connect4 model.mpk --precision half --wait
//   uploaded connect4 version 2: model.mpk, 10.2 KiB, half precision, mpk
//   serving: yes
//
//   $ ember download connect4 --precision full -o connect4.mpk
//   downloaded connect4 version 2 to connect4.mpk: 19.8 KiB, full ...
//
// A download's file appears only once it is complete and verified.

#ifndef EMBER_CLIENT_COMMANDS_TRANSFER_COMMAND_H_
#define EMBER_CLIENT_COMMANDS_TRANSFER_COMMAND_H_

#include <memory>
#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "client/commands/arg_parser.h"
#include "client/commands/command.h"
#include "client/commands/server_command.h"
#include "client/ember_client.h"

namespace ember::client {

// Options shared by both directions.
struct TransferFlags {
  std::string version;
  std::string precision = "as-is";
  std::string format = "as-is";
  std::string chunk_size;
  bool quiet = false;
  bool json = false;

  int64_t parsed_version = 0;
  Precision parsed_precision = records::v1::PRECISION_KEEP;
  RecordFormat parsed_format = records::v1::FORMAT_KEEP;
  int parsed_chunk_size = 1 << 20;

  void Define(ArgParser& args, bool upload);
  absl::Status Validate();

  // A client for `server` that moves parsed_chunk_size bytes a message.
  absl::StatusOr<std::unique_ptr<EmberClient>> MakeClient(
      const ServerFlags& server) const;
  // Sets the options both directions share (UploadOptions or
  // DownloadOptions) from `model` and the parsed flags.
  template <typename Options>
  void Fill(const std::string& model, Options& options) const {
    options.model = model;
    options.version = parsed_version;
    options.precision = parsed_precision;
    options.format = parsed_format;
  }
};

// One invocation of `ember upload`; not thread-safe.
class UploadCommand : public Command {
 public:
  static constexpr const char* kName = "upload";
  static constexpr const char* kSummary =
      "upload a Burn record as a new version of a served model";
  static constexpr const char* kDescription =
      "Streams FILE (a Burn .mpk or .mpk.gz record) to the server, which "
      "checks its\nSHA-256, converts it to --precision and --format, checks "
      "it against the\nmodel as loading would, and stores it as a new version "
      "(the "
      "next free number unless\n--version is given; an existing version is "
      "never overwritten). A model that\ndoes not exist yet needs "
      "--config. With --wait the command returns once\nthe version serves "
      "and fails when it does not within --timeout. Progress\nis drawn on "
      "stderr on a terminal, and printed as plain lines otherwise.";

  void DefineArgs(ArgParser& args) override;
  absl::Status Validate() override;
  // JSON keys: model, version, file_name, size, precision, format,
  // sha256, sent_sha256, serving, serving_message.
  absl::Status Run(std::ostream& out) override;

 private:
  ServerFlags server_;
  TransferFlags transfer_;
  std::string model_;
  std::string file_;
  std::string config_;
  bool replace_config_ = false;
  bool wait_ = false;
};

// One invocation of `ember download`; not thread-safe.
class DownloadCommand : public Command {
 public:
  static constexpr const char* kName = "download";
  static constexpr const char* kSummary =
      "download a model's record at a chosen precision and format";
  static constexpr const char* kDescription =
      "Fetches a version's Burn record (default: the latest served) as the "
      "server\nstores it or converted to --precision and --format, exactly "
      "as Burn's\nrecorder with that setting writes it. The bytes go to a "
      "temporary file\nbeside -o FILE, are checked against the size and "
      "SHA-256 the server\nannounced, synced and renamed into place: FILE "
      "appears only when complete,\nand an existing FILE is untouched on "
      "failure.";

  void DefineArgs(ArgParser& args) override;
  absl::Status Validate() override;
  // JSON keys: model, version, file, size, precision, format, sha256.
  absl::Status Run(std::ostream& out) override;

 private:
  ServerFlags server_;
  TransferFlags transfer_;
  std::string model_;
  std::string output_;
};

std::unique_ptr<Command> MakeUploadCommand();
std::unique_ptr<Command> MakeDownloadCommand();

}  // namespace ember::client

#endif  // EMBER_CLIENT_COMMANDS_TRANSFER_COMMAND_H_
