#pragma once

// Private to sources.cpp: the thread each polled source runs on.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>

namespace timing_sidecar {

// Runs `poll` at once and then every interval on a thread of its own. Its destructor calls
// `interrupt` (to cut a request in flight) and returns once the thread has.
class PollLoop {
 public:
  PollLoop(int64_t interval_ms, std::function<void()> poll, std::function<void()> interrupt = {})
      : interval_(interval_ms),
        poll_(std::move(poll)),
        interrupt_(std::move(interrupt)),
        thread_([this] { run(); }) {}

  ~PollLoop() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    if (interrupt_) interrupt_();
    thread_.join();
  }

  // From within `poll`: the next poll comes `delay` from now instead of an interval from now (a
  // backoff after a failure).
  void next_poll_in(std::chrono::milliseconds delay) {
    std::lock_guard lock(mutex_);
    next_delay_ = delay;
  }

  // The next poll comes `interval_ms` from now.
  void set_interval_ms(int64_t interval_ms) {
    {
      std::lock_guard lock(mutex_);
      interval_ = std::chrono::milliseconds(interval_ms);
      rescheduled_ = true;
    }
    wake_.notify_all();
  }

 private:
  void run() {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
      lock.unlock();
      poll_();
      lock.lock();
      const std::chrono::milliseconds delay = next_delay_.value_or(interval_);
      next_delay_.reset();
      rescheduled_ = false;
      wake_.wait_for(lock, delay, [this] { return stopping_ || rescheduled_; });
      while (rescheduled_ && !stopping_) {
        rescheduled_ = false;
        wake_.wait_for(lock, interval_, [this] { return stopping_ || rescheduled_; });
      }
    }
  }

  std::chrono::milliseconds interval_;
  const std::function<void()> poll_;
  const std::function<void()> interrupt_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool rescheduled_ = false;
  std::optional<std::chrono::milliseconds> next_delay_;
  std::thread thread_;
};

}  // namespace timing_sidecar
