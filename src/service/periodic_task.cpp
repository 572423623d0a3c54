#include "timing_sidecar/periodic_task.hpp"

namespace timing_sidecar {

PeriodicTask::PeriodicTask(int64_t interval_ms, std::function<void()> task, Start start,
                           std::function<void()> interrupt)
    : interval_(interval_ms),
      task_(std::move(task)),
      interrupt_(std::move(interrupt)),
      thread_([this, at_once = start == Start::kAtOnce] { run(at_once); }) {}

PeriodicTask::~PeriodicTask() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (interrupt_) interrupt_();
  thread_.join();
}

void PeriodicTask::set_interval_ms(int64_t interval_ms) {
  {
    std::lock_guard lock(mutex_);
    interval_ = std::chrono::milliseconds(interval_ms);
    rescheduled_ = true;
  }
  wake_.notify_all();
}

void PeriodicTask::next_run_in(std::chrono::milliseconds delay) {
  std::lock_guard lock(mutex_);
  next_delay_ = delay;
}

void PeriodicTask::run(bool at_once) {
  const auto woken = [this] { return stopping_ || rescheduled_; };
  std::unique_lock lock(mutex_);
  bool wait = !at_once;
  while (!stopping_) {
    if (wait) {
      const std::chrono::milliseconds delay = next_delay_.value_or(interval_);
      next_delay_.reset();
      rescheduled_ = false;
      wake_.wait_for(lock, delay, woken);
      // Rescheduled: a whole new interval from now.
      while (rescheduled_ && !stopping_) {
        rescheduled_ = false;
        wake_.wait_for(lock, interval_, woken);
      }
      if (stopping_) break;
    }
    wait = true;
    lock.unlock();
    task_();
    lock.lock();
  }
}

}  // namespace timing_sidecar
