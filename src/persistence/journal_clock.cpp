#include "timing_sidecar/journal_clock.hpp"

namespace timing_sidecar {

namespace {

thread_local const JournalClock* pinned_clock = nullptr;
thread_local int64_t pinned_ms = 0;

}  // namespace

int64_t JournalClock::now_ms() const {
  return pinned_clock == this ? pinned_ms : base_.now_ms();
}

JournalClock::Pin::Pin(const JournalClock& clock, int64_t at_ms)
    : previous_clock_(pinned_clock), previous_ms_(pinned_ms) {
  pinned_clock = &clock;
  pinned_ms = at_ms;
}

JournalClock::Pin::~Pin() {
  pinned_clock = previous_clock_;
  pinned_ms = previous_ms_;
}

}  // namespace timing_sidecar
