#pragma once

// Private to the sources (sources.cpp, remoting_source.cpp): the health metrics every source
// reports under its own `source` label, and its log lines.

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "timing_sidecar/clock.hpp"
#include "timing_sidecar/engine.hpp"
#include "timing_sidecar/log.hpp"
#include "timing_sidecar/rocketmq_files.hpp"

namespace timing_sidecar {

struct SourceMetrics {
  SourceMetrics(prometheus::Registry& registry, const ConstantLabels& labels)
      : up(prometheus::BuildGauge()
               .Name("timing_sidecar_source_up")
               .Help("1 while the last read of a file or poll of a server succeeded, else 0, "
                     "by source (topics_file, dashboard, timer_metrics, remoting).")
               .Labels(constant_labels(labels))
               .Register(registry)),
        last_success(prometheus::BuildGauge()
                         .Name("timing_sidecar_source_last_success_timestamp_seconds")
                         .Help("Unix time of the last successful read or poll, by source.")
                         .Labels(constant_labels(labels))
                         .Register(registry)),
        errors(prometheus::BuildCounter()
                   .Name("timing_sidecar_source_errors_total")
                   .Help("Failed reads and polls, by source and reason; the last good state "
                         "stays applied.")
                   .Labels(constant_labels(labels))
                   .Register(registry)) {}

  prometheus::Family<prometheus::Gauge>& up;
  prometheus::Family<prometheus::Gauge>& last_success;
  prometheus::Family<prometheus::Counter>& errors;
};

// One source's metrics and log lines: one line per change between working and failing, not one
// per failed poll. Also tells the sources when the first state was delivered.
class SourceHealth {
 public:
  SourceHealth(SourceMetrics& metrics, std::string source, std::string location,
               std::function<void()> first_state)
      : metrics_(metrics),
        source_(std::move(source)),
        location_(std::move(location)),
        first_state_(std::move(first_state)),
        up_(metrics.up.Add({{"source", source_}})),
        last_success_(metrics.last_success.Add({{"source", source_}})) {}

  void succeeded(const Clock& clock) {
    up_.Set(1);
    last_success_.Set(static_cast<double>(clock.now_ms()) / 1000.0);
    if (working_ != true) {
      log(LogLevel::kInfo, "source working", {{"source", source_}, {"location", location_}});
    }
    working_ = true;
    delivered_first_state();
  }

  // The source's first state is applied (for /readyz), whether or not the rest of its poll works.
  void delivered_first_state() {
    if (first_state_) {
      first_state_();
      first_state_ = nullptr;
    }
  }

  void failed(const SourceError& error) {
    metrics_.errors.Add({{"source", source_}, {"reason", error.reason}}).Increment();
    up_.Set(0);
    if (working_ != false) {
      log(LogLevel::kWarn, "source failing: keeping its last good state, retrying every poll",
          {{"source", source_},
           {"location", location_},
           {"reason", error.reason},
           {"error", error.message}});
    }
    working_ = false;
  }

  void skipped_invalid_names(size_t names) {
    if (names == 0 || warned_invalid_names_) return;
    warned_invalid_names_ = true;
    log(LogLevel::kWarn, "source names topics RocketMQ would refuse: skipped",
        {{"source", source_}, {"location", location_}, {"names", std::to_string(names)}});
  }

 private:
  SourceMetrics& metrics_;
  const std::string source_;
  const std::string location_;
  std::function<void()> first_state_;
  prometheus::Gauge& up_;
  prometheus::Gauge& last_success_;
  std::optional<bool> working_;  // unknown until the first poll
  bool warned_invalid_names_ = false;
};

// The broker's counts to mirror from now on: the fresh ones, and 0 for a topic the previous
// counts had pending and the fresh ones no longer name (nothing pending), said until the broker's
// counts change again.
inline std::vector<ListedTopic> next_broker_counts(const std::vector<ListedTopic>& previous,
                                                   std::vector<ListedTopic> fresh) {
  std::set<std::string> listed;
  for (const ListedTopic& topic : fresh) listed.insert(topic.name);
  std::vector<ListedTopic> vanished;
  for (const ListedTopic& topic : previous) {
    if (listed.count(topic.name) == 0 && topic.timing != 0) vanished.push_back({topic.name, 0});
  }
  fresh.insert(fresh.end(), vanished.begin(), vanished.end());
  return fresh;
}

}  // namespace timing_sidecar
