#pragma once

// Private to sources.cpp: --broker.remoting-address, the broker asked over its own remoting
// protocol (remoting_codec.hpp) every --sources.poll-interval, on one kept connection:
//   GET_ALL_TOPIC_CONFIG (21)    the authoritative topic list;
//   GET_TIMER_METRICS (61)       the broker's pending count per topic, mirrored as
//                                --timer-metrics.file's are (live topics only, never negative);
//   GET_BROKER_RUNTIME_INFO (28) the timer's read-behind, offset-behind, congestion and rates.
// A failed poll keeps everything as it was and is retried after a full-jitter backoff.

#include <memory>

#include "source_health.hpp"
#include "timing_sidecar/config.hpp"
#include "timing_sidecar/sidecar.hpp"

namespace timing_sidecar {

class RemotingSource {
 public:
  // Throws std::invalid_argument for an address or a secret key file that cannot be used.
  RemotingSource(const Config& config, Sidecar& sidecar, const Clock& clock, SourceHealth health);
  ~RemotingSource();
  RemotingSource(const RemotingSource&) = delete;
  RemotingSource& operator=(const RemotingSource&) = delete;

  void set_poll_interval_ms(int64_t interval_ms);

 private:
  class Poller;
  std::unique_ptr<Poller> poller_;
};

}  // namespace timing_sidecar
