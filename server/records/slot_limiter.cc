#include "server/records/slot_limiter.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace ember::records {

SlotLimiter::Slot& SlotLimiter::Slot::operator=(Slot&& other) {
  if (this != &other) {
    if (owner_ != nullptr) owner_->Release();
    owner_ = other.owner_;
    other.owner_ = nullptr;
  }
  return *this;
}

SlotLimiter::Slot::~Slot() {
  if (owner_ != nullptr) owner_->Release();
}

SlotLimiter::SlotLimiter(int slots) : slots_(std::max(1, slots)) {}

absl::StatusOr<SlotLimiter::Slot> SlotLimiter::Acquire(
    absl::Time deadline, const std::function<bool()>& cancelled,
    absl::string_view what) {
  absl::MutexLock lock(&mu_);
  auto free_slot = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return in_use_ < slots_;
  };
  while (!free_slot()) {
    if (cancelled && cancelled()) {
      return absl::CancelledError(
          absl::StrCat(what, ": the call was cancelled while waiting"));
    }
    const absl::Time now = absl::Now();
    if (now >= deadline) {
      return absl::ResourceExhaustedError(absl::StrCat(
          what, ": all ", slots_,
          " slots stayed busy; retry later (the server limits how many run "
          "at once to bound its memory)"));
    }
    const absl::Duration wait =
        std::min(deadline - now, absl::Milliseconds(100));
    mu_.AwaitWithTimeout(absl::Condition(&free_slot), wait);
  }
  ++in_use_;
  return Slot(this);
}

int SlotLimiter::InUse() const {
  absl::MutexLock lock(&mu_);
  return in_use_;
}

void SlotLimiter::Release() {
  absl::MutexLock lock(&mu_);
  --in_use_;
}

}  // namespace ember::records
