#pragma once

// Defaults that more than one room starts from, written once: the flags' (config.hpp) and the
// model's own (scheduler.hpp, events.hpp), which tests and benchmarks use without a Config.

#include <cstdint>

namespace timing_sidecar {

// --timer.max-delay: RocketMQ's timerMaxDelaySec, 3 days.
inline constexpr int64_t kDefaultTimerMaxDelayMs = 3LL * 24 * 3600 * 1000;
// --timer.precision: the wheel's tick, and how far broker and sidecar clocks may differ.
inline constexpr int64_t kDefaultTimerPrecisionMs = 1000;
// --overdue.grace
inline constexpr int64_t kDefaultOverdueGraceMs = 10'000;
// A timing message fires at most --timer.max-delay after it was scheduled, and RocketMQ's timer
// wheel may run behind by up to this margin: no late event comes after both. Unless
// --tombstone.retention says otherwise, a tombstone is kept for the two together.
inline constexpr int64_t kTombstoneRetentionMarginMs = 24LL * 3600 * 1000;

}  // namespace timing_sidecar
