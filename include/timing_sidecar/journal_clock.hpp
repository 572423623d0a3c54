#pragma once

#include <cstdint>

#include "timing_sidecar/clock.hpp"

namespace timing_sidecar {

// The sidecar's clock: the base clock, except on a thread that holds a Pin, which reads the
// pinned time. An input is applied and replayed under the time journaled with it, so that both
// give the same result.
class JournalClock final : public Clock {
 public:
  explicit JournalClock(const Clock& base) : base_(base) {}
  int64_t now_ms() const override;

  class Pin {
   public:
    Pin(const JournalClock& clock, int64_t at_ms);
    ~Pin();
    Pin(const Pin&) = delete;
    Pin& operator=(const Pin&) = delete;

   private:
    const JournalClock* previous_clock_;
    int64_t previous_ms_;
  };

 private:
  const Clock& base_;
};

}  // namespace timing_sidecar
