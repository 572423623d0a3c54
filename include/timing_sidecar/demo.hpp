#pragma once

// --demo: an in-process simulated broker. It keeps a few topics busy with timing messages over
// the whole range of delays, leaves one now and then stuck (it goes overdue), and every minute
// creates and deletes a short-lived topic, then sends a late dequeue for it that must be ignored.

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "timing_sidecar/clock.hpp"
#include "timing_sidecar/sidecar.hpp"

namespace timing_sidecar {

class DemoBroker {
 public:
  DemoBroker(Sidecar& sidecar, const Clock& clock, std::function<void()> after_apply);
  ~DemoBroker();

 private:
  void run();

  Sidecar& sidecar_;
  const Clock& clock_;
  std::function<void()> after_apply_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace timing_sidecar
