#pragma once

#include <chrono>
#include <cstdint>
#include <random>

namespace timing_sidecar {

// Delays between failed attempts: "full jitter" (a uniform draw between zero and an exponential
// ceiling), so that sidecars restarted together do not retry together. The ceiling starts at
// 100 ms and doubles per consecutive failure up to 30 s; it is back at 100 ms after a success.
class Backoff {
 public:
  static constexpr std::chrono::milliseconds kInitialCeiling{100};
  static constexpr std::chrono::milliseconds kMaxCeiling{30'000};

  explicit Backoff(uint64_t seed) : rng_(seed) {}

  std::chrono::milliseconds next();
  void reset() { failures_ = 0; }
  std::chrono::milliseconds ceiling() const;

 private:
  int failures_ = 0;
  std::mt19937_64 rng_;
};

}  // namespace timing_sidecar
