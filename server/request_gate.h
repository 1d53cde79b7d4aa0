// Counts the requests in flight across every service of one server, and
// refuses new ones once the server starts draining, so a shutdown lets
// what was accepted finish (inferences, uploads, downloads) and turns the
// rest away with UNAVAILABLE for the client to retry elsewhere.
//
//   RequestGate gate;
//   ...
//   RequestGate::Pass pass(&gate);     // in each handler
//   if (!pass.entered()) return Unavailable(...);
//   ...
//   gate.StartDraining();              // on SIGTERM
//   gate.AwaitIdle(absl::Now() + absl::Seconds(30));

#ifndef EMBER_SERVER_REQUEST_GATE_H_
#define EMBER_SERVER_REQUEST_GATE_H_

#include <cstdint>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace ember::server {

// Thread-safe.
class RequestGate {
 public:
  // Enters the gate for one request and leaves it when destroyed. A null
  // gate lets every request in.
  class Pass {
   public:
    explicit Pass(RequestGate* gate)
        : gate_(gate), entered_(gate == nullptr || gate->Enter()) {}
    ~Pass() {
      if (entered_ && gate_ != nullptr) gate_->Exit();
    }
    Pass(const Pass&) = delete;
    Pass& operator=(const Pass&) = delete;

    // False when the server is draining: refuse the request.
    bool entered() const { return entered_; }

   private:
    RequestGate* const gate_;
    const bool entered_;
  };

  // False once draining: the caller must refuse the request. On true the
  // caller must call Exit when done.
  bool Enter();
  void Exit();
  // Refuses new requests from now on.
  void StartDraining();
  bool draining() const;
  // Waits until no request is in flight; false when `deadline` passed first.
  bool AwaitIdle(absl::Time deadline);
  int64_t in_flight() const;

 private:
  mutable absl::Mutex mu_;  // held only to update or read the counters
  int64_t in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  bool draining_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace ember::server

#endif  // EMBER_SERVER_REQUEST_GATE_H_
