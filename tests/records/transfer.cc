#include "tests/records/transfer.h"

#include <algorithm>
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "grpcpp/client_context.h"
#include "recorder/codec.h"
#include "recorder/record.h"

namespace ember::records::testing {
namespace {

namespace v1 = ::ember::records::v1;

void Authorize(grpc::ClientContext* context, const CallOptions& options) {
  if (!options.token.empty()) {
    context->AddMetadata("authorization", "Bearer " + options.token);
  }
}

}  // namespace

UploadResult UploadRecord(v1::Records::StubInterface& stub,
                          const v1::UploadHeader& header,
                          const std::string& bytes,
                          const CallOptions& options) {
  UploadResult result;
  grpc::ClientContext context;
  Authorize(&context, options);
  std::unique_ptr<grpc::ClientWriterInterface<v1::UploadRequest>> writer =
      stub.Upload(&context, &result.response);
  v1::UploadRequest message;
  *message.mutable_header() = header;
  bool open = writer->Write(message);
  for (size_t at = 0; open && at < bytes.size(); at += options.chunk_size) {
    message.set_chunk(bytes.data() + at,
                      std::min(options.chunk_size, bytes.size() - at));
    open = writer->Write(message);
  }
  if (open && !options.trailer_sha256.empty()) {
    message.mutable_trailer()->set_sha256(options.trailer_sha256);
    open = writer->Write(message);
  }
  if (open && !options.after_trailer.empty()) {
    message.set_chunk(options.after_trailer);
    open = writer->Write(message);
  }
  if (open) writer->WritesDone();
  result.status = writer->Finish();
  return result;
}

DownloadResult DownloadRecord(v1::Records::StubInterface& stub,
                              const v1::DownloadRequest& request,
                              const CallOptions& options) {
  DownloadResult result;
  grpc::ClientContext context;
  Authorize(&context, options);
  std::unique_ptr<grpc::ClientReaderInterface<v1::DownloadResponse>> reader =
      stub.Download(&context, request);
  v1::DownloadResponse message;
  bool first = true;
  while (reader->Read(&message)) {
    if (first && message.has_metadata()) {
      result.metadata = message.metadata();
      result.bytes.reserve(result.metadata.size());
    } else {
      result.bytes.append(message.chunk());
      ++result.chunks;
    }
    first = false;
  }
  result.status = reader->Finish();
  return result;
}

absl::StatusOr<std::string> SquareLinearRecord(int dim) {
  auto weights = std::make_shared<std::string>(
      static_cast<size_t>(dim) * dim * sizeof(float), '\0');
  auto bias = std::make_shared<std::string>(dim * sizeof(float), '\0');
  float* w = reinterpret_cast<float*>(weights->data());
  for (size_t i = 0; i < weights->size() / sizeof(float); ++i) {
    w[i] = static_cast<float>((i * 2654435761u) % 1000) * 1e-4f - 0.05f;
  }
  auto param = [](const std::string& id, std::shared_ptr<std::string> bytes,
                  std::vector<uint64_t> shape) {
    recorder::Tensor t;
    t.id = id;
    t.dtype = recorder::DType::kF32;
    t.shape = std::move(shape);
    t.bytes = *bytes;
    t.storage = bytes;
    return recorder::Value::MakeTensor(std::move(t));
  };
  using recorder::Value;
  Value metadata = Value::MakeMap({
      {"float", Value::String("f32")},
      {"int", Value::String("i32")},
      {"format", Value::String("burn_core::record::file::NamedMpkFileRecorder<"
                               "burn_core::record::settings::"
                               "FullPrecisionSettings>")},
      {"version", Value::String("0.16.1")},
      {"settings", Value::String("FullPrecisionSettings")},
  });
  Value linear = Value::MakeMap({
      {"weight",
       param("benchweight01", weights,
             {static_cast<uint64_t>(dim), static_cast<uint64_t>(dim)})},
      {"bias", param("benchbias0001", bias, {static_cast<uint64_t>(dim)})},
  });
  recorder::Record record(Value::MakeMap({
      {"metadata", std::move(metadata)},
      {"item", Value::MakeMap({{"layer", std::move(linear)}})},
      {"_b", Value::MakeArray({})},
  }));
  return recorder::EncodeRecord(record, recorder::RecordFormat::kMpk);
}

std::string SquareLinearConfig(int dim) {
  return absl::StrCat("input { name: \"x\" datatype: FP32 shape: [-1, ", dim,
                      "] }\noutput { name: \"y\" datatype: FP32 shape: [-1, ",
                      dim, "] }\nlayers { name: \"y\" type: \"linear\" ",
                      "record_path: \"layer\" }\n");
}

}  // namespace ember::records::testing
