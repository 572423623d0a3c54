#include "timing_sidecar/self_metrics.hpp"

#include <catch2/catch.hpp>
#include <string>

using namespace timing_sidecar;

TEST_CASE("self metrics: events_total has a series per source and type of the lists, from zero") {
  SelfMetrics metrics(ConstantLabels{}, 10);
  metrics.on_event(EventSource::kFile, EventType::kTimerCancelled);
  metrics.on_event(EventSource::kFile, EventType::kTimerCancelled);
  std::string text;
  metrics.write(text);
  for (const EventSourceInfo& source : kEventSources) {
    for (const EventTypeInfo& type : kEventTypes) {
      const std::string series = "timing_sidecar_events_total{source=\"" +
                                 std::string(source.name) + "\",type=\"" + std::string(type.name) +
                                 "\"} ";
      CAPTURE(series);
      const bool counted =
          source.source == EventSource::kFile && type.type == EventType::kTimerCancelled;
      CHECK(text.find(series + (counted ? "2" : "0") + "\n") != std::string::npos);
    }
  }
}
