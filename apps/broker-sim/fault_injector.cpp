#include "fault_injector.hpp"

#include <array>
#include <chrono>

namespace broker_sim {

FaultInjector::FaultInjector(const FaultSettings& settings, uint64_t seed)
    : settings_(settings), rng_(seed) {}

FaultSettings FaultInjector::settings() const {
  std::lock_guard lock(mutex_);
  return settings_;
}

void FaultInjector::set_settings(const FaultSettings& settings) {
  std::lock_guard lock(mutex_);
  settings_ = settings;
}

Fault FaultInjector::draw() {
  std::lock_guard lock(mutex_);
  // bernoulli_distribution(1.0) always hits and (0.0) never does, which tests rely on.
  auto hits = [this](double rate) { return std::bernoulli_distribution(rate)(rng_); };
  if (hits(settings_.drop_rate)) return Fault::kDrop;
  if (hits(settings_.error_rate)) return Fault::kError;
  if (hits(settings_.garbage_rate)) return Fault::kGarbage;
  return Fault::kNone;
}

std::string FaultInjector::garbage_body() {
  // The shapes a broken proxy or a half-written reply produce: cut JSON, an HTML error page,
  // binary noise. None of them parses as JSON.
  static const std::array<std::string, 3> kBodies = {
      std::string(R"({"revision":12,"events":[{"type":"timer.enq)"),
      std::string("<html><body><h1>502 Bad Gateway</h1></body></html>\n"),
      std::string("\x00\xff\xfe{\x01garbage", 12),
  };
  std::lock_guard lock(mutex_);
  return kBodies[std::uniform_int_distribution<size_t>(0, kBodies.size() - 1)(rng_)];
}

void FaultInjector::delay() {
  std::unique_lock lock(mutex_);
  const auto duration = std::chrono::milliseconds(settings_.delay_ms);
  stopped_.wait_for(lock, duration, [this] { return stopping_; });
}

void FaultInjector::shutdown() {
  std::lock_guard lock(mutex_);
  stopping_ = true;
  stopped_.notify_all();
}

}  // namespace broker_sim
