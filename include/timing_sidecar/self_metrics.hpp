#pragma once

// The sidecar's own metrics (timing_sidecar_*, the broker-wide lateness histogram, process_*),
// kept in prometheus-cpp families: few series, so its registry's costs do not matter here.

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <array>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "timing_sidecar/engine.hpp"
#include "timing_sidecar/exposition.hpp"
#include "timing_sidecar/process_metrics.hpp"

namespace timing_sidecar {

enum class ReconcileTrigger { kScrape, kSweep };

class SelfMetrics final : public EngineObserver {
 public:
  SelfMetrics(const ConstantLabels& labels, size_t max_topics);

  // For other components (the broker feed) to register their families.
  prometheus::Registry& registry() { return *registry_; }

  void on_rejected(std::string_view reason);
  void on_reconciled(ReconcileTrigger trigger, double unix_seconds);
  // outcome: "dropped" or "held_back" (waiting for the next list to confirm).
  void on_list_drops(std::string_view source, std::string_view outcome, size_t topics);
  void set_engine_stats(const EngineStats& stats);

  // Appends every family in the text format.
  void write(std::string& out) const;

  void on_event(EventSource source, EventType type) override;
  void on_ignored(std::string_view reason) override;
  void on_series_removed(std::string_view reason, size_t series) override;
  void on_delivery_lateness(double seconds) override;
  void on_timers_fired(size_t timers) override;
  void on_tombstones_forgotten(const ForgottenTombstones& forgotten) override;

 private:
  prometheus::Counter& counter_for(std::map<std::string, prometheus::Counter*, std::less<>>& cache,
                                   prometheus::Family<prometheus::Counter>& family,
                                   std::string_view label, std::string_view value);

  std::shared_ptr<prometheus::Registry> registry_;
  ProcessMetrics process_metrics_;
  // Pre-created so that every series exists from the start (rate() needs its zero).
  std::array<std::array<prometheus::Counter*, kEventTypes.size()>, kEventSources.size()> events_{};
  prometheus::Family<prometheus::Counter>& ignored_family_;
  prometheus::Family<prometheus::Counter>& rejected_family_;
  prometheus::Family<prometheus::Counter>& removed_family_;
  prometheus::Family<prometheus::Counter>& list_drops_family_;
  std::map<std::string, prometheus::Counter*, std::less<>> ignored_;
  std::map<std::string, prometheus::Counter*, std::less<>> rejected_;
  std::map<std::string, prometheus::Counter*, std::less<>> removed_;
  std::mutex label_cache_mutex_;
  prometheus::Histogram& lateness_;
  prometheus::Gauge& topics_;
  prometheus::Gauge& tombstones_;
  prometheus::Gauge& incomplete_;
  prometheus::Gauge& timers_;
  prometheus::Counter& timers_fired_;
  prometheus::Counter& tombstones_expired_;
  prometheus::Counter& tombstones_evicted_;
  std::array<prometheus::Counter*, 2> reconcile_runs_{};
  prometheus::Gauge& reconcile_last_success_;
};

}  // namespace timing_sidecar
