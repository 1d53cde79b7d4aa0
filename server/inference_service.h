// The gRPC face of emberd: inference.GRPCInferenceService.
//
// Implements the Open Inference Protocol RPCs (ServerLive, ServerReady,
// ModelReady, ServerMetadata, ModelMetadata, ModelInfer) and Triton's
// ModelStreamInfer, ModelConfig, ModelStatistics, RepositoryIndex,
// RepositoryModelLoad and RepositoryModelUnload. Statuses follow one rule: an
// unknown model or version is NOT_FOUND, a known one that is not serving is
// UNAVAILABLE, a malformed request is INVALID_ARGUMENT with what was expected,
// and a draining server refuses new work with UNAVAILABLE.
//
//   RequestGate gate;
//   InferenceService service(options, &manager, &scheduler, &watcher, &gate);
//   builder.RegisterService(&service);

#ifndef EMBER_SERVER_INFERENCE_SERVICE_H_
#define EMBER_SERVER_INFERENCE_SERVICE_H_

#include <cstdint>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "proto/grpc_service.grpc.pb.h"
#include "server/auth/auth_policy.h"
#include "server/inference_scheduler.h"
#include "server/model_manager.h"
#include "server/repository_watcher.h"
#include "server/request_gate.h"

namespace ember::server {

// Converts a status to gRPC's form (same code, same message).
grpc::Status ToGrpcStatus(const absl::Status& status);

// Thread-safe: gRPC calls the handlers concurrently.
class InferenceService final : public inference::GRPCInferenceService::Service {
 public:
  struct Options {
    std::string server_name = "emberd";
    std::string server_version = "0.1.0";
    // How long RepositoryModelLoad waits for the load to finish. Default
    // 5 minutes.
    absl::Duration load_timeout = absl::Minutes(5);
  };

  // Nothing is owned; all must outlive the service. `watcher` may be null
  // (RepositoryModelLoad then answers UNAVAILABLE). `auth` may be null
  // (every call allowed); otherwise model RPCs (ModelReady, ModelMetadata,
  // ModelInfer, ModelStatistics, RepositoryIndex) need the infer
  // permission, RepositoryModelLoad/Unload the write permission, and the
  // server-level RPCs (ServerLive, ServerReady, ServerMetadata) are open.
  InferenceService(Options options, ModelManager* manager,
                   InferenceScheduler* scheduler, RepositoryWatcher* watcher,
                   RequestGate* gate, const auth::AuthPolicy* auth = nullptr);

  grpc::Status ServerLive(grpc::ServerContext* context,
                          const inference::ServerLiveRequest* request,
                          inference::ServerLiveResponse* response) override;
  grpc::Status ServerReady(grpc::ServerContext* context,
                           const inference::ServerReadyRequest* request,
                           inference::ServerReadyResponse* response) override;
  grpc::Status ModelReady(grpc::ServerContext* context,
                          const inference::ModelReadyRequest* request,
                          inference::ModelReadyResponse* response) override;
  grpc::Status ServerMetadata(
      grpc::ServerContext* context,
      const inference::ServerMetadataRequest* request,
      inference::ServerMetadataResponse* response) override;
  grpc::Status ModelMetadata(
      grpc::ServerContext* context,
      const inference::ModelMetadataRequest* request,
      inference::ModelMetadataResponse* response) override;
  grpc::Status ModelInfer(grpc::ServerContext* context,
                          const inference::ModelInferRequest* request,
                          inference::ModelInferResponse* response) override;
  // Runs the stream's requests one at a time and answers each in order.
  grpc::Status ModelStreamInfer(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<inference::ModelStreamInferResponse,
                               inference::ModelInferRequest>* stream) override;
  grpc::Status ModelConfig(grpc::ServerContext* context,
                           const inference::ModelConfigRequest* request,
                           inference::ModelConfigResponse* response) override;
  grpc::Status ModelStatistics(
      grpc::ServerContext* context,
      const inference::ModelStatisticsRequest* request,
      inference::ModelStatisticsResponse* response) override;
  grpc::Status RepositoryIndex(
      grpc::ServerContext* context,
      const inference::RepositoryIndexRequest* request,
      inference::RepositoryIndexResponse* response) override;
  grpc::Status RepositoryModelLoad(
      grpc::ServerContext* context,
      const inference::RepositoryModelLoadRequest* request,
      inference::RepositoryModelLoadResponse* response) override;
  grpc::Status RepositoryModelUnload(
      grpc::ServerContext* context,
      const inference::RepositoryModelUnloadRequest* request,
      inference::RepositoryModelUnloadResponse* response) override;

 private:
  absl::Status Infer(const inference::ModelInferRequest& request,
                     inference::ModelInferResponse* response);
  grpc::Status Allowed(const grpc::ServerContext* context,
                       auth::Permission permission) const;
  // The version `name`/`version` addresses, for a caller allowed to infer.
  grpc::Status AcquireAllowed(
      const grpc::ServerContext& context, const std::string& name,
      const std::string& version,
      std::shared_ptr<const ServableVersion>* servable) const;

  const Options options_;
  ModelManager* const manager_;
  InferenceScheduler* const scheduler_;
  RepositoryWatcher* const watcher_;
  RequestGate* const gate_;
  const auth::AuthPolicy* const auth_;
};

}  // namespace ember::server

#endif  // EMBER_SERVER_INFERENCE_SERVICE_H_
