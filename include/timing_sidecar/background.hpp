#pragma once

// The sidecar's own threads: the timer driver that fires the scheduler's timers, and periodic
// tasks such as the reconciliation sweep (periodic_task.hpp). Both stop promptly when asked.

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>

#include "timing_sidecar/engine.hpp"
#include "timing_sidecar/periodic_task.hpp"

namespace timing_sidecar {

// Sleeps until the scheduler's next non-empty slot (no idle ticking), or until poke() says new
// timers may have come in earlier.
class TimerDriver {
 public:
  explicit TimerDriver(Engine& engine);
  ~TimerDriver();
  void poke();

 private:
  void run();

  Engine& engine_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool poked_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace timing_sidecar
