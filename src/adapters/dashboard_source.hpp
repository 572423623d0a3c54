#pragma once

// Private to sources.cpp (and its tests): rocketmq-dashboard's topic list as a source, one poll()
// at a time on the caller's thread through a DashboardApi and the injected clock; Sources runs
// it on a PeriodicTask.

#include "source_health.hpp"
#include "timing_sidecar/broker_api.hpp"
#include "timing_sidecar/clock.hpp"
#include "timing_sidecar/config.hpp"
#include "timing_sidecar/reconciler.hpp"
#include "timing_sidecar/sidecar.hpp"

namespace timing_sidecar {

// Polled every --sources.poll-interval. Every reply is a fresh observation, so the next poll is
// what confirms a list the drop-ratio valve held back.
class DashboardSource {
 public:
  // `api` must outlive the source.
  DashboardSource(const Config& config, Sidecar& sidecar, DashboardApi& api, const Clock& clock,
                  SourceHealth health);
  void poll();

 private:
  Engine& engine_;
  DashboardApi& api_;
  const Clock& clock_;
  ListReconciler reconciler_;
  SourceHealth health_;
};

}  // namespace timing_sidecar
