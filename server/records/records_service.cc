#include "server/records/records_service.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/sha256.h"
#include "glog/logging.h"
#include "google/protobuf/util/message_differencer.h"
#include "model/model_builder.h"
#include "proto/model_config.pb.h"
#include "server/records/chunk_pipeline.h"
#include "server/records/repository_files.h"
#include "server/records/repository_names.h"

namespace ember::records {
namespace {

namespace v1 = ::ember::records::v1;

constexpr uint32_t kMinChunkSize = 4096;
constexpr uint32_t kMaxChunkSize = 3 << 20;
constexpr absl::Duration kDefaultServingWait = absl::Seconds(60);
// Cached file facts kept at most; the cache is dropped whole beyond this.
constexpr size_t kMaxCachedFacts = 4096;

// The one place an absl::Status becomes a grpc::Status (the codes share
// their numbers).
grpc::Status ToGrpc(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()));
}

// `status` with `context` put in front of its message, same code.
absl::Status Annotate(const absl::Status& status, absl::string_view context) {
  if (status.ok()) return status;
  return absl::Status(status.code(),
                      absl::StrCat(context, ": ", status.message()));
}

v1::Precision ToProto(recorder::Precision precision) {
  switch (precision) {
    case recorder::Precision::kFull:
      return v1::PRECISION_FULL;
    case recorder::Precision::kHalf:
      return v1::PRECISION_HALF;
    case recorder::Precision::kDouble:
      return v1::PRECISION_DOUBLE;
  }
  return v1::PRECISION_MIXED;
}

v1::RecordFormat ToProto(recorder::RecordFormat format) {
  return format == recorder::RecordFormat::kMpkGz ? v1::FORMAT_MPK_GZ
                                                  : v1::FORMAT_MPK;
}

recorder::Precision FromProto(v1::Precision precision) {
  switch (precision) {
    case v1::PRECISION_HALF:
      return recorder::Precision::kHalf;
    case v1::PRECISION_DOUBLE:
      return recorder::Precision::kDouble;
    default:
      return recorder::Precision::kFull;
  }
}

recorder::RecordFormat FromProto(v1::RecordFormat format) {
  return format == v1::FORMAT_MPK_GZ ? recorder::RecordFormat::kMpkGz
                                     : recorder::RecordFormat::kMpk;
}

// Requests may ask for KEEP or a concrete precision, never MIXED.
absl::Status ValidateRequestedPrecision(int precision) {
  if (precision < v1::PRECISION_KEEP || precision > v1::PRECISION_DOUBLE) {
    return absl::InvalidArgumentError(
        absl::StrCat("precision ", precision,
                     " cannot be requested (use KEEP, FULL, HALF or DOUBLE)"));
  }
  return absl::OkStatus();
}

absl::Status ValidateRequestedFormat(int format) {
  if (format < v1::FORMAT_KEEP || format > v1::FORMAT_MPK_GZ) {
    return absl::InvalidArgumentError(absl::StrCat(
        "format ", format, " is unknown (use KEEP, MPK or MPK_GZ)"));
  }
  return absl::OkStatus();
}

bool IsGzip(absl::string_view bytes) {
  return bytes.size() >= 2 && static_cast<unsigned char>(bytes[0]) == 0x1f &&
         static_cast<unsigned char>(bytes[1]) == 0x8b;
}

// Precision, Burn version and settings of a decoded record.
void DescribeRecord(const recorder::Record& record, v1::RecordInfo* info) {
  absl::StatusOr<recorder::Precision> precision =
      recorder::RecordPrecision(record);
  info->set_precision(precision.ok() ? ToProto(*precision)
                                     : v1::PRECISION_MIXED);
  const recorder::Metadata metadata = record.metadata();
  info->set_burn_version(metadata.version);
  info->set_settings(metadata.settings);
}

// Reads all of `fd` from offset 0.
absl::StatusOr<std::string> ReadWholeFd(int fd, uint64_t size,
                                        const std::string& path) {
  std::string bytes(size, '\0');
  uint64_t done = 0;
  while (done < size) {
    const ssize_t n = pread(fd, bytes.data() + done, size - done, done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoToStatus(errno, "read", path);
    if (n == 0) {
      return absl::DataLossError(
          absl::StrCat(path, " shrank while being read"));
    }
    done += static_cast<uint64_t>(n);
  }
  return bytes;
}

// A record file name a config may name: a plain file in the version
// directory that the codec can tell the format of.
absl::Status ValidateRecordFileName(const std::string& name,
                                    const std::string& config_path) {
  if (name.empty() || name[0] == '.' || absl::StrContains(name, "/")) {
    return absl::InvalidArgumentError(
        absl::StrCat(config_path, ": record_file \"", name,
                     "\" must be a plain, non-hidden file name"));
  }
  return Annotate(recorder::FormatForPath(name).status(), config_path);
}

// A small file's contents (configs).
absl::StatusOr<std::string> ReadSmallFile(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoToStatus(errno, "open", path);
  struct stat st;
  absl::StatusOr<std::string> bytes = fstat(fd, &st) == 0
                                          ? ReadWholeFd(fd, st.st_size, path)
                                          : ErrnoToStatus(errno, "stat", path);
  close(fd);
  return bytes;
}

// What a call gets once the server drains.
grpc::Status ShuttingDown() {
  return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                      "server is shutting down; retry on another replica");
}

// The builder's verdict on an uploaded record, as the client should see
// it: a record (or config) that does not fit is a bad argument, whichever
// code the builder uses for the detail (NOT_FOUND for a missing record
// path would read as "no such model").
absl::Status NotFitting(const absl::Status& status, absl::string_view what) {
  const std::string message =
      absl::StrCat(what,
                   ": the record does not fit the model's "
                   "architecture: ",
                   status.message());
  switch (status.code()) {
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kOutOfRange:
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kUnimplemented:
      return absl::InvalidArgumentError(message);
    default:
      return absl::Status(status.code(), message);
  }
}

}  // namespace

// A version's record file, open for reading.
struct RecordsService::StoredRecord {
  StoredRecord() = default;
  StoredRecord(StoredRecord&& other)
      : path(std::move(other.path)),
        file_name(std::move(other.file_name)),
        fd(other.fd),
        size(other.size) {
    other.fd = -1;
  }
  StoredRecord& operator=(StoredRecord&&) = delete;
  ~StoredRecord() {
    if (fd >= 0) close(fd);
  }

  std::string path;
  std::string file_name;
  int fd = -1;
  uint64_t size = 0;
};

// Where an upload is built before it is renamed into place.
struct RecordsService::UploadStaging {
  std::unique_ptr<StagedDirectory> dir;
  // Where the record goes inside `dir`: "" for a new version of an
  // existing model, "<version>/" for a new model.
  std::string prefix;
  // The version of a new model (existing models choose at commit).
  int64_t version = 0;
};

// What an upload stores and the record it holds.
struct RecordsService::PreparedRecord {
  // False when the payload is stored as sent; true when `record` is a
  // conversion still to be encoded into the repository.
  bool converted = false;
  recorder::Record record;
  recorder::RecordFormat format = recorder::RecordFormat::kMpk;
  std::string file_name;  // in the version directory
};

// An upload header, checked, with the model's config resolved.
struct RecordsService::UploadPlan {
  v1::UploadHeader header;
  std::string model_dir;
  std::string config_path;
  // Whether the model directory existed when the upload started.
  bool model_exists = false;
  // The config the record is validated against (the uploaded one when
  // given, else the model's).
  config::ModelConfig config;
  // Write `config_text` as the model's config.pbtxt.
  bool write_config = false;
  std::string config_text;
  // The config's record_file, "" when it names none.
  std::string record_file;
};

absl::StatusOr<std::unique_ptr<RecordsService>> RecordsService::Create(
    Options options) {
  if (options.repository.empty()) {
    return absl::InvalidArgumentError("records service: no repository");
  }
  if (options.auth == nullptr) {
    return absl::InvalidArgumentError(
        "records service: no auth policy (pass AuthPolicy::Open() to serve "
        "without tokens)");
  }
  struct stat st;
  if (stat(options.repository.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return absl::NotFoundError(absl::StrCat("records service: repository ",
                                            options.repository,
                                            " is not a directory"));
  }
  options.default_chunk_size =
      std::clamp(options.default_chunk_size, kMinChunkSize, kMaxChunkSize);
  return std::unique_ptr<RecordsService>(
      new RecordsService(std::move(options)));
}

RecordsService::RecordsService(Options options)
    : options_(std::move(options)),
      upload_slots_(options_.max_concurrent_uploads),
      conversion_slots_(options_.max_concurrent_conversions) {}

absl::Time RecordsService::SlotDeadline(
    const grpc::ServerContext& context) const {
  const absl::Time client =
      absl::FromChrono(context.deadline());  // far future when unset
  return std::min(client, absl::Now() + options_.admission_timeout);
}

// ---------------------------------------------------------------------------
// Upload

grpc::Status RecordsService::Upload(
    grpc::ServerContext* context, grpc::ServerReader<v1::UploadRequest>* reader,
    v1::UploadResponse* response) {
  grpc::Status allowed =
      options_.auth->Check(*context, auth::Permission::kWrite);
  if (!allowed.ok()) return allowed;
  server::RequestGate::Pass pass(options_.gate);
  if (!pass.entered()) return ShuttingDown();
  absl::Status status = DoUpload(context, reader, response);
  if (!status.ok()) VLOG(1) << "upload refused: " << status;
  return ToGrpc(status);
}

absl::Status RecordsService::DoUpload(
    grpc::ServerContext* context, grpc::ServerReader<v1::UploadRequest>* reader,
    v1::UploadResponse* response) {
  v1::UploadRequest first;
  if (!reader->Read(&first) || !first.has_header()) {
    return absl::InvalidArgumentError(
        "upload: the first message must be the header");
  }
  absl::StatusOr<UploadPlan> plan = PlanUpload(first.header());
  if (!plan.ok()) return plan.status();
  const v1::UploadHeader& header = plan->header;
  const std::string what = absl::StrCat("upload to model ", header.model());

  int64_t version = 0;
  v1::RecordInfo& info = *response->mutable_record();
  {
    // Everything that holds record-sized memory lives in this scope, under
    // one upload slot; the slot frees before waiting for the daemon.
    absl::StatusOr<SlotLimiter::Slot> slot = upload_slots_.Acquire(
        SlotDeadline(*context), [context] { return context->IsCancelled(); },
        what);
    if (!slot.ok()) return slot.status();
    const absl::Time start = absl::Now();

    // The staged (hidden) directory is removed on every early return. The
    // payload goes to disk while it arrives and is read back from the page
    // cache, so the server never holds a second copy of it in memory.
    absl::StatusOr<UploadStaging> staging = StageUpload(*plan);
    if (!staging.ok()) return staging.status();
    StagedDirectory& staged = *staging->dir;
    const std::string sink_name = staging->prefix + "upload";
    absl::StatusOr<std::unique_ptr<StagedFile>> sink =
        staged.CreateFile(sink_name);
    if (!sink.ok()) return Annotate(sink.status(), what);

    std::string payload_sha256;
    absl::StatusOr<uint64_t> received =
        ReceivePayload(context, reader, *plan, sink->get(), &payload_sha256);
    if (!received.ok()) return received.status();
    absl::StatusOr<std::shared_ptr<const MappedFile>> payload = (*sink)->Map();
    if (!payload.ok()) return Annotate(payload.status(), what);
    const absl::Time received_at = absl::Now();

    absl::StatusOr<PreparedRecord> prepared =
        PrepareRecord(*plan, (*payload)->bytes(), *payload, what);
    if (!prepared.ok()) return prepared.status();
    const bool as_sent = !prepared->converted;
    const std::string& file_name = prepared->file_name;
    // Every check the daemon's loader makes, on exactly what will be
    // stored, without materialising a weight.
    absl::Status fits = model::CheckModel(
        plan->config, prepared->record,
        {plan->config_path,
         absl::StrCat(plan->model_dir, "/<new version>/", file_name)});
    if (!fits.ok()) return NotFitting(fits, what);
    const absl::Time validated_at = absl::Now();

    absl::Status status;
    uint64_t stored_size = *received;
    std::string stored_sha256 = payload_sha256;
    if (as_sent) {
      status = (*sink)->Finish();
      if (status.ok()) {
        status = staged.Rename(sink_name, staging->prefix + file_name);
      }
    } else {
      // What is stored is the conversion; the sent bytes' staged file goes.
      sink->reset();
      status = staged.Remove(sink_name);
      if (status.ok()) {
        status = WriteConverted(*prepared, staging->prefix + file_name, staged,
                                &stored_size, &stored_sha256);
      }
    }
    if (!status.ok()) return Annotate(status, what);
    absl::StatusOr<int64_t> committed =
        CommitUpload(context, *plan, staging->version, staged);
    if (!committed.ok()) return committed.status();
    version = *committed;
    VLOG(1) << what << ": received in " << (received_at - start)
            << ", validated in " << (validated_at - received_at)
            << ", written in " << (absl::Now() - validated_at);

    info.set_model(header.model());
    info.set_version(version);
    info.set_size(stored_size);
    info.set_format(ToProto(prepared->format));
    info.set_sha256(stored_sha256);
    info.set_file_name(file_name);
    DescribeRecord(prepared->record, &info);
    const std::string path =
        absl::StrCat(plan->model_dir, "/", version, "/", file_name);
    const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      v1::RecordInfo facts = info;
      facts.clear_model();
      facts.clear_version();
      RememberFacts(path, fd, facts);
      close(fd);
    }
    LOG(INFO) << "stored model " << header.model() << " version " << version
              << " (" << info.file_name() << ", " << info.size() << " bytes, "
              << v1::Precision_Name(info.precision()) << ")";
  }

  if (header.wait_until_serving()) {
    WaitUntilServing(*context, header, version, response);
  }
  if (options_.version_state) {
    info.set_state(options_.version_state(header.model(), version));
  }
  return absl::OkStatus();
}

absl::Status RecordsService::WriteConverted(const PreparedRecord& prepared,
                                            const std::string& name,
                                            StagedDirectory& staged,
                                            uint64_t* size,
                                            std::string* sha256) const {
  // Encoded straight into the staged file and hashed on the way, so the
  // encoded record is never whole in memory.
  absl::StatusOr<std::unique_ptr<StagedFile>> file = staged.CreateFile(name);
  if (!file.ok()) return file.status();
  Sha256 hash;
  absl::Status status = recorder::EncodeRecordTo(
      prepared.record, prepared.format, [&](absl::string_view piece) {
        hash.Update(piece);
        return (*file)->Append(piece);
      });
  if (status.ok()) status = (*file)->Finish();
  if (!status.ok()) return status;
  *size = (*file)->size();
  *sha256 = hash.HexDigest();
  return absl::OkStatus();
}

absl::StatusOr<RecordsService::PreparedRecord> RecordsService::PrepareRecord(
    const UploadPlan& plan, absl::string_view payload,
    std::shared_ptr<const void> owner, const std::string& what) const {
  const v1::UploadHeader& header = plan.header;
  absl::StatusOr<recorder::Record> sent =
      recorder::DecodeRecord(payload, std::move(owner), what, options_.decode);
  if (!sent.ok()) return sent.status();
  const recorder::RecordFormat sent_format =
      IsGzip(payload) ? recorder::RecordFormat::kMpkGz
                      : recorder::RecordFormat::kMpk;
  absl::StatusOr<recorder::Precision> sent_precision =
      recorder::RecordPrecision(*sent);

  PreparedRecord prepared;
  prepared.format = sent_format;
  if (!plan.record_file.empty()) {
    prepared.format = *recorder::FormatForPath(plan.record_file);
  } else if (header.format() != v1::FORMAT_KEEP) {
    prepared.format = FromProto(header.format());
  }
  prepared.file_name =
      plan.record_file.empty()
          ? absl::StrCat("model", recorder::FormatExtension(prepared.format))
          : plan.record_file;
  const bool keep_precision =
      header.precision() == v1::PRECISION_KEEP ||
      (sent_precision.ok() && ToProto(*sent_precision) == header.precision());

  // Bytes already at the wanted precision and format are stored as sent
  // (a gzip file keeps Burn's own compression).
  if (keep_precision && prepared.format == sent_format) {
    prepared.record = *std::move(sent);
    return prepared;
  }
  // Otherwise the codec produces what Burn's recorder writes at the wanted
  // precision and format.
  if (keep_precision && !sent_precision.ok()) {
    return Annotate(sent_precision.status(),
                    absl::StrCat(what,
                                 ": cannot change the format of this "
                                 "record without an explicit "
                                 "precision"));
  }
  const recorder::Precision precision =
      keep_precision ? *sent_precision : FromProto(header.precision());
  absl::StatusOr<recorder::Record> converted =
      recorder::ConvertRecord(*sent, precision, prepared.format);
  if (!converted.ok()) return Annotate(converted.status(), what);
  prepared.converted = true;
  prepared.record = *std::move(converted);
  return prepared;
}

void RecordsService::WaitUntilServing(const grpc::ServerContext& context,
                                      const v1::UploadHeader& header,
                                      int64_t version,
                                      v1::UploadResponse* response) const {
  if (!options_.wait_until_serving) {
    response->set_serving_message("this server cannot report serving state");
    return;
  }
  absl::Duration wait = header.wait_timeout_ms() == 0
                            ? kDefaultServingWait
                            : absl::Milliseconds(header.wait_timeout_ms());
  wait = std::min(wait, options_.max_serving_wait);
  const absl::Time deadline =
      std::min(absl::Now() + wait, absl::FromChrono(context.deadline()));
  absl::Status serving =
      options_.wait_until_serving(header.model(), version, deadline);
  response->set_serving(serving.ok());
  if (!serving.ok()) {
    response->set_serving_message(std::string(serving.message()));
  }
}

absl::StatusOr<RecordsService::UploadPlan> RecordsService::PlanUpload(
    const v1::UploadHeader& header) {
  absl::Status status = ValidateModelName(header.model());
  if (!status.ok()) return status;
  if (header.version() != 0) {
    status = ValidateVersion(header.version());
    if (!status.ok()) return status;
  }
  status = ValidateRequestedPrecision(header.precision());
  if (!status.ok()) return status;
  status = ValidateRequestedFormat(header.format());
  if (!status.ok()) return status;
  if (!header.sha256().empty() && !IsSha256Hex(header.sha256())) {
    return absl::InvalidArgumentError(
        "upload: sha256 must be 64 hexadecimal characters");
  }
  if (header.total_size() > options_.max_upload_bytes) {
    return absl::ResourceExhaustedError(
        absl::StrCat("upload: total_size ", header.total_size(),
                     " is above this server's limit of ",
                     options_.max_upload_bytes, " bytes"));
  }

  UploadPlan plan;
  plan.header = header;
  plan.model_dir = absl::StrCat(options_.repository, "/", header.model());
  plan.config_path = plan.model_dir + "/config.pbtxt";
  plan.model_exists = PathExists(plan.model_dir);

  absl::StatusOr<config::ModelConfig> existing;
  if (plan.model_exists) {
    existing = model::LoadModelConfigFile(plan.config_path);
  }
  if (header.config_pbtxt().empty()) {
    if (!plan.model_exists) {
      return absl::NotFoundError(
          absl::StrCat("model ", header.model(),
                       " does not exist; send its config_pbtxt to create it"));
    }
    if (!existing.ok()) {
      return Annotate(existing.status(),
                      absl::StrCat("model ", header.model(),
                                   " has no usable config (send one in "
                                   "config_pbtxt)"));
    }
    plan.config = *existing;
  } else {
    absl::StatusOr<config::ModelConfig> uploaded = model::ParseModelConfig(
        header.config_pbtxt(), plan.config_path + " (uploaded)");
    if (!uploaded.ok()) return uploaded.status();
    if (!uploaded->name().empty() && uploaded->name() != header.model()) {
      return absl::InvalidArgumentError(
          absl::StrCat("uploaded config names model \"", uploaded->name(),
                       "\" but the upload is for \"", header.model(), "\""));
    }
    const bool same =
        existing.ok() && google::protobuf::util::MessageDifferencer::Equals(
                             *existing, *uploaded);
    // A model directory without any config.pbtxt may get one; a config
    // that exists (even a broken one) is only replaced on request.
    const bool has_config =
        plan.model_exists &&
        existing.status().code() != absl::StatusCode::kNotFound;
    if (has_config && !same && !header.replace_config()) {
      return absl::AlreadyExistsError(
          absl::StrCat("model ", header.model(), " exists with a ",
                       existing.ok() ? "different" : "broken",
                       " config; set replace_config to replace it"));
    }
    plan.config = *std::move(uploaded);
    plan.write_config = !same;
    plan.config_text = header.config_pbtxt();
  }

  plan.record_file = plan.config.record_file();
  if (!plan.record_file.empty()) {
    status = ValidateRecordFileName(plan.record_file, plan.config_path);
    if (!status.ok()) return status;
    const recorder::RecordFormat named =
        *recorder::FormatForPath(plan.record_file);
    if (header.format() != v1::FORMAT_KEEP &&
        FromProto(header.format()) != named) {
      return absl::InvalidArgumentError(absl::StrCat(
          "upload asks for format ", v1::RecordFormat_Name(header.format()),
          " but ", plan.config_path, " names record_file \"", plan.record_file,
          "\""));
    }
  }
  if (plan.model_exists && header.version() != 0 &&
      PathExists(absl::StrCat(plan.model_dir, "/", header.version()))) {
    return absl::AlreadyExistsError(absl::StrCat("version ", header.version(),
                                                 " of model ", header.model(),
                                                 " already exists"));
  }
  return plan;
}

absl::StatusOr<RecordsService::UploadStaging> RecordsService::StageUpload(
    const UploadPlan& plan) {
  UploadStaging staging;
  if (plan.model_exists) {
    // The directory becomes `<model>/<version>`; the version is chosen at
    // commit.
    absl::StatusOr<std::unique_ptr<StagedDirectory>> dir =
        StagedDirectory::Create(plan.model_dir);
    if (!dir.ok()) return dir.status();
    staging.dir = *std::move(dir);
    return staging;
  }
  // A new model appears whole: config and first version in one rename.
  staging.version = plan.header.version() != 0 ? plan.header.version() : 1;
  staging.prefix = absl::StrCat(staging.version, "/");
  absl::StatusOr<std::unique_ptr<StagedDirectory>> dir =
      StagedDirectory::Create(options_.repository);
  if (!dir.ok()) return dir.status();
  staging.dir = *std::move(dir);
  absl::Status status =
      staging.dir->WriteFile("config.pbtxt", plan.config_text);
  if (status.ok()) {
    status = staging.dir->MakeDirectory(absl::StrCat(staging.version));
  }
  if (!status.ok()) return status;
  return staging;
}

absl::StatusOr<uint64_t> RecordsService::ReceivePayload(
    grpc::ServerContext* context, grpc::ServerReader<v1::UploadRequest>* reader,
    const UploadPlan& plan, StagedFile* sink, std::string* sha256) {
  const v1::UploadHeader& header = plan.header;
  const std::string what = absl::StrCat("upload to model ", header.model());
  const uint64_t limit = options_.max_upload_bytes;
  uint64_t size = 0;
  // The digest is taken here, on the chunk just received and still in
  // cache; only the disk write runs beside this loop. On two cores shared
  // with the gRPC threads this measured faster than hashing on the
  // writer's thread, and the hash no longer waits behind a slow disk.
  Sha256 hash;
  ChunkPipeline pipeline(sink);

  v1::UploadRequest message;
  std::string trailer_sha256;
  bool trailer = false;
  while (reader->Read(&message)) {
    if (message.has_header()) {
      return absl::InvalidArgumentError(
          "upload: only the first message may be a header");
    }
    if (trailer) {
      return absl::InvalidArgumentError(
          "upload: nothing may follow the trailer");
    }
    if (message.has_trailer()) {
      trailer = true;
      trailer_sha256 = absl::AsciiStrToLower(message.trailer().sha256());
      if (!trailer_sha256.empty() && !IsSha256Hex(trailer_sha256)) {
        return absl::InvalidArgumentError(
            absl::StrCat(what, ": the trailer's sha256 is not 64 hex digits"));
      }
      continue;
    }
    const std::string& chunk = message.chunk();
    if (size + chunk.size() > limit) {
      return absl::ResourceExhaustedError(absl::StrCat(
          what, ": payload exceeds this server's limit of ", limit, " bytes"));
    }
    size += chunk.size();
    hash.Update(chunk);
    absl::Status pushed = pipeline.Push(std::move(*message.mutable_chunk()));
    if (!pushed.ok()) return Annotate(pushed, what);
  }
  if (context->IsCancelled()) {
    return absl::CancelledError(
        absl::StrCat(what, ": the client went away after ", size,
                     " bytes; nothing was written"));
  }
  absl::Status written = pipeline.Finish();
  if (!written.ok()) return Annotate(written, what);
  if (header.total_size() > 0 && size != header.total_size()) {
    return absl::DataLossError(absl::StrCat(what, ": the stream carried ", size,
                                            " bytes but the header announced ",
                                            header.total_size()));
  }
  if (size == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": no record bytes were sent"));
  }
  *sha256 = hash.HexDigest();
  for (const auto& [said, where] :
       {std::pair{absl::AsciiStrToLower(header.sha256()), "header"},
        std::pair{trailer_sha256, "trailer"}}) {
    if (!said.empty() && said != *sha256) {
      return absl::DataLossError(absl::StrCat(what, ": payload SHA-256 is ",
                                              *sha256, " but the ", where,
                                              " says ", said));
    }
  }
  return size;
}

absl::StatusOr<int64_t> RecordsService::CommitUpload(
    grpc::ServerContext* context, const UploadPlan& plan, int64_t version,
    StagedDirectory& staged) {
  const std::string& model = plan.header.model();
  absl::MutexLock lock(&commit_mu_);
  // The last point at which a client that went away leaves nothing behind.
  if (context->IsCancelled()) {
    return absl::CancelledError(absl::StrCat(
        "upload to model ", model,
        ": the client went away before the commit; nothing was written"));
  }

  if (!plan.model_exists) {
    absl::Status status = staged.Commit(plan.model_dir);
    if (status.code() == absl::StatusCode::kAlreadyExists) {
      return absl::AbortedError(absl::StrCat(
          "model ", model, " was created by another writer meanwhile; retry"));
    }
    if (!status.ok()) {
      return Annotate(status, absl::StrCat("creating model ", model));
    }
    LOG(INFO) << "created model " << model << " with version " << version;
    return version;
  }

  absl::StatusOr<std::vector<int64_t>> versions = ListVersions(plan.model_dir);
  if (!versions.ok()) {
    return absl::AbortedError(
        absl::StrCat("model ", model,
                     " was removed meanwhile: ", versions.status().message()));
  }
  version = plan.header.version();
  if (version == 0) {
    version = versions->empty() ? 1 : versions->back() + 1;
    if (!ValidateVersion(version).ok()) {
      return absl::FailedPreconditionError(
          absl::StrCat("model ", model, " has used every version number up to ",
                       kMaxVersion));
    }
  }
  const std::string target = absl::StrCat(plan.model_dir, "/", version);

  // The config goes first so the watcher never builds the new version
  // with the old config; on failure the old config text is put back.
  std::string old_config;
  if (plan.write_config) {
    absl::StatusOr<std::string> old = ReadSmallFile(plan.config_path);
    old_config = old.ok() ? *old : "";
    absl::Status status =
        WriteFileAtomically(plan.config_path, plan.config_text);
    if (!status.ok()) {
      return Annotate(status, absl::StrCat("replacing the config of ", model));
    }
  }
  absl::Status status = staged.Commit(target);
  if (!status.ok()) {
    if (plan.write_config) {
      absl::Status restored = WriteFileAtomically(plan.config_path, old_config);
      LOG_IF(ERROR, !restored.ok())
          << "could not restore the config of " << model << ": " << restored;
    }
    if (status.code() == absl::StatusCode::kAlreadyExists) {
      return absl::AlreadyExistsError(absl::StrCat(
          "version ", version, " of model ", model, " already exists"));
    }
    return Annotate(
        status, absl::StrCat("writing version ", version, " of model ", model));
  }
  if (plan.write_config) {
    LOG(INFO) << "replaced the config of model " << model;
  }
  return version;
}

// ---------------------------------------------------------------------------
// Download and list

grpc::Status RecordsService::Download(
    grpc::ServerContext* context, const v1::DownloadRequest* request,
    grpc::ServerWriter<v1::DownloadResponse>* writer) {
  grpc::Status allowed =
      options_.auth->Check(*context, auth::Permission::kRead);
  if (!allowed.ok()) return allowed;
  server::RequestGate::Pass pass(options_.gate);
  if (!pass.entered()) return ShuttingDown();
  absl::Status status = DoDownload(context, *request, writer);
  if (!status.ok()) VLOG(1) << "download refused: " << status;
  return ToGrpc(status);
}

grpc::Status RecordsService::ListRecords(grpc::ServerContext* context,
                                         const v1::ListRecordsRequest* request,
                                         v1::ListRecordsResponse* response) {
  grpc::Status allowed =
      options_.auth->Check(*context, auth::Permission::kRead);
  if (!allowed.ok()) return allowed;
  server::RequestGate::Pass pass(options_.gate);
  if (!pass.entered()) return ShuttingDown();
  absl::Status status = DoList(context, *request, response);
  if (!status.ok()) VLOG(1) << "list refused: " << status;
  return ToGrpc(status);
}

absl::StatusOr<std::string> RecordsService::ReadStoredRecord(
    const StoredRecord& stored) const {
  // A file no decoder would accept is refused before it is read into
  // memory.
  if (stored.size > options_.decode.max_inflated_bytes) {
    return absl::ResourceExhaustedError(absl::StrCat(
        stored.path, " has ", stored.size, " bytes, above the decode limit of ",
        options_.decode.max_inflated_bytes));
  }
  return ReadWholeFd(stored.fd, stored.size, stored.path);
}

absl::StatusOr<RecordsService::StoredRecord> RecordsService::OpenStored(
    const std::string& model, int64_t version) {
  const std::string model_dir = absl::StrCat(options_.repository, "/", model);
  const std::string version_dir = absl::StrCat(model_dir, "/", version);
  std::vector<std::string> candidates;
  absl::StatusOr<config::ModelConfig> config =
      model::LoadModelConfigFile(model_dir + "/config.pbtxt");
  if (config.ok() && !config->record_file().empty()) {
    candidates.push_back(config->record_file());
  } else {
    candidates = {"model.mpk", "model.mpk.gz"};
  }
  for (const std::string& name : candidates) {
    StoredRecord stored;
    stored.path = version_dir + "/" + name;
    stored.file_name = name;
    stored.fd = open(stored.path.c_str(), O_RDONLY | O_CLOEXEC);
    if (stored.fd < 0) {
      if (errno == ENOENT) continue;
      return ErrnoToStatus(errno, "open", stored.path);
    }
    struct stat st;
    if (fstat(stored.fd, &st) != 0) {
      return ErrnoToStatus(errno, "stat", stored.path);
    }
    if (!S_ISREG(st.st_mode)) {
      return absl::FailedPreconditionError(
          absl::StrCat(stored.path, " is not a regular file"));
    }
    stored.size = static_cast<uint64_t>(st.st_size);
    return stored;
  }
  return absl::NotFoundError(
      absl::StrCat("version ", version, " of model ", model,
                   " has no record file (looked for ",
                   absl::StrJoin(candidates, ", "), " in ", version_dir, ")"));
}

void RecordsService::RememberFacts(const std::string& path, int fd,
                                   const v1::RecordInfo& info) {
  struct stat st;
  if (fstat(fd, &st) != 0) return;
  FileFacts facts;
  facts.device = st.st_dev;
  facts.inode = st.st_ino;
  facts.size = static_cast<uint64_t>(st.st_size);
  facts.mtime_ns = int64_t{st.st_mtim.tv_sec} * 1000000000 + st.st_mtim.tv_nsec;
  facts.info = info;
  absl::MutexLock lock(&facts_mu_);
  if (facts_.size() >= kMaxCachedFacts) facts_.clear();
  facts_[path] = std::move(facts);
}

absl::StatusOr<v1::RecordInfo> RecordsService::FactsOf(
    grpc::ServerContext* context, const StoredRecord& stored) {
  struct stat st;
  if (fstat(stored.fd, &st) != 0) {
    return ErrnoToStatus(errno, "stat", stored.path);
  }
  {
    const int64_t mtime_ns =
        int64_t{st.st_mtim.tv_sec} * 1000000000 + st.st_mtim.tv_nsec;
    absl::MutexLock lock(&facts_mu_);
    auto it = facts_.find(stored.path);
    if (it != facts_.end() && it->second.device == st.st_dev &&
        it->second.inode == st.st_ino && it->second.size == stored.size &&
        it->second.mtime_ns == mtime_ns) {
      return it->second.info;
    }
  }

  // Unknown file: read and decode it once, under a conversion slot since
  // it holds the whole record in memory.
  absl::StatusOr<SlotLimiter::Slot> slot = conversion_slots_.Acquire(
      SlotDeadline(*context), [context] { return context->IsCancelled(); },
      absl::StrCat("inspecting ", stored.path));
  if (!slot.ok()) return slot.status();
  absl::StatusOr<std::string> bytes = ReadStoredRecord(stored);
  if (!bytes.ok()) return bytes.status();
  v1::RecordInfo info;
  info.set_size(bytes->size());
  info.set_sha256(Sha256Hex(*bytes));
  info.set_format(IsGzip(*bytes) ? v1::FORMAT_MPK_GZ : v1::FORMAT_MPK);
  info.set_file_name(stored.file_name);
  absl::StatusOr<recorder::Record> record = recorder::DecodeRecord(
      std::make_shared<const std::string>(*std::move(bytes)), stored.path,
      options_.decode);
  if (!record.ok()) return record.status();
  DescribeRecord(*record, &info);
  RememberFacts(stored.path, stored.fd, info);
  return info;
}

absl::Status RecordsService::DoDownload(
    grpc::ServerContext* context, const v1::DownloadRequest& request,
    grpc::ServerWriter<v1::DownloadResponse>* writer) {
  const std::string& model = request.model();
  absl::Status status = ValidateModelName(model);
  if (!status.ok()) return status;
  if (request.version() != 0) {
    status = ValidateVersion(request.version());
    if (!status.ok()) return status;
  }
  status = ValidateRequestedPrecision(request.precision());
  if (!status.ok()) return status;
  status = ValidateRequestedFormat(request.format());
  if (!status.ok()) return status;
  if (request.chunk_size() != 0 && (request.chunk_size() < kMinChunkSize ||
                                    request.chunk_size() > kMaxChunkSize)) {
    return absl::InvalidArgumentError(
        absl::StrCat("chunk_size ", request.chunk_size(), " is outside ",
                     kMinChunkSize, "..", kMaxChunkSize));
  }
  const uint32_t chunk_size = request.chunk_size() != 0
                                  ? request.chunk_size()
                                  : options_.default_chunk_size;

  const std::string model_dir = absl::StrCat(options_.repository, "/", model);
  absl::StatusOr<std::vector<int64_t>> versions = ListVersions(model_dir);
  if (!versions.ok()) {
    return absl::NotFoundError(absl::StrCat("model ", model, " not found"));
  }
  int64_t version = request.version();
  if (version == 0 && options_.latest_ready_version) {
    absl::StatusOr<int64_t> ready = options_.latest_ready_version(model);
    if (ready.ok() && *ready > 0) version = *ready;
  }
  if (version == 0) {
    if (versions->empty()) {
      return absl::NotFoundError(
          absl::StrCat("model ", model, " has no versions"));
    }
    version = versions->back();
  }
  absl::StatusOr<StoredRecord> stored = OpenStored(model, version);
  if (!stored.ok()) return stored.status();
  absl::StatusOr<v1::RecordInfo> facts = FactsOf(context, *stored);
  if (!facts.ok()) return facts.status();

  const v1::Precision want_precision = request.precision() == v1::PRECISION_KEEP
                                           ? facts->precision()
                                           : request.precision();
  const v1::RecordFormat want_format =
      request.format() == v1::FORMAT_KEEP ? facts->format() : request.format();
  v1::DownloadResponse response;
  v1::RecordInfo& info = *response.mutable_metadata();
  info = *facts;
  info.set_model(model);
  info.set_version(version);
  if (options_.version_state) {
    info.set_state(options_.version_state(model, version));
  }

  if (want_precision == facts->precision() && want_format == facts->format()) {
    // The stored bytes, unchanged, one chunk in memory at a time.
    if (!writer->Write(response)) {
      return absl::CancelledError("download: the client went away");
    }
    // Read straight into the message, which keeps its buffer between
    // chunks.
    v1::DownloadResponse chunk;
    std::string& buffer = *chunk.mutable_chunk();
    uint64_t offset = 0;
    while (offset < stored->size) {
      const size_t want = std::min<uint64_t>(chunk_size, stored->size - offset);
      buffer.resize(want);
      const ssize_t n = pread(stored->fd, buffer.data(), want, offset);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return ErrnoToStatus(errno, "read", stored->path);
      if (n == 0) {
        return absl::DataLossError(
            absl::StrCat(stored->path, " shrank while being sent"));
      }
      buffer.resize(static_cast<size_t>(n));
      if (!writer->Write(chunk)) {
        return absl::CancelledError("download: the client went away");
      }
      offset += static_cast<uint64_t>(n);
    }
    return absl::OkStatus();
  }

  if (want_precision == v1::PRECISION_MIXED) {
    return absl::FailedPreconditionError(absl::StrCat(
        stored->path,
        " mixes float dtypes; ask for an explicit precision to convert it"));
  }
  // The slot is held until the client has read every byte: the converted
  // record is in memory that long, and the limit is on memory.
  absl::StatusOr<SlotLimiter::Slot> slot = conversion_slots_.Acquire(
      SlotDeadline(*context), [context] { return context->IsCancelled(); },
      absl::StrCat("converting ", stored->path));
  if (!slot.ok()) return slot.status();
  const recorder::RecordFormat format = FromProto(want_format);
  absl::StatusOr<recorder::Record> converted;
  {
    // The stored record is dropped once converted (tensors the conversion
    // leaves alone keep their part of it).
    absl::StatusOr<std::string> file = ReadStoredRecord(*stored);
    if (!file.ok()) return file.status();
    absl::StatusOr<recorder::Record> record = recorder::DecodeRecord(
        std::make_shared<const std::string>(*std::move(file)), stored->path,
        options_.decode);
    if (!record.ok()) return record.status();
    converted =
        recorder::ConvertRecord(*record, FromProto(want_precision), format);
    if (!converted.ok()) return converted.status();
  }

  // The metadata (size and digest) comes first, so the encoding is made
  // twice: once into the hash, then into the chunks. Encoding .mpk costs
  // less than holding it (a copy against the whole record in memory); a
  // gzip encoding is kept instead of compressing twice.
  std::string gzipped;
  uint64_t size = 0;
  Sha256 hash;
  if (format == recorder::RecordFormat::kMpkGz) {
    absl::StatusOr<std::string> encoded =
        recorder::EncodeRecord(*converted, format);
    if (!encoded.ok()) return encoded.status();
    gzipped = *std::move(encoded);
    size = gzipped.size();
    hash.Update(gzipped);
  } else {
    absl::Status hashed = recorder::EncodeRecordTo(
        *converted, format, [&](absl::string_view piece) {
          hash.Update(piece);
          size += piece.size();
          return absl::OkStatus();
        });
    if (!hashed.ok()) return hashed;
  }
  DescribeRecord(*converted, &info);
  info.set_size(size);
  info.set_sha256(hash.HexDigest());
  info.set_format(want_format);
  info.set_file_name(absl::StrCat("model", recorder::FormatExtension(format)));
  if (!writer->Write(response)) {
    return absl::CancelledError("download: the client went away");
  }

  // Chunks of exactly chunk_size bytes (the last may be shorter).
  v1::DownloadResponse chunk;
  std::string& pending = *chunk.mutable_chunk();
  pending.reserve(chunk_size);
  uint64_t sent = 0;
  auto send = [&](absl::string_view piece) -> absl::Status {
    while (!piece.empty()) {
      const size_t take =
          std::min<size_t>(chunk_size - pending.size(), piece.size());
      pending.append(piece.data(), take);
      piece.remove_prefix(take);
      sent += take;
      if (pending.size() == chunk_size) {
        if (!writer->Write(chunk)) {
          return absl::CancelledError("download: the client went away");
        }
        pending.clear();
      }
    }
    return absl::OkStatus();
  };
  status = format == recorder::RecordFormat::kMpkGz
               ? send(gzipped)
               : recorder::EncodeRecordTo(*converted, format, send);
  if (!status.ok()) return status;
  if (!pending.empty()) {
    if (!writer->Write(chunk)) {
      return absl::CancelledError("download: the client went away");
    }
  }
  if (sent != size) {
    return absl::InternalError(absl::StrCat("encoding ", stored->path,
                                            " twice gave ", size, " and then ",
                                            sent, " bytes"));
  }
  return absl::OkStatus();
}

absl::Status RecordsService::DoList(grpc::ServerContext* context,
                                    const v1::ListRecordsRequest& request,
                                    v1::ListRecordsResponse* response) {
  if (request.model().empty()) {
    absl::StatusOr<std::vector<std::string>> models =
        ListModelDirectories(options_.repository);
    if (!models.ok()) return models.status();
    for (const std::string& model : *models) {
      absl::Status status = ListModel(context, model, response);
      // A model directory removed since the listing has nothing to add.
      if (!status.ok() && status.code() != absl::StatusCode::kNotFound) {
        return status;
      }
    }
    return absl::OkStatus();
  }
  absl::Status status = ValidateModelName(request.model());
  if (!status.ok()) return status;
  return ListModel(context, request.model(), response);
}

absl::Status RecordsService::ListModel(grpc::ServerContext* context,
                                       const std::string& model,
                                       v1::ListRecordsResponse* response) {
  absl::StatusOr<std::vector<int64_t>> versions =
      ListVersions(absl::StrCat(options_.repository, "/", model));
  if (!versions.ok()) {
    return absl::NotFoundError(absl::StrCat("model ", model, " not found"));
  }
  for (int64_t version : *versions) {
    absl::StatusOr<StoredRecord> stored = OpenStored(model, version);
    if (!stored.ok()) continue;  // a version directory without a record
    v1::RecordInfo* info = response->add_records();
    absl::StatusOr<v1::RecordInfo> facts = FactsOf(context, *stored);
    if (facts.ok()) {
      *info = *facts;
    } else {
      // Unreadable or corrupt: listed with what the file system says, so
      // the operator sees it; precision, format and digest stay unset.
      if (facts.status().code() == absl::StatusCode::kCancelled) {
        return facts.status();
      }
      info->set_size(stored->size);
      info->set_file_name(stored->file_name);
    }
    info->set_model(model);
    info->set_version(version);
    if (options_.version_state) {
      info->set_state(options_.version_state(model, version));
    }
  }
  return absl::OkStatus();
}

}  // namespace ember::records
