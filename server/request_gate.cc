#include "server/request_gate.h"

namespace ember::server {

bool RequestGate::Enter() {
  absl::MutexLock lock(&mu_);
  if (draining_) return false;
  ++in_flight_;
  return true;
}

void RequestGate::Exit() {
  absl::MutexLock lock(&mu_);
  --in_flight_;
}

void RequestGate::StartDraining() {
  absl::MutexLock lock(&mu_);
  draining_ = true;
}

bool RequestGate::draining() const {
  absl::MutexLock lock(&mu_);
  return draining_;
}

bool RequestGate::AwaitIdle(absl::Time deadline) {
  absl::MutexLock lock(&mu_);
  return mu_.AwaitWithDeadline(
      absl::Condition(
          +[](int64_t* n) { return *n == 0; }, &in_flight_),
      deadline);
}

int64_t RequestGate::in_flight() const {
  absl::MutexLock lock(&mu_);
  return in_flight_;
}

}  // namespace ember::server
