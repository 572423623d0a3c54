#include "timing_sidecar/tailer.hpp"

#include <random>

namespace timing_sidecar {

Tailer::Tailer(const Config& config, Sidecar& sidecar, BrokerApi& broker, const Clock& clock,
               std::function<void()> after_apply, std::function<void()> ready)
    : broker_(broker),
      machine_(config, sidecar, broker, clock, std::move(after_apply), std::move(ready),
               std::random_device{}()),
      thread_([this] { run(); }) {}

Tailer::~Tailer() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  broker_.cancel();
  thread_.join();
}

void Tailer::run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    lock.unlock();
    const std::chrono::milliseconds delay = machine_.step();
    lock.lock();
    if (delay.count() > 0) wake_.wait_for(lock, delay, [this] { return stopping_; });
  }
}

}  // namespace timing_sidecar
