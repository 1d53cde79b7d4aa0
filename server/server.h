// emberd assembled: repository watcher, model manager, inference scheduler
// and the gRPC server with health checking and reflection.
//
//   EmberServer::Options options;
//   options.model_repository = "/models";
//   options.grpc_address = "0.0.0.0:8001";
//   options.loader = model::LoadModel;  // and config_parser
//   // Serves inference.GRPCInferenceService, ember.records.v1.Records,
//   // grpc.health.v1.Health and reflection on one port.
//   EMBER_ASSIGN_OR_RETURN(std::unique_ptr<EmberServer> server,
//                          EmberServer::Create(std::move(options)));
//   ... wait for SIGTERM ...
//   server->Drain();

#ifndef EMBER_SERVER_SERVER_H_
#define EMBER_SERVER_SERVER_H_

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "server/auth/auth_policy.h"
#include "server/health_service.h"
#include "server/inference_scheduler.h"
#include "server/inference_service.h"
#include "server/model_manager.h"
#include "server/records/records_service.h"
#include "server/repository_fs.h"
#include "server/repository_watcher.h"

namespace ember::server {

// Thread-safe. Serving starts in Create and ends in Drain (or the
// destructor, which drains).
class EmberServer {
 public:
  struct Options {
    // Repository root. Required.
    std::string model_repository;
    // host:port to listen on; port 0 picks a free port (see port()).
    // Default "0.0.0.0:8001".
    std::string grpc_address = "0.0.0.0:8001";
    // Full rescan period of the repository. Default 2 s.
    absl::Duration poll_interval = absl::Seconds(2);
    // Delay before looking again at a file seen incomplete. Default 500 ms.
    absl::Duration settle_time = absl::Milliseconds(500);
    // Watch the repository with inotify too. Default true.
    bool use_inotify = true;
    // Threads building models. Default 2.
    int load_threads = 2;
    // Inferences running at once (and threads that run queued ones).
    // Default 2.
    int inference_threads = 2;
    // Requests allowed to wait for an inference thread. Default 1024.
    int max_queue_size = 1024;
    // Run an inference on the gRPC thread that received it when nothing
    // waits and a slot is free (see FifoScheduler). Default true.
    bool inference_on_request_thread = true;
    // Unload each version before loading its replacement. Default false.
    bool unload_first = false;
    // Largest gRPC message received or sent, bytes. Default 256 MiB:
    // room for large batches of real models (a batch of 1000 MNIST images
    // in FP32 is 3 MiB) while still bounding a single request's memory.
    int max_message_size = 256 << 20;
    // How long Drain waits for requests in flight. Default 30 s.
    absl::Duration drain_timeout = absl::Seconds(30);
    // Required: how models and configs are built (model::LoadModel and
    // model::ParseModelConfig in the daemon).
    ModelLoader loader;
    ConfigParser config_parser;
    // File access; null uses the local file system. Not owned.
    const RepositoryFs* fs = nullptr;
    // Transport credentials (see server/auth/tls_credentials.h); null
    // serves plaintext.
    std::shared_ptr<grpc::ServerCredentials> credentials;
    // Bearer-token checks for every service; null allows every call.
    std::shared_ptr<const auth::AuthPolicy> auth_policy;
    // Serve ember.records.v1.Records (record upload and download, see
    // server/records/records_service.h) on the same port. Default true.
    bool records_service = true;
    // Limits of the records service; its repository, access policy and
    // daemon hooks are filled in by the server.
    records::RecordsService::Options records_options;
    // More services served on the same port and drained with it (e.g. the
    // records service). Not owned; must outlive the server.
    std::vector<grpc::Service*> extra_services;
  };

  static absl::StatusOr<std::unique_ptr<EmberServer>> Create(Options options);
  ~EmberServer();

  EmberServer(const EmberServer&) = delete;
  EmberServer& operator=(const EmberServer&) = delete;

  // The bound TCP port.
  int port() const { return port_; }

  // Health turns NOT_SERVING, new requests are refused with UNAVAILABLE,
  // requests in flight get up to drain_timeout to finish, then the server
  // stops. True when every request finished in time. Idempotent.
  bool Drain();

  ModelManager* manager() { return manager_.get(); }
  RepositoryWatcher* watcher() { return watcher_.get(); }

 private:
  explicit EmberServer(Options options);
  absl::Status Start();
  // Removes staging entries an interrupted upload left in the repository.
  void RemoveStaleUploads();
  absl::Status StartRecordsService();
  // Sets each model's health status from what is ready.
  void UpdateHealth() ABSL_LOCKS_EXCLUDED(health_mu_);

  Options options_;
  LocalRepositoryFs local_fs_;
  RequestGate gate_;
  std::unique_ptr<ModelManager> manager_;
  std::unique_ptr<RepositoryWatcher> watcher_;
  std::unique_ptr<FifoScheduler> scheduler_;
  std::unique_ptr<InferenceService> service_;
  std::unique_ptr<records::RecordsService> records_;
  std::unique_ptr<grpc::Server> grpc_server_;
  int port_ = 0;

  // Guards health updates, so two updates never interleave (held while
  // setting statuses, which takes only the health service's own lock).
  absl::Mutex health_mu_;
  HealthService health_;
  std::set<std::string> health_names_ ABSL_GUARDED_BY(health_mu_);

  absl::Mutex drain_mu_;  // held for the whole drain
  bool drained_ ABSL_GUARDED_BY(drain_mu_) = false;
  bool drained_cleanly_ ABSL_GUARDED_BY(drain_mu_) = true;
};

}  // namespace ember::server

#endif  // EMBER_SERVER_SERVER_H_
