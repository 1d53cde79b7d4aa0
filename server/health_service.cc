#include "server/health_service.h"

#include <utility>

namespace ember::server {

using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

// One Watch stream: writes the newest status whenever it changes, one write
// at a time (the callback API allows no more), skipping repeats. Deletes
// itself when gRPC is done with the call.
class HealthService::Watcher
    : public grpc::ServerWriteReactor<HealthCheckResponse> {
 public:
  Watcher(HealthService* service, std::string name)
      : service_(service), name_(std::move(name)) {}

  const std::string& name() const { return name_; }

  // Called with the service's lock held (lock order: service, watcher).
  void Tell(ServingStatus status) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    if (finishing_) return;
    pending_ = status;
    has_pending_ = true;
    WriteLocked();
  }

  void OnWriteDone(bool ok) override ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    writing_ = false;
    if (!ok || finishing_) {
      FinishLocked(ok ? grpc::Status::OK : grpc::Status::CANCELLED);
      return;
    }
    WriteLocked();
  }

  void OnCancel() override ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    finishing_ = true;
    if (!writing_) FinishLocked(grpc::Status::CANCELLED);
  }

  void OnDone() override {
    service_->RemoveWatcher(this);
    delete this;
  }

 private:
  void WriteLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (writing_ || !has_pending_) return;
    has_pending_ = false;
    if (has_sent_ && pending_ == sent_) return;
    sent_ = pending_;
    has_sent_ = true;
    response_.set_status(sent_);
    writing_ = true;
    StartWrite(&response_);
  }

  void FinishLocked(const grpc::Status& status)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finished_) return;
    finished_ = true;
    finishing_ = true;
    Finish(status);
  }

  HealthService* const service_;
  const std::string name_;
  absl::Mutex mu_;
  HealthCheckResponse response_ ABSL_GUARDED_BY(mu_);  // being written
  ServingStatus pending_ ABSL_GUARDED_BY(mu_) = HealthCheckResponse::UNKNOWN;
  ServingStatus sent_ ABSL_GUARDED_BY(mu_) = HealthCheckResponse::UNKNOWN;
  bool has_pending_ ABSL_GUARDED_BY(mu_) = false;
  bool has_sent_ ABSL_GUARDED_BY(mu_) = false;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool finishing_ ABSL_GUARDED_BY(mu_) = false;  // cancelled: write no more
  bool finished_ ABSL_GUARDED_BY(mu_) = false;   // Finish called
};

void HealthService::Set(const std::string& service, bool serving) {
  absl::MutexLock lock(&mu_);
  if (shut_down_) return;
  auto [it, added] = serving_.emplace(service, serving);
  if (!added && it->second == serving) return;
  it->second = serving;
  NotifyLocked(service);
}

void HealthService::Forget(const std::string& service) {
  absl::MutexLock lock(&mu_);
  if (shut_down_ || serving_.erase(service) == 0) return;
  NotifyLocked(service);
}

void HealthService::Shutdown() {
  absl::MutexLock lock(&mu_);
  shut_down_ = true;
  for (auto& [name, serving] : serving_) {
    if (!serving) continue;
    serving = false;
    NotifyLocked(name);
  }
}

HealthService::ServingStatus HealthService::StatusLocked(
    const std::string& service) const {
  auto it = serving_.find(service);
  if (it == serving_.end()) return HealthCheckResponse::SERVICE_UNKNOWN;
  return it->second ? HealthCheckResponse::SERVING
                    : HealthCheckResponse::NOT_SERVING;
}

void HealthService::NotifyLocked(const std::string& service) {
  const ServingStatus status = StatusLocked(service);
  auto [begin, end] = watchers_.equal_range(service);
  for (auto it = begin; it != end; ++it) it->second->Tell(status);
}

void HealthService::AddWatcher(Watcher* watcher) {
  absl::MutexLock lock(&mu_);
  watchers_.emplace(watcher->name(), watcher);
  watcher->Tell(StatusLocked(watcher->name()));
}

void HealthService::RemoveWatcher(Watcher* watcher) {
  absl::MutexLock lock(&mu_);
  auto [begin, end] = watchers_.equal_range(watcher->name());
  for (auto it = begin; it != end; ++it) {
    if (it->second == watcher) {
      watchers_.erase(it);
      return;
    }
  }
}

grpc::ServerUnaryReactor* HealthService::Check(
    grpc::CallbackServerContext* context, const HealthCheckRequest* request,
    HealthCheckResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::MutexLock lock(&mu_);
  const ServingStatus status = StatusLocked(request->service());
  if (status == HealthCheckResponse::SERVICE_UNKNOWN) {
    reactor->Finish(
        grpc::Status(grpc::StatusCode::NOT_FOUND,
                     "unknown service \"" + request->service() + "\""));
  } else {
    response->set_status(status);
    reactor->Finish(grpc::Status::OK);
  }
  return reactor;
}

grpc::ServerWriteReactor<HealthCheckResponse>* HealthService::Watch(
    grpc::CallbackServerContext* context, const HealthCheckRequest* request) {
  auto* watcher = new Watcher(this, request->service());
  AddWatcher(watcher);
  return watcher;
}

}  // namespace ember::server
