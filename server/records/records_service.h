// The records service (`ember.records.v1.Records`): clients push new Burn
// records into the model repository and fetch any version's record at the
// precision and format they want, in chunks of any total size.
//
// An upload is checked end to end before anything is written: digest,
// decode, conversion, and a full build of the model from the config and
// the converted record (the same checks the daemon's loader makes). Only
// then is the new version directory built under a temp name, fsynced and
// renamed into place, so the repository watcher sees a version whole or
// not at all. A download at the stored precision and format streams the
// stored file unchanged; any other precision or format is produced by the
// codec, byte for byte what Burn's recorder with that setting writes.
//
//   RecordsService::Options options;
//   options.repository = "/models";
//   options.auth = shared_auth_policy;  // or AuthPolicy::Open()
//   options.wait_until_serving = [&](const std::string& model,
//                                    int64_t version, absl::Time deadline) {
//     return manager.WaitUntilServing(model, version, deadline);
//   };
//   EMBER_ASSIGN_OR_RETURN(std::unique_ptr<RecordsService> records,
//                          RecordsService::Create(std::move(options)));
//   builder.RegisterService(records.get());
//
// Memory: an upload streams its payload to a staged file and reads it back
// through a mapping (page cache, not the server's own memory); one that
// converts also holds the converted record and its encoding (about twice
// the record); a converting download about three times. At most
// `max_concurrent_uploads` uploads and `max_concurrent_conversions`
// conversions run at once; further callers wait for a slot up to
// `admission_timeout` (or until they cancel) and then get
// RESOURCE_EXHAUSTED. A converting download keeps its slot until the client
// has read the last byte. Downloads at the stored precision and format
// stream from the file, hold one chunk each and need no slot.

#ifndef EMBER_SERVER_RECORDS_RECORDS_SERVICE_H_
#define EMBER_SERVER_RECORDS_RECORDS_SERVICE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "proto/records.grpc.pb.h"
#include "recorder/codec.h"
#include "server/auth/auth_policy.h"
#include "server/records/repository_files.h"
#include "server/records/slot_limiter.h"
#include "server/request_gate.h"

namespace ember::records {

// Serves `ember.records.v1.Records` over one model repository. Thread-safe:
// gRPC calls the handlers from many threads at once. The callbacks in
// Options are called without any lock of this class held.
class RecordsService final : public ember::records::v1::Records::Service {
 public:
  // Blocks until `version` of `model` serves or `deadline` passes. OK when
  // it serves; otherwise a status whose message says why (load failed,
  // deadline passed). Provided by the daemon.
  using WaitUntilServingFn = std::function<absl::Status(
      const std::string& model, int64_t version, absl::Time deadline)>;
  // The newest version of `model` that is serving; NOT_FOUND (or any
  // error) when none is, in which case the highest version on disk is used.
  using LatestReadyVersionFn =
      std::function<absl::StatusOr<int64_t>(const std::string& model)>;
  // The serving state of a version, e.g. "READY", "LOADING", "FAILED",
  // "UNAVAILABLE"; empty when unknown.
  using VersionStateFn =
      std::function<std::string(const std::string& model, int64_t version)>;

  struct Options {
    // Root of the model repository the daemon watches. Required; must
    // exist.
    std::string repository;
    // Access control. Required: pass `auth::AuthPolicy::Open()` explicitly
    // to serve without tokens. Uploads need kWrite, downloads and lists
    // kRead.
    std::shared_ptr<const auth::AuthPolicy> auth;
    // Largest upload payload accepted, in bytes. Default 4 GiB.
    uint64_t max_upload_bytes = uint64_t{4} << 30;
    // Uploads processed at once (one stored as sent holds a few MiB; one
    // that converts about two records). Default 1.
    int max_concurrent_uploads = 1;
    // Converting downloads and record inspections (for List) at once, each
    // holding about three records. Default 1.
    int max_concurrent_conversions = 1;
    // How long a call waits for an upload or conversion slot before it
    // gets RESOURCE_EXHAUSTED. Default 60 s.
    absl::Duration admission_timeout = absl::Seconds(60);
    // Download chunk size when the request gives none. Default 1 MiB.
    uint32_t default_chunk_size = 1 << 20;
    // Longest `wait_until_serving` a client may ask for. Default 10 min.
    absl::Duration max_serving_wait = absl::Minutes(10);
    // Limits for decoding untrusted uploads.
    recorder::DecodeOptions decode;
    // Optional daemon hooks (see the types above). Without
    // `wait_until_serving`, uploads that ask to wait reply serving=false
    // with a message saying the server cannot tell.
    WaitUntilServingFn wait_until_serving;
    LatestReadyVersionFn latest_ready_version;
    VersionStateFn version_state;
    // The server's gate, shared with its other services: every call is
    // counted in flight, and once the server drains new calls get
    // UNAVAILABLE while those in flight (an upload being received, say)
    // finish. Optional; must outlive the service.
    server::RequestGate* gate = nullptr;
  };

  // INVALID_ARGUMENT for missing options, NOT_FOUND when the repository
  // does not exist.
  static absl::StatusOr<std::unique_ptr<RecordsService>> Create(
      Options options);

  grpc::Status Upload(
      grpc::ServerContext* context,
      grpc::ServerReader<ember::records::v1::UploadRequest>* reader,
      ember::records::v1::UploadResponse* response) override;
  grpc::Status Download(
      grpc::ServerContext* context,
      const ember::records::v1::DownloadRequest* request,
      grpc::ServerWriter<ember::records::v1::DownloadResponse>* writer)
      override;
  grpc::Status ListRecords(
      grpc::ServerContext* context,
      const ember::records::v1::ListRecordsRequest* request,
      ember::records::v1::ListRecordsResponse* response) override;

  // Uploads holding a slot right now (for metrics and tests).
  int ActiveUploads() const { return upload_slots_.InUse(); }

 private:
  // What is known about one stored record file, valid while the file's
  // identity (device, inode, size, mtime) is unchanged.
  struct FileFacts {
    uint64_t device = 0;
    uint64_t inode = 0;
    uint64_t size = 0;
    int64_t mtime_ns = 0;
    ember::records::v1::RecordInfo info;  // without model/version/state
  };
  struct StoredRecord;    // a version's record file, opened
  struct UploadPlan;      // what an upload header asks for, resolved
  struct UploadStaging;   // the hidden directory an upload is built in
  struct PreparedRecord;  // what an upload stores

  explicit RecordsService(Options options);

  absl::Status DoUpload(
      grpc::ServerContext* context,
      grpc::ServerReader<ember::records::v1::UploadRequest>* reader,
      ember::records::v1::UploadResponse* response);
  absl::Status DoDownload(
      grpc::ServerContext* context,
      const ember::records::v1::DownloadRequest& request,
      grpc::ServerWriter<ember::records::v1::DownloadResponse>* writer);
  absl::Status DoList(grpc::ServerContext* context,
                      const ember::records::v1::ListRecordsRequest& request,
                      ember::records::v1::ListRecordsResponse* response);
  // Appends the records of `model` (a validated name) to `response`.
  absl::Status ListModel(grpc::ServerContext* context, const std::string& model,
                         ember::records::v1::ListRecordsResponse* response);

  absl::StatusOr<UploadPlan> PlanUpload(
      const ember::records::v1::UploadHeader& header);
  // Decodes the payload (`owner` keeps it alive) and, when the precision
  // or format changes, converts it; `what` names the upload in errors.
  absl::StatusOr<PreparedRecord> PrepareRecord(
      const UploadPlan& plan, absl::string_view payload,
      std::shared_ptr<const void> owner, const std::string& what) const;
  // Encodes a converted record into the new file `name` of `staged`, fsyncs
  // it, and gives its size and SHA-256.
  absl::Status WriteConverted(const PreparedRecord& prepared,
                              const std::string& name, StagedDirectory& staged,
                              uint64_t* size, std::string* sha256) const;
  // Fills `serving` and `serving_message` through the daemon's callback.
  void WaitUntilServing(const grpc::ServerContext& context,
                        const ember::records::v1::UploadHeader& header,
                        int64_t version,
                        ember::records::v1::UploadResponse* response) const;
  // Creates the hidden directory the upload is built in.
  absl::StatusOr<UploadStaging> StageUpload(const UploadPlan& plan);
  // Reads the record bytes after the header into `sink` and returns how
  // many there were, once their digest matches what the header or the
  // trailer says (DATA_LOSS otherwise). Sets `sha256` to the digest.
  absl::StatusOr<uint64_t> ReceivePayload(
      grpc::ServerContext* context,
      grpc::ServerReader<ember::records::v1::UploadRequest>* reader,
      const UploadPlan& plan, StagedFile* sink, std::string* sha256);
  // Renames `staged` into place as a new version of the plan's model (for
  // a new model, `version`; else the plan's or the next free one) under
  // commit_mu_, and returns the version written.
  absl::StatusOr<int64_t> CommitUpload(grpc::ServerContext* context,
                                       const UploadPlan& plan, int64_t version,
                                       StagedDirectory& staged);

  absl::StatusOr<StoredRecord> OpenStored(const std::string& model,
                                          int64_t version);
  // The whole file, when its size is within the decode limit.
  absl::StatusOr<std::string> ReadStoredRecord(
      const StoredRecord& stored) const;
  // Facts of an opened file, from the cache or by reading it (under a
  // conversion slot).
  absl::StatusOr<ember::records::v1::RecordInfo> FactsOf(
      grpc::ServerContext* context, const StoredRecord& stored);
  void RememberFacts(const std::string& path, int fd,
                     const ember::records::v1::RecordInfo& info);

  absl::Time SlotDeadline(const grpc::ServerContext& context) const;

  const Options options_;
  SlotLimiter upload_slots_;
  SlotLimiter conversion_slots_;
  // Serialises choosing a version number and renaming it into place; held
  // for the rename and fsyncs of one commit (milliseconds), never while
  // receiving or converting.
  absl::Mutex commit_mu_;
  // Held only to look up or update the cache.
  absl::Mutex facts_mu_;
  std::map<std::string, FileFacts> facts_ ABSL_GUARDED_BY(facts_mu_);
};

}  // namespace ember::records

#endif  // EMBER_SERVER_RECORDS_RECORDS_SERVICE_H_
