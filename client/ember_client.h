// The C++ client for an Ember server (emberd): health, the model repository,
// metadata, statistics, inference (Open Inference Protocol) and record
// transfers (ember.records.v1.Records), over one gRPC channel.
//
//   ClientOptions options;
//   options.server = "models.internal:8001";
//   options.tls = true;
//   options.token = "...";  // sent as `authorization: Bearer <token>`
//   EMBER_ASSIGN_OR_RETURN(std::unique_ptr<EmberClient> client,
//                          EmberClient::Create(options));
//
//   Tensor board = Tensor::FromFloats("board", {1, 42}, cells);
//   EMBER_ASSIGN_OR_RETURN(InferResult result,
//                          client->Infer("connect4", {board}));
//   EMBER_ASSIGN_OR_RETURN(std::vector<double> q,
//                          result.outputs[0].ToDoubles());
//
//   UploadOptions upload;
//   upload.model = "connect4";
//   upload.precision = records::v1::PRECISION_HALF;
//   upload.wait_until_serving = true;
//   EMBER_ASSIGN_OR_RETURN(UploadResult stored,
//                          client->UploadFile("model.mpk", upload));
//
// Every method returns the server's error as an absl::Status with the same
// code and the server's message (see StatusFromGrpc); a call the server does
// not offer is UNIMPLEMENTED naming the method. When the server could not
// be reached at all, the status also answers true to IsConnectionFailure().

#ifndef EMBER_CLIENT_EMBER_CLIENT_H_
#define EMBER_CLIENT_EMBER_CLIENT_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"
#include "grpcpp/support/status.h"
#include "proto/grpc_service.grpc.pb.h"
#include "proto/records.grpc.pb.h"

namespace ember::client {

// Converts a gRPC status to an absl::Status with the equivalent code and
// the same message. The one place where gRPC codes become absl codes.
absl::Status StatusFromGrpc(const grpc::Status& status);

// True when `status` came from a call that never reached the server (no
// connection could be made, or the deadline passed while connecting).
// Such statuses are UNAVAILABLE or DEADLINE_EXCEEDED and their message
// starts with "cannot connect to <server>".
bool IsConnectionFailure(const absl::Status& status);

// Open Inference Protocol datatypes ("FP32", "INT64", ...): bytes per
// element, or 0 for an unknown name and for BYTES (variable size).
int DatatypeSize(absl::string_view datatype);

// A tensor as it travels: name, datatype, shape and the elements as
// little-endian, row-major bytes (the Open Inference Protocol's raw form).
// BYTES tensors hold each element as a 4-byte little-endian length and
// the element's bytes. Plain data; not synchronized.
struct Tensor {
  std::string name;
  std::string datatype;  // "FP32", "FP16", "FP64", "INT64", "INT32", ...
  std::vector<int64_t> shape;
  std::string data;

  // Product of the shape (1 for a scalar); -1 when a dimension is
  // negative or the product overflows.
  int64_t ElementCount() const;

  // OK when the datatype is known and `data` has exactly the size the
  // shape and datatype call for (BYTES: well-formed length prefixes).
  absl::Status Validate() const;

  // Every element converted to double (FP16/BF16 exactly, INT64 beyond
  // 2^53 rounded, BOOL as 0/1). Fails for BYTES and malformed tensors.
  absl::StatusOr<std::vector<double>> ToDoubles() const;

  // Tensors of the given type from values.
  static Tensor FromFloats(std::string name, std::vector<int64_t> shape,
                           absl::Span<const float> values);
  static Tensor FromInt64s(std::string name, std::vector<int64_t> shape,
                           absl::Span<const int64_t> values);

  // A tensor of `datatype` from doubles, converting each value (FP16/BF16
  // with round-to-nearest-even). Integer datatypes require integral values
  // within the type's range; BOOL requires 0 or 1. INVALID_ARGUMENT names
  // the tensor and element otherwise, or when the shape's element count
  // differs from values.size().
  static absl::StatusOr<Tensor> FromDoubles(std::string name,
                                            std::string datatype,
                                            std::vector<int64_t> shape,
                                            absl::Span<const double> values);
};

// How the request's input tensors travel.
enum class InputEncoding {
  // raw_input_contents: compact, and the only form FP16/BF16 can take.
  kRaw,
  // InferTensorContents (typed repeated fields); fails for FP16/BF16.
  kTyped,
};

// One output the caller wants back.
struct RequestedOutput {
  std::string name;
  // Empty keeps the model's datatype; otherwise asks the server to convert
  // (Ember accepts FP16/FP64 for float outputs, INT32 for integer ones).
  std::string datatype;
};

struct InferOptions {
  // Empty selects the highest ready version.
  std::string model_version;
  // Echoed by the server in the result.
  std::string request_id;
  // Empty asks for every output of the model.
  std::vector<RequestedOutput> outputs;
  // Default: raw, which carries every datatype.
  InputEncoding input_encoding = InputEncoding::kRaw;
  // True asks for every output in raw form (binary_data_output). The
  // result holds Tensors either way.
  bool raw_outputs = false;
};

struct InferResult {
  std::string model_name;
  std::string model_version;
  std::string request_id;
  // In the order the server sent them, each validated.
  std::vector<Tensor> outputs;

  // The output called `name`, or nullptr.
  const Tensor* Find(absl::string_view name) const;
};

// A model version as the repository index reports it.
struct ModelVersionState {
  std::string name;
  std::string version;  // empty for a model with no version on disk
  std::string state;    // "READY", "LOADING", "UNAVAILABLE", ...
  std::string reason;   // why it is not ready; often empty
};

// grpc.health.v1 answer.
enum class HealthState { kUnknown, kServing, kNotServing, kServiceUnknown };

// "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN" or "UNKNOWN".
absl::string_view HealthStateName(HealthState state);

// Record precision and format, as the records service names them.
using Precision = ::ember::records::v1::Precision;
using RecordFormat = ::ember::records::v1::RecordFormat;
using RecordInfo = ::ember::records::v1::RecordInfo;

// Parses "full", "half", "double" or "as-is" (also "keep") into a
// Precision; "mpk", "mpk.gz" or "as-is" into a RecordFormat.
absl::StatusOr<Precision> ParsePrecision(absl::string_view text);
absl::StatusOr<RecordFormat> ParseRecordFormat(absl::string_view text);
// "full", "half", "double", "mixed" or "as-is"; "mpk", "mpk.gz", "as-is".
absl::string_view PrecisionName(Precision precision);
absl::string_view RecordFormatName(RecordFormat format);

// Called as bytes move: `done` of `total` bytes (total is 0 when unknown).
// Called from the calling thread, at least once at the start and once at
// the end of a successful transfer.
using ProgressCallback = std::function<void(uint64_t done, uint64_t total)>;

struct UploadOptions {
  // Required.
  std::string model;
  // 0 means one more than the highest version on disk.
  int64_t version = 0;
  // Precision and format to store the record at; KEEP stores as sent.
  Precision precision = records::v1::PRECISION_KEEP;
  RecordFormat format = records::v1::FORMAT_KEEP;
  // config.pbtxt text: required when the model does not exist yet.
  std::string config_pbtxt;
  // Replace an existing, different config instead of refusing.
  bool replace_config = false;
  // Reply only once the new version serves (or wait_timeout passes).
  bool wait_until_serving = false;
  absl::Duration wait_timeout = absl::Seconds(60);
  // Optional.
  ProgressCallback progress;
};

struct UploadResult {
  RecordInfo record;
  bool serving = false;
  std::string serving_message;
  // SHA-256 (lower-case hex) of the bytes sent, which the server checked.
  std::string sent_sha256;
};

struct DownloadOptions {
  // Required.
  std::string model;
  // 0 means the latest version served (or the highest on disk).
  int64_t version = 0;
  Precision precision = records::v1::PRECISION_KEEP;
  RecordFormat format = records::v1::FORMAT_KEEP;
  // Optional.
  ProgressCallback progress;
};

struct ClientOptions {
  // host:port of the server. Default: localhost:8001.
  std::string server = "localhost:8001";
  // Use TLS. Default: plaintext.
  bool tls = false;
  // PEM file of the CA(s) that sign the server's certificate; empty uses
  // the system roots. Only with tls.
  std::string ca_file;
  // PEM certificate and key for mutual TLS; both or neither.
  std::string client_cert_file;
  std::string client_key_file;
  // Name to check the server certificate against instead of the host in
  // `server` (for servers reached by IP address). Empty: the host.
  std::string tls_server_name;
  // Bearer token sent with every call; empty sends none.
  std::string token;
  // Deadline of each call, measured from its start. Transfers (upload and
  // download) get this much for the whole stream; an upload that waits
  // until serving gets wait_timeout on top. Default: 60 s.
  absl::Duration timeout = absl::Seconds(60);
  // Largest message sent or received. Default: 256 MiB, the server's own
  // default, so large tensors fit.
  int max_message_bytes = 256 << 20;
  // Bytes per upload chunk (and requested per download chunk), 4 KiB ..
  // 3 MiB. Default 1 MiB.
  int chunk_bytes = 1 << 20;
};

class EmberClient;

// Requests and their results over one ModelStreamInfer stream, in order:
// emberd answers each request before reading the next, so the n-th Read is
// the n-th Send's result (other servers may answer out of order: set
// InferOptions::request_id and match on InferResult::request_id). One thread
// may Send while another Reads; otherwise not thread-safe. Destroying a stream
// before its end cancels it.
//
//   std::unique_ptr<InferStream> stream = client->OpenInferStream();
//   for (const Tensor& board : boards) {
//     EMBER_RETURN_IF_ERROR(stream->Send("connect4", {board}));
//   }
//   EMBER_RETURN_IF_ERROR(stream->CloseSend());
//   for (size_t i = 0; i < boards.size(); ++i) {
//     absl::StatusOr<InferResult> result = stream->Read();
//     ...
//   }
class InferStream {
 public:
  ~InferStream();
  InferStream(const InferStream&) = delete;
  InferStream& operator=(const InferStream&) = delete;

  // Sends one request (inputs validated first, as by Infer). UNAVAILABLE
  // once the stream has ended (Read then gives the reason).
  absl::Status Send(const std::string& model, const std::vector<Tensor>& inputs,
                    const InferOptions& options = {});
  // No more requests; the server ends the stream after its last answer.
  absl::Status CloseSend();
  // The next result. A request the server refused gives UNKNOWN with the
  // server's message (the stream goes on: the protocol carries only the
  // message); after the last answer, OUT_OF_RANGE when the stream ended
  // cleanly, else the stream's own error, on every later call too.
  absl::StatusOr<InferResult> Read();

 private:
  friend class EmberClient;
  explicit InferStream(const EmberClient& client) : client_(client) {}

  const EmberClient& client_;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReaderWriter<inference::ModelInferRequest,
                                           inference::ModelStreamInferResponse>>
      stream_;
  bool send_closed_ = false;
  bool got_response_ = false;
  bool ended_ = false;
  absl::Status end_;
};

// A connection to one Ember server. Thread-safe: methods may be called
// from many threads at once (each call has its own context); the channel
// reconnects by itself.
class EmberClient {
 public:
  // Builds the channel. Does not connect (the first call does); fails only
  // on bad options: INVALID_ARGUMENT for an empty server, a timeout that is
  // not positive, chunk_bytes outside 4 KiB .. 3 MiB, a certificate
  // without its key or TLS files without tls; NOT_FOUND naming a file that
  // cannot be read.
  static absl::StatusOr<std::unique_ptr<EmberClient>> Create(
      ClientOptions options);

  const ClientOptions& options() const { return options_; }

  // Open Inference Protocol health.
  absl::StatusOr<bool> ServerLive();
  absl::StatusOr<bool> ServerReady();
  absl::StatusOr<bool> ModelReady(const std::string& model,
                                  const std::string& version = "");
  // grpc.health.v1.Health/Check; `service` "" is the whole server, a
  // model name is that model (SERVING once a version is ready).
  // SERVICE_UNKNOWN comes back as a state, not an error.
  absl::StatusOr<HealthState> HealthCheck(const std::string& service = "");

  absl::StatusOr<inference::ServerMetadataResponse> ServerMetadata();

  // Every model version the server knows, with its state; `ready_only`
  // lists only READY ones.
  absl::StatusOr<std::vector<ModelVersionState>> ListModels(
      bool ready_only = false);

  // Inputs, outputs and versions of a model ("" version: highest ready).
  absl::StatusOr<inference::ModelMetadataResponse> ModelMetadata(
      const std::string& model, const std::string& version = "");

  // The served configuration in Triton's form: platform, version policy,
  // max_batch_size and per-tensor dims ("" version: newest serving).
  // UNIMPLEMENTED from a server without Triton's ModelConfig extension.
  absl::StatusOr<inference::ModelConfig> ModelConfig(
      const std::string& model, const std::string& version = "");

  // Statistics; empty model means every model.
  absl::StatusOr<inference::ModelStatisticsResponse> ModelStatistics(
      const std::string& model = "", const std::string& version = "");

  // Runs inference. Inputs are validated first (INVALID_ARGUMENT naming
  // the input); outputs are validated on arrival (DATA_LOSS when the
  // server's tensor does not match its own shape).
  absl::StatusOr<InferResult> Infer(const std::string& model,
                                    const std::vector<Tensor>& inputs,
                                    const InferOptions& options = {});

  // An inference stream (ModelStreamInfer) for sending many requests
  // without waiting for each answer. `timeout` bounds the whole stream
  // (default: none).
  std::unique_ptr<InferStream> OpenInferStream(
      absl::Duration timeout = absl::InfiniteDuration()) const;

  // Repository control.
  absl::Status LoadModel(const std::string& model);
  absl::Status UnloadModel(const std::string& model);

  // Uploads a record from a file, streamed in chunks of chunk_bytes: read
  // once, hashed as it is sent (the server checks the SHA-256 before it
  // decodes anything), never held whole in memory. A file written to
  // during the upload (its size or times change) fails with DATA_LOSS and
  // nothing is stored.
  absl::StatusOr<UploadResult> UploadFile(const std::string& path,
                                          const UploadOptions& options);
  // Same from memory.
  absl::StatusOr<UploadResult> UploadBytes(absl::string_view bytes,
                                           const UploadOptions& options);

  // Downloads a record into `path` atomically: the bytes go to a temporary
  // file beside it, are checked against the size and SHA-256 the server
  // announced, synced, and renamed over `path`. On any failure nothing is
  // left behind and an existing `path` is untouched.
  absl::StatusOr<RecordInfo> DownloadToFile(const std::string& path,
                                            const DownloadOptions& options);
  // Same into memory; `bytes` is only written on success.
  absl::StatusOr<RecordInfo> DownloadToString(const DownloadOptions& options,
                                              std::string* bytes);

  // Stored records of a model, one per version; of every model (by name,
  // then version) when `model` is empty.
  absl::StatusOr<std::vector<RecordInfo>> ListRecords(const std::string& model);

 private:
  friend class InferStream;
  EmberClient(ClientOptions options, std::shared_ptr<grpc::Channel> channel);

  // A context with the deadline (now + timeout) and the bearer token.
  void Prepare(grpc::ClientContext* context, absl::Duration timeout) const;
  // One unary call of the inference service with the client's deadline
  // and token; `method` is the stub's, `name` the RPC's ("ServerLive") for
  // messages.
  template <typename Request, typename Response>
  absl::StatusOr<Response> CallInference(
      grpc::Status (inference::GRPCInferenceService::Stub::*method)(
          grpc::ClientContext*, const Request&, Response*),
      const Request& request, absl::string_view name) const;
  // StatusFromGrpc, plus the connection-failure mark when the call never
  // reached the server (`got_response` false and the channel not ready).
  // `rpc` ("package.Service/Method") names the call in messages that
  // would otherwise be empty.
  absl::Status CallStatus(const grpc::Status& status, bool got_response,
                          absl::string_view rpc) const;

  // Streams an upload whose bytes come from `next` (the next chunk; empty
  // at the end), hashing them on the way; the digest goes in the trailer.
  absl::StatusOr<UploadResult> Upload(
      const UploadOptions& options, uint64_t total,
      const std::function<absl::StatusOr<std::string>()>& next);
  // Streams a download into `sink`, checking size and digest.
  absl::StatusOr<RecordInfo> Download(
      const DownloadOptions& options,
      const std::function<absl::Status(absl::string_view)>& sink);

  const ClientOptions options_;
  const std::shared_ptr<grpc::Channel> channel_;
  const std::unique_ptr<inference::GRPCInferenceService::Stub> inference_;
  const std::unique_ptr<records::v1::Records::Stub> records_;
};

}  // namespace ember::client

#endif  // EMBER_CLIENT_EMBER_CLIENT_H_
