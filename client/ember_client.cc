#include "client/ember_client.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/sha256.h"
#include "common/status_macros.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/channel_arguments.h"
#include "recorder/half.h"

namespace ember::client {
namespace {

// Payload that marks a status as a failure to reach the server.
constexpr char kConnectionFailureUrl[] = "ember.client/connection-failure";

// Elements of each datatype, for validation and conversion.
struct DatatypeInfo {
  const char* name;
  int size;
};
constexpr DatatypeInfo kDatatypes[] = {
    {"BOOL", 1}, {"UINT8", 1}, {"UINT16", 2}, {"UINT32", 4}, {"UINT64", 8},
    {"INT8", 1}, {"INT16", 2}, {"INT32", 4},  {"INT64", 8},  {"FP16", 2},
    {"BF16", 2}, {"FP32", 4},  {"FP64", 8},   {"BYTES", 0},
};

bool KnownDatatype(absl::string_view datatype) {
  for (const DatatypeInfo& info : kDatatypes) {
    if (datatype == info.name) return true;
  }
  return false;
}

template <typename T>
T Load(const char* p) {
  T value;
  std::memcpy(&value, p, sizeof(T));
  return value;
}

template <typename T>
void AppendValue(T value, std::string* out) {
  char bytes[sizeof(T)];
  std::memcpy(bytes, &value, sizeof(T));
  out->append(bytes, sizeof(T));
}

absl::Status ReadFile(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat("cannot read ", path, ": ", strerror(errno)));
  }
  out->assign(std::istreambuf_iterator<char>(in),
              std::istreambuf_iterator<char>());
  if (in.bad()) {
    return absl::DataLossError(absl::StrCat("error reading ", path));
  }
  return absl::OkStatus();
}

// Appends element `i` of `data` (of `datatype`) to the typed contents.
void AppendTyped(absl::string_view datatype, const char* p,
                 inference::InferTensorContents* contents) {
  if (datatype == "BOOL") {
    contents->add_bool_contents(*p != 0);
  } else if (datatype == "INT8") {
    contents->add_int_contents(Load<int8_t>(p));
  } else if (datatype == "INT16") {
    contents->add_int_contents(Load<int16_t>(p));
  } else if (datatype == "INT32") {
    contents->add_int_contents(Load<int32_t>(p));
  } else if (datatype == "INT64") {
    contents->add_int64_contents(Load<int64_t>(p));
  } else if (datatype == "UINT8") {
    contents->add_uint_contents(Load<uint8_t>(p));
  } else if (datatype == "UINT16") {
    contents->add_uint_contents(Load<uint16_t>(p));
  } else if (datatype == "UINT32") {
    contents->add_uint_contents(Load<uint32_t>(p));
  } else if (datatype == "UINT64") {
    contents->add_uint64_contents(Load<uint64_t>(p));
  } else if (datatype == "FP32") {
    contents->add_fp32_contents(Load<float>(p));
  } else if (datatype == "FP64") {
    contents->add_fp64_contents(Load<double>(p));
  }
}

// Typed contents of a tensor; BYTES elements are split at their prefixes.
absl::Status ToTypedContents(const Tensor& tensor,
                             inference::InferTensorContents* contents) {
  if (tensor.datatype == "FP16" || tensor.datatype == "BF16") {
    return absl::InvalidArgumentError(absl::StrCat(
        "input '", tensor.name, "' is ", tensor.datatype,
        ", which has no typed form in the Open Inference Protocol; send it "
        "raw"));
  }
  if (tensor.datatype == "BYTES") {
    size_t at = 0;
    while (at < tensor.data.size()) {
      const uint32_t length = Load<uint32_t>(tensor.data.data() + at);
      contents->add_bytes_contents(tensor.data.substr(at + 4, length));
      at += 4 + length;
    }
    return absl::OkStatus();
  }
  const int size = DatatypeSize(tensor.datatype);
  for (size_t at = 0; at < tensor.data.size(); at += size) {
    AppendTyped(tensor.datatype, tensor.data.data() + at, contents);
  }
  return absl::OkStatus();
}

// Raw bytes of typed output contents for `datatype`. The element count is
// checked by the caller through Tensor::Validate.
absl::StatusOr<std::string> FromTypedContents(
    absl::string_view name, absl::string_view datatype,
    const inference::InferTensorContents& c) {
  std::string out;
  if (datatype == "BOOL") {
    for (bool v : c.bool_contents()) out.push_back(v ? 1 : 0);
  } else if (datatype == "INT8") {
    for (int32_t v : c.int_contents()) AppendValue<int8_t>(v, &out);
  } else if (datatype == "INT16") {
    for (int32_t v : c.int_contents()) AppendValue<int16_t>(v, &out);
  } else if (datatype == "INT32") {
    for (int32_t v : c.int_contents()) AppendValue<int32_t>(v, &out);
  } else if (datatype == "INT64") {
    for (int64_t v : c.int64_contents()) AppendValue<int64_t>(v, &out);
  } else if (datatype == "UINT8") {
    for (uint32_t v : c.uint_contents()) AppendValue<uint8_t>(v, &out);
  } else if (datatype == "UINT16") {
    for (uint32_t v : c.uint_contents()) AppendValue<uint16_t>(v, &out);
  } else if (datatype == "UINT32") {
    for (uint32_t v : c.uint_contents()) AppendValue<uint32_t>(v, &out);
  } else if (datatype == "UINT64") {
    for (uint64_t v : c.uint64_contents()) AppendValue<uint64_t>(v, &out);
  } else if (datatype == "FP32") {
    for (float v : c.fp32_contents()) AppendValue<float>(v, &out);
  } else if (datatype == "FP64") {
    for (double v : c.fp64_contents()) AppendValue<double>(v, &out);
  } else if (datatype == "BYTES") {
    for (const std::string& v : c.bytes_contents()) {
      AppendValue<uint32_t>(v.size(), &out);
      out += v;
    }
  } else {
    return absl::DataLossError(absl::StrCat("output '", name,
                                            "' has datatype '", datatype,
                                            "', which has no typed form"));
  }
  return out;
}

// Converts one element to double.
double ElementToDouble(absl::string_view datatype, const char* p) {
  if (datatype == "BOOL") return *p != 0 ? 1 : 0;
  if (datatype == "INT8") return Load<int8_t>(p);
  if (datatype == "INT16") return Load<int16_t>(p);
  if (datatype == "INT32") return Load<int32_t>(p);
  if (datatype == "INT64") return static_cast<double>(Load<int64_t>(p));
  if (datatype == "UINT8") return Load<uint8_t>(p);
  if (datatype == "UINT16") return Load<uint16_t>(p);
  if (datatype == "UINT32") return Load<uint32_t>(p);
  if (datatype == "UINT64") return static_cast<double>(Load<uint64_t>(p));
  if (datatype == "FP16") {
    return recorder::HalfToFloatScalar(Load<uint16_t>(p));
  }
  if (datatype == "BF16") {
    return recorder::BFloat16ToFloatScalar(Load<uint16_t>(p));
  }
  if (datatype == "FP32") return Load<float>(p);
  return Load<double>(p);  // FP64
}

// Range of an integer datatype, as doubles that are exactly representable
// bounds for a range check (max is exclusive).
bool IntegerRange(absl::string_view datatype, double* min, double* max) {
  struct Range {
    const char* name;
    double min;
    double max_exclusive;
  };
  static constexpr Range kRanges[] = {
      {"BOOL", 0, 2},
      {"INT8", -128, 128},
      {"INT16", -32768, 32768},
      {"INT32", -2147483648.0, 2147483648.0},
      {"INT64", -9223372036854775808.0, 9223372036854775808.0},
      {"UINT8", 0, 256},
      {"UINT16", 0, 65536},
      {"UINT32", 0, 4294967296.0},
      {"UINT64", 0, 18446744073709551616.0},
  };
  for (const Range& range : kRanges) {
    if (datatype == range.name) {
      *min = range.min;
      *max = range.max_exclusive;
      return true;
    }
  }
  return false;
}

// Appends `value` as one element of `datatype` (already range-checked).
void AppendElement(absl::string_view datatype, double value, std::string* out) {
  if (datatype == "BOOL" || datatype == "UINT8") {
    AppendValue<uint8_t>(static_cast<uint8_t>(value), out);
  } else if (datatype == "INT8") {
    AppendValue<int8_t>(static_cast<int8_t>(value), out);
  } else if (datatype == "INT16") {
    AppendValue<int16_t>(static_cast<int16_t>(value), out);
  } else if (datatype == "INT32") {
    AppendValue<int32_t>(static_cast<int32_t>(value), out);
  } else if (datatype == "INT64") {
    AppendValue<int64_t>(static_cast<int64_t>(value), out);
  } else if (datatype == "UINT16") {
    AppendValue<uint16_t>(static_cast<uint16_t>(value), out);
  } else if (datatype == "UINT32") {
    AppendValue<uint32_t>(static_cast<uint32_t>(value), out);
  } else if (datatype == "UINT64") {
    AppendValue<uint64_t>(static_cast<uint64_t>(value), out);
  } else if (datatype == "FP16") {
    AppendValue<uint16_t>(recorder::DoubleToHalfScalar(value), out);
  } else if (datatype == "BF16") {
    AppendValue<uint16_t>(
        recorder::FloatToBFloat16Scalar(static_cast<float>(value)), out);
  } else if (datatype == "FP32") {
    AppendValue<float>(static_cast<float>(value), out);
  } else {
    AppendValue<double>(value, out);
  }
}

// Closes and removes a temporary download file unless released.
class TempFile {
 public:
  TempFile() = default;
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  ~TempFile() {
    if (fd_ >= 0) close(fd_);
    if (!path_.empty()) unlink(path_.c_str());
  }

  absl::Status Open(const std::string& target) {
    std::string pattern = target + ".part-XXXXXX";
    fd_ = mkstemp(pattern.data());
    if (fd_ < 0) {
      return absl::PermissionDeniedError(
          absl::StrCat("cannot create a temporary file beside ", target, ": ",
                       strerror(errno)));
    }
    path_ = pattern;
    return absl::OkStatus();
  }

  absl::Status Write(absl::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t n = write(fd_, bytes.data(), bytes.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        return absl::ResourceExhaustedError(
            absl::StrCat("cannot write ", path_, ": ", strerror(errno)));
      }
      bytes.remove_prefix(n);
    }
    return absl::OkStatus();
  }

  // fsync, close and rename over `target`, then sync the directory so the
  // rename itself survives a crash.
  absl::Status Commit(const std::string& target) {
    if (fchmod(fd_, 0644) != 0 || fsync(fd_) != 0) {
      return absl::InternalError(
          absl::StrCat("cannot sync ", path_, ": ", strerror(errno)));
    }
    const int fd = fd_;
    fd_ = -1;
    if (close(fd) != 0) {
      return absl::InternalError(
          absl::StrCat("cannot close ", path_, ": ", strerror(errno)));
    }
    if (rename(path_.c_str(), target.c_str()) != 0) {
      return absl::InternalError(absl::StrCat("cannot rename ", path_, " to ",
                                              target, ": ", strerror(errno)));
    }
    path_.clear();
    const size_t slash = target.rfind('/');
    const std::string dir =
        slash == std::string::npos ? "." : target.substr(0, slash + 1);
    const int dir_fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY);
    if (dir_fd >= 0) {
      fsync(dir_fd);
      close(dir_fd);
    }
    return absl::OkStatus();
  }

 private:
  int fd_ = -1;
  std::string path_;
};

}  // namespace

absl::Status StatusFromGrpc(const grpc::Status& status) {
  absl::StatusCode code = absl::StatusCode::kUnknown;
  switch (status.error_code()) {
    case grpc::StatusCode::OK:
      return absl::OkStatus();
    case grpc::StatusCode::CANCELLED:
      code = absl::StatusCode::kCancelled;
      break;
    case grpc::StatusCode::UNKNOWN:
      code = absl::StatusCode::kUnknown;
      break;
    case grpc::StatusCode::INVALID_ARGUMENT:
      code = absl::StatusCode::kInvalidArgument;
      break;
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      code = absl::StatusCode::kDeadlineExceeded;
      break;
    case grpc::StatusCode::NOT_FOUND:
      code = absl::StatusCode::kNotFound;
      break;
    case grpc::StatusCode::ALREADY_EXISTS:
      code = absl::StatusCode::kAlreadyExists;
      break;
    case grpc::StatusCode::PERMISSION_DENIED:
      code = absl::StatusCode::kPermissionDenied;
      break;
    case grpc::StatusCode::UNAUTHENTICATED:
      code = absl::StatusCode::kUnauthenticated;
      break;
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      code = absl::StatusCode::kResourceExhausted;
      break;
    case grpc::StatusCode::FAILED_PRECONDITION:
      code = absl::StatusCode::kFailedPrecondition;
      break;
    case grpc::StatusCode::ABORTED:
      code = absl::StatusCode::kAborted;
      break;
    case grpc::StatusCode::OUT_OF_RANGE:
      code = absl::StatusCode::kOutOfRange;
      break;
    case grpc::StatusCode::UNIMPLEMENTED:
      code = absl::StatusCode::kUnimplemented;
      break;
    case grpc::StatusCode::INTERNAL:
      code = absl::StatusCode::kInternal;
      break;
    case grpc::StatusCode::UNAVAILABLE:
      code = absl::StatusCode::kUnavailable;
      break;
    case grpc::StatusCode::DATA_LOSS:
      code = absl::StatusCode::kDataLoss;
      break;
    default:
      code = absl::StatusCode::kUnknown;
      break;
  }
  return absl::Status(code, status.error_message());
}

bool IsConnectionFailure(const absl::Status& status) {
  return status.GetPayload(kConnectionFailureUrl).has_value();
}

int DatatypeSize(absl::string_view datatype) {
  for (const DatatypeInfo& info : kDatatypes) {
    if (datatype == info.name) return info.size;
  }
  return 0;
}

int64_t Tensor::ElementCount() const {
  int64_t count = 1;
  for (int64_t dim : shape) {
    if (dim < 0) return -1;
    if (dim != 0 && count > std::numeric_limits<int64_t>::max() / dim) {
      return -1;
    }
    count *= dim;
  }
  return count;
}

absl::Status Tensor::Validate() const {
  if (!KnownDatatype(datatype)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "tensor '", name, "' has unknown datatype '", datatype, "'"));
  }
  const int64_t count = ElementCount();
  if (count < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("tensor '", name, "' has invalid shape [",
                     absl::StrJoin(shape, ", "), "]"));
  }
  if (datatype == "BYTES") {
    int64_t elements = 0;
    size_t at = 0;
    while (at < data.size()) {
      if (data.size() - at < 4) break;
      const uint32_t length = Load<uint32_t>(data.data() + at);
      if (data.size() - at - 4 < length) break;
      at += 4 + length;
      ++elements;
    }
    if (at != data.size() || elements != count) {
      return absl::InvalidArgumentError(
          absl::StrCat("BYTES tensor '", name, "' does not hold ", count,
                       " length-prefixed elements for shape [",
                       absl::StrJoin(shape, ", "), "]"));
    }
    return absl::OkStatus();
  }
  const uint64_t want = static_cast<uint64_t>(count) * DatatypeSize(datatype);
  if (data.size() != want) {
    return absl::InvalidArgumentError(
        absl::StrCat("tensor '", name, "' (", datatype, ", shape [",
                     absl::StrJoin(shape, ", "), "]) needs ", want,
                     " bytes but has ", data.size()));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<double>> Tensor::ToDoubles() const {
  EMBER_RETURN_IF_ERROR(Validate());
  if (datatype == "BYTES") {
    return absl::InvalidArgumentError(
        absl::StrCat("tensor '", name, "' is BYTES, not numbers"));
  }
  const int size = DatatypeSize(datatype);
  std::vector<double> values;
  values.reserve(data.size() / size);
  for (size_t at = 0; at < data.size(); at += size) {
    values.push_back(ElementToDouble(datatype, data.data() + at));
  }
  return values;
}

Tensor Tensor::FromFloats(std::string name, std::vector<int64_t> shape,
                          absl::Span<const float> values) {
  Tensor tensor{std::move(name), "FP32", std::move(shape), ""};
  tensor.data.assign(reinterpret_cast<const char*>(values.data()),
                     values.size() * sizeof(float));
  return tensor;
}

Tensor Tensor::FromInt64s(std::string name, std::vector<int64_t> shape,
                          absl::Span<const int64_t> values) {
  Tensor tensor{std::move(name), "INT64", std::move(shape), ""};
  tensor.data.assign(reinterpret_cast<const char*>(values.data()),
                     values.size() * sizeof(int64_t));
  return tensor;
}

absl::StatusOr<Tensor> Tensor::FromDoubles(std::string name,
                                           std::string datatype,
                                           std::vector<int64_t> shape,
                                           absl::Span<const double> values) {
  Tensor tensor{std::move(name), std::move(datatype), std::move(shape), ""};
  if (!KnownDatatype(tensor.datatype) || tensor.datatype == "BYTES") {
    return absl::InvalidArgumentError(
        absl::StrCat("tensor '", tensor.name, "': datatype '", tensor.datatype,
                     "' is not a numeric datatype"));
  }
  const int64_t count = tensor.ElementCount();
  if (count < 0 || static_cast<uint64_t>(count) != values.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("tensor '", tensor.name, "': shape [",
                     absl::StrJoin(tensor.shape, ", "), "] holds ", count,
                     " elements but ", values.size(), " values were given"));
  }
  double min = 0;
  double max = 0;
  const bool integer = IntegerRange(tensor.datatype, &min, &max);
  tensor.data.reserve(values.size() * DatatypeSize(tensor.datatype));
  for (size_t i = 0; i < values.size(); ++i) {
    const double v = values[i];
    if (integer && (std::floor(v) != v || v < min || v >= max)) {
      return absl::InvalidArgumentError(
          absl::StrCat("tensor '", tensor.name, "' element ", i, " (", v,
                       ") is not a valid ", tensor.datatype, " value"));
    }
    AppendElement(tensor.datatype, v, &tensor.data);
  }
  return tensor;
}

const Tensor* InferResult::Find(absl::string_view name) const {
  for (const Tensor& tensor : outputs) {
    if (tensor.name == name) return &tensor;
  }
  return nullptr;
}

absl::string_view HealthStateName(HealthState state) {
  switch (state) {
    case HealthState::kServing:
      return "SERVING";
    case HealthState::kNotServing:
      return "NOT_SERVING";
    case HealthState::kServiceUnknown:
      return "SERVICE_UNKNOWN";
    case HealthState::kUnknown:
      break;
  }
  return "UNKNOWN";
}

absl::StatusOr<Precision> ParsePrecision(absl::string_view text) {
  const std::string lower = absl::AsciiStrToLower(text);
  if (lower == "full" || lower == "f32") return records::v1::PRECISION_FULL;
  if (lower == "half" || lower == "f16") return records::v1::PRECISION_HALF;
  if (lower == "double" || lower == "f64") {
    return records::v1::PRECISION_DOUBLE;
  }
  if (lower == "as-is" || lower == "keep") return records::v1::PRECISION_KEEP;
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown precision '", text, "'; expected full, half, double or as-is"));
}

absl::StatusOr<RecordFormat> ParseRecordFormat(absl::string_view text) {
  const std::string lower = absl::AsciiStrToLower(text);
  if (lower == "mpk") return records::v1::FORMAT_MPK;
  if (lower == "mpk.gz" || lower == "mpkgz") return records::v1::FORMAT_MPK_GZ;
  if (lower == "as-is" || lower == "keep") return records::v1::FORMAT_KEEP;
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown record format '", text, "'; expected mpk, mpk.gz or as-is"));
}

absl::string_view PrecisionName(Precision precision) {
  switch (precision) {
    case records::v1::PRECISION_FULL:
      return "full";
    case records::v1::PRECISION_HALF:
      return "half";
    case records::v1::PRECISION_DOUBLE:
      return "double";
    case records::v1::PRECISION_MIXED:
      return "mixed";
    default:
      return "as-is";
  }
}

absl::string_view RecordFormatName(RecordFormat format) {
  switch (format) {
    case records::v1::FORMAT_MPK:
      return "mpk";
    case records::v1::FORMAT_MPK_GZ:
      return "mpk.gz";
    default:
      return "as-is";
  }
}

absl::StatusOr<std::unique_ptr<EmberClient>> EmberClient::Create(
    ClientOptions options) {
  if (options.server.empty()) {
    return absl::InvalidArgumentError("no server address given");
  }
  if (options.timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("timeout must be positive, not ",
                     absl::FormatDuration(options.timeout)));
  }
  if (options.chunk_bytes < (4 << 10) || options.chunk_bytes > (3 << 20)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "chunk_bytes must be 4 KiB .. 3 MiB (the records service's "
        "range), not ",
        options.chunk_bytes));
  }
  if (options.client_cert_file.empty() != options.client_key_file.empty()) {
    return absl::InvalidArgumentError(
        "a client certificate needs its key and a key its certificate");
  }
  if (!options.tls &&
      (!options.ca_file.empty() || !options.client_cert_file.empty())) {
    return absl::InvalidArgumentError(
        "a CA file or client certificate needs TLS");
  }

  std::shared_ptr<grpc::ChannelCredentials> credentials;
  if (options.tls) {
    grpc::SslCredentialsOptions ssl;
    if (!options.ca_file.empty()) {
      EMBER_RETURN_IF_ERROR(ReadFile(options.ca_file, &ssl.pem_root_certs));
    }
    if (!options.client_cert_file.empty()) {
      EMBER_RETURN_IF_ERROR(
          ReadFile(options.client_cert_file, &ssl.pem_cert_chain));
      EMBER_RETURN_IF_ERROR(
          ReadFile(options.client_key_file, &ssl.pem_private_key));
    }
    credentials = grpc::SslCredentials(ssl);
  } else {
    credentials = grpc::InsecureChannelCredentials();
  }

  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(options.max_message_bytes);
  args.SetMaxSendMessageSize(options.max_message_bytes);
  if (!options.tls_server_name.empty()) {
    args.SetSslTargetNameOverride(options.tls_server_name);
  }
  std::shared_ptr<grpc::Channel> channel =
      grpc::CreateCustomChannel(options.server, credentials, args);
  return std::unique_ptr<EmberClient>(
      new EmberClient(std::move(options), std::move(channel)));
}

EmberClient::EmberClient(ClientOptions options,
                         std::shared_ptr<grpc::Channel> channel)
    : options_(std::move(options)),
      channel_(std::move(channel)),
      inference_(inference::GRPCInferenceService::NewStub(channel_)),
      records_(records::v1::Records::NewStub(channel_)) {}

void EmberClient::Prepare(grpc::ClientContext* context,
                          absl::Duration timeout) const {
  if (timeout != absl::InfiniteDuration()) {
    context->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  }
  if (!options_.token.empty()) {
    context->AddMetadata("authorization", "Bearer " + options_.token);
  }
}

absl::Status EmberClient::CallStatus(const grpc::Status& status,
                                     bool got_response,
                                     absl::string_view rpc) const {
  absl::Status result = StatusFromGrpc(status);
  if (result.code() == absl::StatusCode::kUnimplemented) {
    // Said by gRPC itself, without a message, for a service the server
    // does not offer.
    return absl::UnimplementedError(
        absl::StrCat(options_.server, " does not offer ", rpc,
                     result.message().empty() ? "" : ": ", result.message()));
  }
  if (!result.ok() && result.message().empty()) {
    result = absl::Status(result.code(),
                          absl::StrCat(rpc, " failed with ",
                                       absl::StatusCodeToString(result.code()),
                                       " and no message"));
  }
  if (result.ok() || got_response) return result;
  const bool connect_code =
      status.error_code() == grpc::StatusCode::UNAVAILABLE ||
      status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED;
  // A server that answered UNAVAILABLE itself (e.g. while draining) left
  // the channel connected; only a channel that never became ready means
  // the server was not reached.
  if (!connect_code || channel_->GetState(false) == GRPC_CHANNEL_READY) {
    return result;
  }
  absl::Status failure(result.code(),
                       absl::StrCat("cannot connect to ", options_.server, ": ",
                                    result.message()));
  failure.SetPayload(kConnectionFailureUrl, absl::Cord("1"));
  return failure;
}

template <typename Request, typename Response>
absl::StatusOr<Response> EmberClient::CallInference(
    grpc::Status (inference::GRPCInferenceService::Stub::*method)(
        grpc::ClientContext*, const Request&, Response*),
    const Request& request, absl::string_view name) const {
  grpc::ClientContext context;
  Prepare(&context, options_.timeout);
  Response response;
  const grpc::Status status =
      (inference_.get()->*method)(&context, request, &response);
  EMBER_RETURN_IF_ERROR(CallStatus(
      status, false, absl::StrCat("inference.GRPCInferenceService/", name)));
  return response;
}

using InferenceStub = inference::GRPCInferenceService::Stub;

absl::StatusOr<bool> EmberClient::ServerLive() {
  EMBER_ASSIGN_OR_RETURN(
      inference::ServerLiveResponse response,
      CallInference(&InferenceStub::ServerLive, inference::ServerLiveRequest(),
                    "ServerLive"));
  return response.live();
}

absl::StatusOr<bool> EmberClient::ServerReady() {
  EMBER_ASSIGN_OR_RETURN(
      inference::ServerReadyResponse response,
      CallInference(&InferenceStub::ServerReady,
                    inference::ServerReadyRequest(), "ServerReady"));
  return response.ready();
}

absl::StatusOr<bool> EmberClient::ModelReady(const std::string& model,
                                             const std::string& version) {
  inference::ModelReadyRequest request;
  request.set_name(model);
  request.set_version(version);
  EMBER_ASSIGN_OR_RETURN(
      inference::ModelReadyResponse response,
      CallInference(&InferenceStub::ModelReady, request, "ModelReady"));
  return response.ready();
}

absl::StatusOr<HealthState> EmberClient::HealthCheck(
    const std::string& service) {
  grpc::ClientContext context;
  Prepare(&context, options_.timeout);
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(service);
  grpc::health::v1::HealthCheckResponse response;
  std::unique_ptr<grpc::health::v1::Health::Stub> health =
      grpc::health::v1::Health::NewStub(channel_);
  const grpc::Status status = health->Check(&context, request, &response);
  if (status.error_code() == grpc::StatusCode::NOT_FOUND) {
    return HealthState::kServiceUnknown;
  }
  EMBER_RETURN_IF_ERROR(
      CallStatus(status, false, "grpc.health.v1.Health/Check"));
  switch (response.status()) {
    case grpc::health::v1::HealthCheckResponse::SERVING:
      return HealthState::kServing;
    case grpc::health::v1::HealthCheckResponse::NOT_SERVING:
      return HealthState::kNotServing;
    case grpc::health::v1::HealthCheckResponse::SERVICE_UNKNOWN:
      return HealthState::kServiceUnknown;
    default:
      return HealthState::kUnknown;
  }
}

absl::StatusOr<inference::ServerMetadataResponse>
EmberClient::ServerMetadata() {
  return CallInference(&InferenceStub::ServerMetadata,
                       inference::ServerMetadataRequest(), "ServerMetadata");
}

absl::StatusOr<std::vector<ModelVersionState>> EmberClient::ListModels(
    bool ready_only) {
  inference::RepositoryIndexRequest request;
  request.set_ready(ready_only);
  EMBER_ASSIGN_OR_RETURN(inference::RepositoryIndexResponse response,
                         CallInference(&InferenceStub::RepositoryIndex, request,
                                       "RepositoryIndex"));
  std::vector<ModelVersionState> models;
  models.reserve(response.models_size());
  for (const auto& m : response.models()) {
    models.push_back({m.name(), m.version(), m.state(), m.reason()});
  }
  return models;
}

absl::StatusOr<inference::ModelMetadataResponse> EmberClient::ModelMetadata(
    const std::string& model, const std::string& version) {
  inference::ModelMetadataRequest request;
  request.set_name(model);
  request.set_version(version);
  return CallInference(&InferenceStub::ModelMetadata, request, "ModelMetadata");
}

absl::StatusOr<inference::ModelConfig> EmberClient::ModelConfig(
    const std::string& model, const std::string& version) {
  inference::ModelConfigRequest request;
  request.set_name(model);
  request.set_version(version);
  EMBER_ASSIGN_OR_RETURN(
      inference::ModelConfigResponse response,
      CallInference(&InferenceStub::ModelConfig, request, "ModelConfig"));
  return response.config();
}

absl::StatusOr<inference::ModelStatisticsResponse> EmberClient::ModelStatistics(
    const std::string& model, const std::string& version) {
  inference::ModelStatisticsRequest request;
  request.set_name(model);
  request.set_version(version);
  return CallInference(&InferenceStub::ModelStatistics, request,
                       "ModelStatistics");
}

namespace {

// The ModelInfer request for `inputs` (each validated first).
absl::StatusOr<inference::ModelInferRequest> MakeInferRequest(
    const std::string& model, const std::vector<Tensor>& inputs,
    const InferOptions& options) {
  inference::ModelInferRequest request;
  request.set_model_name(model);
  request.set_model_version(options.model_version);
  request.set_id(options.request_id);
  for (const Tensor& tensor : inputs) {
    EMBER_RETURN_IF_ERROR(tensor.Validate());
    auto* input = request.add_inputs();
    input->set_name(tensor.name);
    input->set_datatype(tensor.datatype);
    for (int64_t dim : tensor.shape) input->add_shape(dim);
    if (options.input_encoding == InputEncoding::kRaw) {
      request.add_raw_input_contents(tensor.data);
    } else {
      EMBER_RETURN_IF_ERROR(ToTypedContents(tensor, input->mutable_contents()));
    }
  }
  for (const RequestedOutput& wanted : options.outputs) {
    auto* output = request.add_outputs();
    output->set_name(wanted.name);
    if (!wanted.datatype.empty()) {
      (*output->mutable_parameters())["datatype"].set_string_param(
          wanted.datatype);
    }
  }
  if (options.raw_outputs) {
    (*request.mutable_parameters())["binary_data_output"].set_bool_param(true);
  }
  return request;
}

// The result a ModelInfer response carries, every output validated
// (DATA_LOSS for one that does not match its own shape).
absl::StatusOr<InferResult> ResultOf(
    const inference::ModelInferResponse& response) {
  InferResult result;
  result.model_name = response.model_name();
  result.model_version = response.model_version();
  result.request_id = response.id();
  const bool raw = response.raw_output_contents_size() > 0;
  if (raw && response.raw_output_contents_size() != response.outputs_size()) {
    return absl::DataLossError(
        absl::StrCat("server sent ", response.outputs_size(), " outputs but ",
                     response.raw_output_contents_size(), " raw output blobs"));
  }
  for (int i = 0; i < response.outputs_size(); ++i) {
    const auto& output = response.outputs(i);
    Tensor tensor;
    tensor.name = output.name();
    tensor.datatype = output.datatype();
    tensor.shape.assign(output.shape().begin(), output.shape().end());
    if (raw) {
      tensor.data = response.raw_output_contents(i);
    } else {
      EMBER_ASSIGN_OR_RETURN(tensor.data,
                             FromTypedContents(output.name(), output.datatype(),
                                               output.contents()));
    }
    const absl::Status valid = tensor.Validate();
    if (!valid.ok()) {
      return absl::DataLossError(
          absl::StrCat("server sent a malformed output: ", valid.message()));
    }
    result.outputs.push_back(std::move(tensor));
  }
  return result;
}

constexpr char kStreamRpc[] = "inference.GRPCInferenceService/ModelStreamInfer";

}  // namespace

absl::StatusOr<InferResult> EmberClient::Infer(
    const std::string& model, const std::vector<Tensor>& inputs,
    const InferOptions& options) {
  EMBER_ASSIGN_OR_RETURN(inference::ModelInferRequest request,
                         MakeInferRequest(model, inputs, options));
  EMBER_ASSIGN_OR_RETURN(
      inference::ModelInferResponse response,
      CallInference(&InferenceStub::ModelInfer, request, "ModelInfer"));
  return ResultOf(response);
}

std::unique_ptr<InferStream> EmberClient::OpenInferStream(
    absl::Duration timeout) const {
  std::unique_ptr<InferStream> stream(new InferStream(*this));
  Prepare(&stream->context_, timeout);
  stream->stream_ = inference_->ModelStreamInfer(&stream->context_);
  return stream;
}

InferStream::~InferStream() {
  if (ended_) return;
  // Abandoned early: cancel, take what is still in flight, and collect the
  // status so the call is released.
  context_.TryCancel();
  inference::ModelStreamInferResponse ignored;
  while (stream_->Read(&ignored)) {
  }
  (void)stream_->Finish();
}

absl::Status InferStream::Send(const std::string& model,
                               const std::vector<Tensor>& inputs,
                               const InferOptions& options) {
  if (send_closed_) {
    return absl::FailedPreconditionError(
        "Send after CloseSend on an inference stream");
  }
  EMBER_ASSIGN_OR_RETURN(inference::ModelInferRequest request,
                         MakeInferRequest(model, inputs, options));
  if (!stream_->Write(request)) {
    return absl::UnavailableError(
        absl::StrCat(kStreamRpc, ": the stream has ended; Read gives why"));
  }
  return absl::OkStatus();
}

absl::Status InferStream::CloseSend() {
  if (send_closed_) return absl::OkStatus();
  send_closed_ = true;
  if (!stream_->WritesDone()) {
    return absl::UnavailableError(
        absl::StrCat(kStreamRpc, ": the stream has ended; Read gives why"));
  }
  return absl::OkStatus();
}

absl::StatusOr<InferResult> InferStream::Read() {
  if (!ended_) {
    inference::ModelStreamInferResponse response;
    if (stream_->Read(&response)) {
      got_response_ = true;
      if (!response.error_message().empty()) {
        // The stream reports a refused request by its message alone.
        return absl::UnknownError(response.error_message());
      }
      return ResultOf(response.infer_response());
    }
    ended_ = true;
    end_ = client_.CallStatus(stream_->Finish(), got_response_, kStreamRpc);
  }
  if (!end_.ok()) return end_;
  return absl::OutOfRangeError(
      absl::StrCat(kStreamRpc, ": every response has been read"));
}

absl::Status EmberClient::LoadModel(const std::string& model) {
  inference::RepositoryModelLoadRequest request;
  request.set_model_name(model);
  return CallInference(&InferenceStub::RepositoryModelLoad, request,
                       "RepositoryModelLoad")
      .status();
}

absl::Status EmberClient::UnloadModel(const std::string& model) {
  inference::RepositoryModelUnloadRequest request;
  request.set_model_name(model);
  return CallInference(&InferenceStub::RepositoryModelUnload, request,
                       "RepositoryModelUnload")
      .status();
}

namespace {

// What fstat says of a file that changes when it is written to.
struct FileIdentity {
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  int64_t ctime_ns = 0;
  bool operator==(const FileIdentity& o) const {
    return size == o.size && mtime_ns == o.mtime_ns && ctime_ns == o.ctime_ns;
  }
};

absl::StatusOr<FileIdentity> Identify(FILE* file, const std::string& path) {
  struct stat st;
  if (fstat(fileno(file), &st) != 0) {
    return absl::DataLossError(
        absl::StrCat("cannot stat ", path, ": ", strerror(errno)));
  }
  FileIdentity id;
  id.size = static_cast<uint64_t>(st.st_size);
  id.mtime_ns = st.st_mtim.tv_sec * int64_t{1000000000} + st.st_mtim.tv_nsec;
  id.ctime_ns = st.st_ctim.tv_sec * int64_t{1000000000} + st.st_ctim.tv_nsec;
  return id;
}

}  // namespace

absl::StatusOr<UploadResult> EmberClient::UploadFile(
    const std::string& path, const UploadOptions& options) {
  FILE* file = fopen(path.c_str(), "rb");
  if (file == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("cannot open ", path, ": ", strerror(errno)));
  }
  std::unique_ptr<FILE, int (*)(FILE*)> closer(file, fclose);
  EMBER_ASSIGN_OR_RETURN(const FileIdentity before, Identify(file, path));

  // One pass: the file is hashed as it is sent and the digest goes in the
  // trailer. A file written to meanwhile (a training job saving over it)
  // shows in its size or times, and the upload is abandoned before the
  // trailer, so the server stores nothing.
  uint64_t sent = 0;
  std::string buffer(options_.chunk_bytes, '\0');
  auto next = [&]() -> absl::StatusOr<std::string> {
    const size_t n = fread(buffer.data(), 1, buffer.size(), file);
    if (n == 0 && ferror(file)) {
      return absl::DataLossError(
          absl::StrCat("error reading ", path, ": ", strerror(errno)));
    }
    sent += n;
    if (n == 0) {
      EMBER_ASSIGN_OR_RETURN(const FileIdentity after, Identify(file, path));
      if (!(after == before) || sent != before.size) {
        return absl::DataLossError(
            absl::StrCat(path, " changed while it was being uploaded"));
      }
    }
    return std::string(buffer.data(), n);
  };
  return Upload(options, before.size, next);
}

absl::StatusOr<UploadResult> EmberClient::UploadBytes(
    absl::string_view bytes, const UploadOptions& options) {
  size_t at = 0;
  auto next = [&]() -> absl::StatusOr<std::string> {
    const size_t n = std::min<size_t>(bytes.size() - at, options_.chunk_bytes);
    std::string chunk(bytes.substr(at, n));
    at += n;
    return chunk;
  };
  return Upload(options, bytes.size(), next);
}

absl::StatusOr<UploadResult> EmberClient::Upload(
    const UploadOptions& options, uint64_t total,
    const std::function<absl::StatusOr<std::string>()>& next) {
  if (options.model.empty()) {
    return absl::InvalidArgumentError("upload needs a model name");
  }
  grpc::ClientContext context;
  absl::Duration timeout = options_.timeout;
  if (options.wait_until_serving) timeout += options.wait_timeout;
  Prepare(&context, timeout);
  records::v1::UploadResponse response;
  std::unique_ptr<grpc::ClientWriter<records::v1::UploadRequest>> writer =
      records_->Upload(&context, &response);

  records::v1::UploadRequest request;
  records::v1::UploadHeader* header = request.mutable_header();
  header->set_model(options.model);
  header->set_version(options.version);
  header->set_precision(options.precision);
  header->set_format(options.format);
  header->set_total_size(total);
  header->set_config_pbtxt(options.config_pbtxt);
  header->set_replace_config(options.replace_config);
  header->set_wait_until_serving(options.wait_until_serving);
  // 0 would mean the server's default; ask for at least 1 ms.
  header->set_wait_timeout_ms(static_cast<uint32_t>(
      std::clamp<int64_t>(absl::ToInt64Milliseconds(options.wait_timeout), 1,
                          std::numeric_limits<uint32_t>::max())));

  // A failed Write means the server ended the call; Finish says why.
  absl::Status local = absl::OkStatus();
  Sha256 hash;
  uint64_t done = 0;
  if (options.progress) options.progress(0, total);
  bool open = writer->Write(request);
  while (open) {
    absl::StatusOr<std::string> chunk = next();
    if (!chunk.ok()) {
      local = chunk.status();
      context.TryCancel();  // no trailer: the server stores nothing
      break;
    }
    if (chunk->empty()) break;
    done += chunk->size();
    hash.Update(*chunk);
    request.Clear();
    request.set_chunk(std::move(*chunk));
    open = writer->Write(request);
    if (open && options.progress) options.progress(done, total);
  }
  const std::string sha256 = hash.HexDigest();
  if (open && local.ok()) {
    request.Clear();
    request.mutable_trailer()->set_sha256(sha256);
    open = writer->Write(request);
  }
  if (open) writer->WritesDone();
  const grpc::Status status = writer->Finish();
  if (!local.ok()) return local;
  EMBER_RETURN_IF_ERROR(
      CallStatus(status, false, "ember.records.v1.Records/Upload"));

  UploadResult result;
  result.record = response.record();
  result.serving = response.serving();
  result.serving_message = response.serving_message();
  result.sent_sha256 = sha256;
  return result;
}

absl::StatusOr<RecordInfo> EmberClient::Download(
    const DownloadOptions& options,
    const std::function<absl::Status(absl::string_view)>& sink) {
  if (options.model.empty()) {
    return absl::InvalidArgumentError("download needs a model name");
  }
  grpc::ClientContext context;
  Prepare(&context, options_.timeout);
  records::v1::DownloadRequest request;
  request.set_model(options.model);
  request.set_version(options.version);
  request.set_precision(options.precision);
  request.set_format(options.format);
  request.set_chunk_size(options_.chunk_bytes);
  std::unique_ptr<grpc::ClientReader<records::v1::DownloadResponse>> reader =
      records_->Download(&context, request);

  records::v1::DownloadResponse response;
  bool have_metadata = false;
  RecordInfo info;
  Sha256 hash;
  uint64_t done = 0;
  absl::Status local = absl::OkStatus();
  while (reader->Read(&response)) {
    if (response.has_metadata()) {
      if (have_metadata) {
        local = absl::DataLossError("server sent the record's metadata twice");
        break;
      }
      have_metadata = true;
      info = response.metadata();
      if (options.progress) options.progress(0, info.size());
      continue;
    }
    if (!have_metadata) {
      local = absl::DataLossError("server sent bytes before the metadata");
      break;
    }
    const std::string& chunk = response.chunk();
    done += chunk.size();
    if (done > info.size()) {
      local = absl::DataLossError(absl::StrCat(
          "server sent more than the announced ", info.size(), " bytes"));
      break;
    }
    hash.Update(chunk);
    local = sink(chunk);
    if (!local.ok()) break;
    if (options.progress) options.progress(done, info.size());
  }
  if (!local.ok()) {
    context.TryCancel();
    reader->Finish();
    return local;
  }
  EMBER_RETURN_IF_ERROR(CallStatus(reader->Finish(), have_metadata,
                                   "ember.records.v1.Records/Download"));
  if (!have_metadata) {
    return absl::DataLossError("server ended the download without a record");
  }
  if (done != info.size()) {
    return absl::DataLossError(absl::StrCat("server announced ", info.size(),
                                            " bytes but sent ", done));
  }
  const std::string digest = hash.HexDigest();
  if (!info.sha256().empty() &&
      absl::AsciiStrToLower(info.sha256()) != digest) {
    return absl::DataLossError(absl::StrCat("downloaded bytes have SHA-256 ",
                                            digest, " but the server said ",
                                            info.sha256()));
  }
  return info;
}

absl::StatusOr<RecordInfo> EmberClient::DownloadToFile(
    const std::string& path, const DownloadOptions& options) {
  if (path.empty()) {
    return absl::InvalidArgumentError("download needs an output file");
  }
  TempFile temp;
  EMBER_RETURN_IF_ERROR(temp.Open(path));
  EMBER_ASSIGN_OR_RETURN(RecordInfo info,
                         Download(options, [&temp](absl::string_view chunk) {
                           return temp.Write(chunk);
                         }));
  EMBER_RETURN_IF_ERROR(temp.Commit(path));
  return info;
}

absl::StatusOr<RecordInfo> EmberClient::DownloadToString(
    const DownloadOptions& options, std::string* bytes) {
  std::string buffer;
  EMBER_ASSIGN_OR_RETURN(RecordInfo info,
                         Download(options, [&buffer](absl::string_view chunk) {
                           buffer.append(chunk.data(), chunk.size());
                           return absl::OkStatus();
                         }));
  *bytes = std::move(buffer);
  return info;
}

absl::StatusOr<std::vector<RecordInfo>> EmberClient::ListRecords(
    const std::string& model) {
  grpc::ClientContext context;
  Prepare(&context, options_.timeout);
  records::v1::ListRecordsRequest request;
  request.set_model(model);
  records::v1::ListRecordsResponse response;
  const grpc::Status status =
      records_->ListRecords(&context, request, &response);
  EMBER_RETURN_IF_ERROR(
      CallStatus(status, false, "ember.records.v1.Records/ListRecords"));
  return std::vector<RecordInfo>(response.records().begin(),
                                 response.records().end());
}

}  // namespace ember::client
