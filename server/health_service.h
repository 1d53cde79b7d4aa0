// grpc.health.v1.Health for emberd: the server ("") and one entry per
// model, which can also be forgotten when a model leaves the repository.
//
// gRPC's built-in health service can add names but never remove them, so a
// removed model would answer NOT_SERVING forever. Here a forgotten name
// answers Check with NOT_FOUND and tells its watchers SERVICE_UNKNOWN, as
// the health protocol specifies for names the server does not know.
//
// Built on gRPC's callback API: a Watch stream holds no thread while it
// waits, however many clients watch.
//
//   HealthService health;
//   builder.RegisterService(&health);
//   health.Set("", true);
//   health.Set("connect4", false);   // known, not serving
//   health.Forget("old-model");      // unknown from now on
//   health.Shutdown();               // everything NOT_SERVING, for good

#ifndef EMBER_SERVER_HEALTH_SERVICE_H_
#define EMBER_SERVER_HEALTH_SERVICE_H_

#include <map>
#include <set>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace ember::server {

// Thread-safe.
class HealthService final : public grpc::health::v1::Health::CallbackService {
 public:
  using ServingStatus = grpc::health::v1::HealthCheckResponse::ServingStatus;

  HealthService() = default;
  HealthService(const HealthService&) = delete;
  HealthService& operator=(const HealthService&) = delete;

  // Records `service` as SERVING or NOT_SERVING and tells its watchers.
  // Ignored after Shutdown.
  void Set(const std::string& service, bool serving) ABSL_LOCKS_EXCLUDED(mu_);
  // Makes `service` unknown: Check answers NOT_FOUND, watchers get
  // SERVICE_UNKNOWN. Ignored after Shutdown.
  void Forget(const std::string& service) ABSL_LOCKS_EXCLUDED(mu_);
  // Every known service turns NOT_SERVING and stays so (the server is
  // draining). Watch streams stay open until the server ends them.
  void Shutdown() ABSL_LOCKS_EXCLUDED(mu_);

  grpc::ServerUnaryReactor* Check(
      grpc::CallbackServerContext* context,
      const grpc::health::v1::HealthCheckRequest* request,
      grpc::health::v1::HealthCheckResponse* response) override;
  grpc::ServerWriteReactor<grpc::health::v1::HealthCheckResponse>* Watch(
      grpc::CallbackServerContext* context,
      const grpc::health::v1::HealthCheckRequest* request) override;

 private:
  class Watcher;

  // The status a watcher of `service` should see now.
  ServingStatus StatusLocked(const std::string& service) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void NotifyLocked(const std::string& service)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // A new watcher, told the current status at once.
  void AddWatcher(Watcher* watcher) ABSL_LOCKS_EXCLUDED(mu_);
  void RemoveWatcher(Watcher* watcher) ABSL_LOCKS_EXCLUDED(mu_);

  absl::Mutex mu_;
  std::map<std::string, bool> serving_ ABSL_GUARDED_BY(mu_);
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
  std::multimap<std::string, Watcher*> watchers_ ABSL_GUARDED_BY(mu_);
};

}  // namespace ember::server

#endif  // EMBER_SERVER_HEALTH_SERVICE_H_
