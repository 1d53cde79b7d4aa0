// Bounds how many memory-heavy operations (record uploads, conversions) run
// at once, so server memory is a small multiple of one record however many
// clients transfer at the same time.
//
//   SlotLimiter uploads(/*slots=*/1);
//   EMBER_ASSIGN_OR_RETURN(
//       SlotLimiter::Slot slot,
//       uploads.Acquire(absl::Now() + absl::Minutes(1),
//                       [&] { return context->IsCancelled(); }));
//   ...  // at most one caller is here; the slot frees on scope exit

#ifndef EMBER_SERVER_RECORDS_SLOT_LIMITER_H_
#define EMBER_SERVER_RECORDS_SLOT_LIMITER_H_

#include <functional>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace ember::records {

// A counting semaphore whose waiters give up at a deadline or when their
// call is cancelled. Thread-safe.
class SlotLimiter {
 public:
  // Holds one slot until destroyed (or moved from).
  class Slot {
   public:
    Slot() = default;
    Slot(Slot&& other) : owner_(other.owner_) { other.owner_ = nullptr; }
    Slot& operator=(Slot&& other);
    ~Slot();

   private:
    friend class SlotLimiter;
    explicit Slot(SlotLimiter* owner) : owner_(owner) {}
    SlotLimiter* owner_ = nullptr;
  };

  // `slots` >= 1.
  explicit SlotLimiter(int slots);

  // Waits for a free slot. RESOURCE_EXHAUSTED when none frees before
  // `deadline`; CANCELLED as soon as `cancelled()` returns true (checked
  // every 100 ms while waiting). `what` names the operation in messages.
  absl::StatusOr<Slot> Acquire(absl::Time deadline,
                               const std::function<bool()>& cancelled,
                               absl::string_view what);

  // Slots in use (for tests and metrics).
  int InUse() const;

 private:
  void Release();

  const int slots_;
  // Held only to read or change `in_use_`, never across a transfer.
  mutable absl::Mutex mu_;
  int in_use_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace ember::records

#endif  // EMBER_SERVER_RECORDS_SLOT_LIMITER_H_
