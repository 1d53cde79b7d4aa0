#include "server/server.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "glog/logging.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "server/records/repository_files.h"

namespace ember::server {

absl::StatusOr<std::unique_ptr<EmberServer>> EmberServer::Create(
    Options options) {
  if (options.model_repository.empty()) {
    return absl::InvalidArgumentError("no model repository given");
  }
  if (options.max_message_size <= 0) {
    return absl::InvalidArgumentError("max message size must be positive");
  }
  std::unique_ptr<EmberServer> server(new EmberServer(std::move(options)));
  EMBER_RETURN_IF_ERROR(server->Start());
  return server;
}

EmberServer::EmberServer(Options options) : options_(std::move(options)) {}

EmberServer::~EmberServer() {
  Drain();
  // Stop watching before the manager goes; the manager waits for loads.
  watcher_.reset();
  service_.reset();
  records_.reset();
  scheduler_.reset();
  manager_.reset();
}

absl::Status EmberServer::Start() {
  const RepositoryFs* fs = options_.fs != nullptr ? options_.fs : &local_fs_;

  ModelManager::Options manager_options;
  manager_options.load_threads = options_.load_threads;
  manager_options.unload_first = options_.unload_first;
  manager_options.loader = options_.loader;
  manager_options.config_parser = options_.config_parser;
  manager_options.fs = fs;
  manager_options.on_change = [this] { UpdateHealth(); };
  EMBER_ASSIGN_OR_RETURN(manager_,
                         ModelManager::Create(std::move(manager_options)));

  FifoScheduler::Options scheduler_options;
  scheduler_options.num_threads = options_.inference_threads;
  scheduler_options.max_queue_size = options_.max_queue_size;
  scheduler_options.run_on_caller_when_idle =
      options_.inference_on_request_thread;
  scheduler_ = std::make_unique<FifoScheduler>(scheduler_options);

  if (options_.records_service) RemoveStaleUploads();

  RepositoryWatcher::Options watcher_options;
  watcher_options.root = options_.model_repository;
  watcher_options.poll_interval = options_.poll_interval;
  watcher_options.settle_time = options_.settle_time;
  watcher_options.use_inotify = options_.use_inotify;
  EMBER_ASSIGN_OR_RETURN(
      watcher_, RepositoryWatcher::Create(watcher_options, fs, manager_.get()));

  service_ = std::make_unique<InferenceService>(
      InferenceService::Options(), manager_.get(), scheduler_.get(),
      watcher_.get(), &gate_, options_.auth_policy.get());
  if (options_.records_service) EMBER_RETURN_IF_ERROR(StartRecordsService());

  // Ember's own health service, which can forget removed models.
  grpc::EnableDefaultHealthCheckService(false);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options_.grpc_address,
                           options_.credentials != nullptr
                               ? options_.credentials
                               : grpc::InsecureServerCredentials(),
                           &port_);
  builder.SetMaxReceiveMessageSize(options_.max_message_size);
  builder.SetMaxSendMessageSize(options_.max_message_size);
  builder.RegisterService(service_.get());
  builder.RegisterService(&health_);
  if (records_ != nullptr) builder.RegisterService(records_.get());
  for (grpc::Service* service : options_.extra_services) {
    builder.RegisterService(service);
  }
  grpc_server_ = builder.BuildAndStart();
  if (grpc_server_ == nullptr || port_ == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", options_.grpc_address));
  }
  UpdateHealth();
  LOG(INFO) << "emberd serving " << options_.model_repository << " on port "
            << port_;
  return absl::OkStatus();
}

void EmberServer::RemoveStaleUploads() {
  // A daemon killed during an upload leaves a hidden staging entry behind;
  // the watcher ignores it, so only this sweep reclaims the space.
  absl::StatusOr<int> removed =
      records::CleanStaleTempFiles(options_.model_repository);
  if (!removed.ok()) {
    LOG(WARNING) << "cannot sweep unfinished uploads: " << removed.status();
  } else if (*removed > 0) {
    LOG(INFO) << "removed " << *removed
              << " unfinished upload(s) left by an earlier run";
  }
}

absl::Status EmberServer::StartRecordsService() {
  records::RecordsService::Options options = options_.records_options;
  options.repository = options_.model_repository;
  options.auth =
      options_.auth_policy != nullptr
          ? options_.auth_policy
          : std::shared_ptr<const auth::AuthPolicy>(auth::AuthPolicy::Open());
  ModelManager* manager = manager_.get();
  RepositoryWatcher* watcher = watcher_.get();
  options.wait_until_serving = [manager, watcher](const std::string& model,
                                                  int64_t version,
                                                  absl::Time deadline) {
    watcher->RequestRescan();  // in case inotify missed the rename
    return manager->WaitUntilServing(model, version, deadline);
  };
  options.latest_ready_version =
      [manager](const std::string& model) -> absl::StatusOr<int64_t> {
    std::vector<std::shared_ptr<const ServableVersion>> ready =
        manager->ReadyVersions(model);
    if (ready.empty()) {
      return absl::NotFoundError(
          absl::StrCat("model \"", model, "\" has no ready version"));
    }
    return ready.back()->version;
  };
  options.version_state = [manager](const std::string& model,
                                    int64_t version) -> std::string {
    for (const VersionStatus& status : manager->Index()) {
      if (status.model == model && status.version == version) {
        return VersionStateName(status.state);
      }
    }
    return "";
  };
  options.gate = &gate_;  // drained with inference
  absl::StatusOr<std::unique_ptr<records::RecordsService>> service =
      records::RecordsService::Create(std::move(options));
  if (!service.ok()) {
    // The records service needs the repository to exist; inference does
    // not (it waits for the repository to appear).
    LOG(WARNING) << "records service not started: " << service.status();
    return absl::OkStatus();
  }
  records_ = *std::move(service);
  return absl::OkStatus();
}

void EmberServer::UpdateHealth() {
  absl::MutexLock lock(&health_mu_);
  if (gate_.draining()) return;
  health_.Set("", true);
  std::set<std::string> names;
  for (const std::string& name : manager_->ModelNames()) {
    names.insert(name);
    health_.Set(name, !manager_->ReadyVersions(name).empty());
  }
  // A model that left the repository is unknown again (NOT_FOUND).
  for (const std::string& gone : health_names_) {
    if (names.count(gone) == 0) health_.Forget(gone);
  }
  health_names_ = std::move(names);
}

bool EmberServer::Drain() {
  absl::MutexLock drain_lock(&drain_mu_);
  if (drained_) return drained_cleanly_;
  drained_ = true;
  if (grpc_server_ == nullptr) return true;

  LOG(INFO) << "draining: refusing new requests, " << gate_.in_flight()
            << " in flight";
  gate_.StartDraining();
  manager_->StopWaiting();  // uploads waiting to serve answer now
  {
    absl::MutexLock lock(&health_mu_);
    health_.Shutdown();  // all NOT_SERVING
  }
  const absl::Time deadline = absl::Now() + options_.drain_timeout;
  drained_cleanly_ = gate_.AwaitIdle(deadline);
  if (!drained_cleanly_) {
    LOG(WARNING) << "drain timeout: " << gate_.in_flight()
                 << " requests still running are cancelled";
  }
  grpc_server_->Shutdown(
      absl::ToChronoTime(absl::Now() + absl::Milliseconds(100)));
  grpc_server_->Wait();
  LOG(INFO) << "gRPC server stopped";
  return drained_cleanly_;
}

}  // namespace ember::server
