#pragma once

// Fault injection for the broker API (/v1/*), so that the sidecar's feed client can be tested
// against a broker that fails, lies, stalls and hangs up. The knobs change at run time.

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <random>
#include <string>

namespace broker_sim {

struct FaultSettings {
  double error_rate = 0;    // reply 503
  double garbage_rate = 0;  // reply 200 with a body that is not JSON
  double drop_rate = 0;     // close the connection without a reply
  int64_t delay_ms = 0;     // added before every reply, faulty or not
};

enum class Fault { kNone, kDrop, kError, kGarbage };

class FaultInjector {
 public:
  FaultInjector(const FaultSettings& settings, uint64_t seed);

  FaultSettings settings() const;
  void set_settings(const FaultSettings& settings);

  // One draw per knob, in the order drop, error, garbage: the first that hits wins, so each
  // rate is the probability of its fault when the ones before it are off.
  Fault draw();
  std::string garbage_body();

  // Sleeps for the configured delay; returns early once shutdown() is called.
  void delay();
  void shutdown();

 private:
  mutable std::mutex mutex_;
  std::condition_variable stopped_;
  FaultSettings settings_;
  std::mt19937_64 rng_;
  bool stopping_ = false;
};

}  // namespace broker_sim
