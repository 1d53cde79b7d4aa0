#include "tests/records/transfer.h"

#include <algorithm>
#include <memory>

#include "grpcpp/client_context.h"

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

}  // namespace ember::records::testing
