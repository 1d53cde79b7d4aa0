#include "client/commands/transfer_command.h"

#include <unistd.h>

#include <iostream>
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "client/commands/progress_bar.h"
#include "common/json.h"
#include "common/status_macros.h"

namespace ember::client {
namespace {

// The progress display for a transfer, or none with --quiet.
std::unique_ptr<ProgressBar> MakeBar(const std::string& label, bool quiet) {
  if (quiet) return nullptr;
  ProgressBar::Options options;
  options.label = label;
  // Redrawing is for a person watching: when either stream goes to a file
  // or a pipe the output is being kept or parsed, so it gets plain lines.
  options.terminal = isatty(STDERR_FILENO) != 0 && isatty(STDOUT_FILENO) != 0;
  return std::make_unique<ProgressBar>(std::cerr, std::move(options));
}

ProgressCallback Report(ProgressBar* bar) {
  if (bar == nullptr) return nullptr;
  return [bar](uint64_t done, uint64_t total) { bar->Update(done, total); };
}

absl::StatusOr<std::string> ReadText(const std::string& path) {
  FILE* file = fopen(path.c_str(), "rb");
  if (file == nullptr) {
    return absl::NotFoundError(absl::StrCat("cannot read ", path));
  }
  std::string text;
  char buffer[65536];
  size_t n;
  while ((n = fread(buffer, 1, sizeof(buffer), file)) > 0) {
    text.append(buffer, n);
  }
  const bool failed = ferror(file) != 0;
  fclose(file);
  if (failed) return absl::DataLossError(absl::StrCat("error reading ", path));
  return text;
}

json::Value RecordJson(const RecordInfo& info) {
  json::Value doc = json::Value::MakeObject();
  doc.Set("model", json::Value::String(info.model()));
  doc.Set("version", json::Value::Int(info.version()));
  doc.Set("file_name", json::Value::String(info.file_name()));
  doc.Set("size", json::Value::Uint(info.size()));
  doc.Set("precision",
          json::Value::String(std::string(PrecisionName(info.precision()))));
  doc.Set("format",
          json::Value::String(std::string(RecordFormatName(info.format()))));
  doc.Set("sha256", json::Value::String(info.sha256()));
  return doc;
}

std::string Describe(const RecordInfo& info) {
  return absl::StrCat(HumanBytes(info.size()), ", ",
                      PrecisionName(info.precision()), " precision, ",
                      RecordFormatName(info.format()), ", sha256 ",
                      info.sha256().substr(0, 12));
}

}  // namespace

void TransferFlags::Define(ArgParser& args, bool upload) {
  args.AddString("version", "N", &version,
                 upload ? "version to create (default: one more than the "
                          "highest)"
                        : "version to fetch (default: the latest served)");
  args.AddString("precision", "full|half|double|as-is", &precision,
                 upload ? "precision to store the record at (default as-is)"
                        : "precision to fetch the record at (default as-is)");
  args.AddString("format", "mpk|mpk.gz|as-is", &format,
                 upload ? "container to store (default as-is)"
                        : "container to fetch (default as-is)");
  args.AddString("chunk-size", "BYTES", &chunk_size,
                 "bytes per message, 4 KiB .. 3 MiB (default 1 MiB)");
  args.AddBool("quiet", &quiet, "no progress display");
  args.AddShortName('q', "quiet");
  args.AddBool("json", &json, "print the result as JSON");
}

absl::Status TransferFlags::Validate() {
  if (!version.empty() &&
      (!absl::SimpleAtoi(version, &parsed_version) || parsed_version < 1)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--version takes a positive whole number, not \"", version, "\""));
  }
  EMBER_ASSIGN_OR_RETURN(parsed_precision, ParsePrecision(precision));
  EMBER_ASSIGN_OR_RETURN(parsed_format, ParseRecordFormat(format));
  if (!chunk_size.empty() &&
      (!absl::SimpleAtoi(chunk_size, &parsed_chunk_size) ||
       parsed_chunk_size < 4096 || parsed_chunk_size > (3 << 20))) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--chunk-size takes 4096 .. 3145728 bytes, not \"", chunk_size, "\""));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<EmberClient>> TransferFlags::MakeClient(
    const ServerFlags& server) const {
  EMBER_ASSIGN_OR_RETURN(ClientOptions options, server.MakeOptions());
  options.chunk_bytes = parsed_chunk_size;
  return EmberClient::Create(std::move(options));
}

void UploadCommand::DefineArgs(ArgParser& args) {
  args.AddPositional("MODEL", &model_, "model name");
  args.AddPositional("FILE", &file_, "Burn record (.mpk or .mpk.gz)");
  transfer_.Define(args, /*upload=*/true);
  args.AddString("config", "FILE", &config_,
                 "config.pbtxt for a new model (or with --replace-config, a "
                 "new config)");
  args.AddBool("replace-config", &replace_config_,
               "replace the model's existing, different config");
  args.AddBool("wait", &wait_,
               "return once the new version serves (fail after --timeout)");
  server_.Define(args);
  args.AddExample("ember upload connect4 model.mpk --wait",
                  "the next version of connect4, returning once it serves");
  args.AddExample(
      "ember upload lenet lenet.mpk --config lenet.pbtxt --precision half "
      "--format mpk.gz",
      "a new model, stored as a half-precision .mpk.gz");
}

absl::Status UploadCommand::Validate() {
  EMBER_RETURN_IF_ERROR(server_.Validate());
  return transfer_.Validate();
}

absl::Status UploadCommand::Run(std::ostream& out) {
  EMBER_ASSIGN_OR_RETURN(std::unique_ptr<EmberClient> client,
                         transfer_.MakeClient(server_));
  UploadOptions options;
  transfer_.Fill(model_, options);
  if (!config_.empty()) {
    EMBER_ASSIGN_OR_RETURN(options.config_pbtxt, ReadText(config_));
  }
  options.replace_config = replace_config_;
  options.wait_until_serving = wait_;
  options.wait_timeout = server_.timeout();

  std::unique_ptr<ProgressBar> bar =
      MakeBar(absl::StrCat("upload ", model_), transfer_.quiet);
  options.progress = Report(bar.get());
  absl::StatusOr<UploadResult> result = client->UploadFile(file_, options);
  if (!result.ok()) {
    if (bar != nullptr) bar->Abandon();
    return ServerError(result.status());
  }
  if (bar != nullptr) bar->Finish();

  const RecordInfo& info = result->record;
  if (transfer_.json) {
    json::Value doc = RecordJson(info);
    doc.Set("sent_sha256", json::Value::String(result->sent_sha256));
    doc.Set("serving", json::Value::Bool(result->serving));
    doc.Set("serving_message", json::Value::String(result->serving_message));
    out << json::Write(doc, {.indent = 2}) << "\n";
  } else {
    out << "uploaded " << info.model() << " version " << info.version() << ": "
        << info.file_name() << ", " << Describe(info) << "\n";
    if (wait_) {
      out << "serving: "
          << (result->serving ? "yes" : "no (" + result->serving_message + ")")
          << "\n";
    }
  }
  if (wait_ && !result->serving) {
    return absl::DeadlineExceededError(absl::StrCat(
        "version ", info.version(),
        " was stored but is not serving: ", result->serving_message));
  }
  return absl::OkStatus();
}

void DownloadCommand::DefineArgs(ArgParser& args) {
  args.AddPositional("MODEL", &model_, "model name");
  args.AddString("output", "FILE", &output_, "file to write (required)");
  args.AddShortName('o', "output");
  transfer_.Define(args, /*upload=*/false);
  server_.Define(args);
  args.AddExample("ember download connect4 -o connect4.mpk",
                  "the served record, as stored");
  args.AddExample(
      "ember download lenet --version 3 --precision full --format mpk.gz -o "
      "lenet-f32.mpk.gz",
      "version 3 converted to full precision, gzipped");
}

absl::Status DownloadCommand::Validate() {
  EMBER_RETURN_IF_ERROR(server_.Validate());
  if (output_.empty()) {
    return absl::InvalidArgumentError("give the file to write with -o FILE");
  }
  return transfer_.Validate();
}

absl::Status DownloadCommand::Run(std::ostream& out) {
  EMBER_ASSIGN_OR_RETURN(std::unique_ptr<EmberClient> client,
                         transfer_.MakeClient(server_));
  DownloadOptions options;
  transfer_.Fill(model_, options);
  std::unique_ptr<ProgressBar> bar =
      MakeBar(absl::StrCat("download ", model_), transfer_.quiet);
  options.progress = Report(bar.get());
  absl::StatusOr<RecordInfo> info = client->DownloadToFile(output_, options);
  if (!info.ok()) {
    if (bar != nullptr) bar->Abandon();
    return ServerError(info.status());
  }
  if (bar != nullptr) bar->Finish();

  if (transfer_.json) {
    json::Value doc = RecordJson(*info);
    doc.Set("file", json::Value::String(output_));
    out << json::Write(doc, {.indent = 2}) << "\n";
  } else {
    out << "downloaded " << info->model() << " version " << info->version()
        << " to " << output_ << ": " << Describe(*info) << "\n";
  }
  return absl::OkStatus();
}

std::unique_ptr<Command> MakeUploadCommand() {
  return std::make_unique<UploadCommand>();
}

std::unique_ptr<Command> MakeDownloadCommand() {
  return std::make_unique<DownloadCommand>();
}

}  // namespace ember::client
