#pragma once

// The one periodic loop of the sidecar: the reconciliation sweep, the security files' check,
// the memory release, and every polled source (files, dashboard, remoting) run on one each.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>

namespace timing_sidecar {

// Runs `task` every interval on a thread of its own, first after one interval or, with
// Start::kAtOnce, at once. Its destructor calls `interrupt` (to cut a request in flight) and
// returns once the thread has.
class PeriodicTask {
 public:
  enum class Start { kAfterInterval, kAtOnce };

  PeriodicTask(int64_t interval_ms, std::function<void()> task, Start start = Start::kAfterInterval,
               std::function<void()> interrupt = {});
  ~PeriodicTask();
  PeriodicTask(const PeriodicTask&) = delete;
  PeriodicTask& operator=(const PeriodicTask&) = delete;

  // The next run comes `interval_ms` from now, and this often after.
  void set_interval_ms(int64_t interval_ms);
  // From within `task`: the next run comes `delay` from now instead of an interval from now (a
  // backoff after a failure).
  void next_run_in(std::chrono::milliseconds delay);

 private:
  void run(bool at_once);

  std::chrono::milliseconds interval_;
  const std::function<void()> task_;
  const std::function<void()> interrupt_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool rescheduled_ = false;
  std::optional<std::chrono::milliseconds> next_delay_;
  std::thread thread_;
};

}  // namespace timing_sidecar
