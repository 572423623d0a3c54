#include "timing_sidecar/background.hpp"

#include <chrono>

namespace timing_sidecar {

namespace {

std::chrono::system_clock::time_point from_epoch_ms(int64_t ms) {
  return std::chrono::system_clock::time_point(std::chrono::milliseconds(ms));
}

}  // namespace

TimerDriver::TimerDriver(Engine& engine) : engine_(engine), thread_([this] { run(); }) {}

TimerDriver::~TimerDriver() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void TimerDriver::poke() {
  {
    std::lock_guard lock(mutex_);
    poked_ = true;
  }
  wake_.notify_all();
}

void TimerDriver::run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    lock.unlock();
    engine_.advance_timers();
    const std::optional<int64_t> next = engine_.next_wakeup_ms();
    lock.lock();
    if (poked_) {
      poked_ = false;
      continue;
    }
    auto woken = [this] { return stopping_ || poked_; };
    if (next) {
      wake_.wait_until(lock, from_epoch_ms(*next), woken);
    } else {
      wake_.wait(lock, woken);
    }
    poked_ = false;
  }
}

}  // namespace timing_sidecar
