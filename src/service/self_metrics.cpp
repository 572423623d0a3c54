#include "timing_sidecar/self_metrics.hpp"

#include <prometheus/text_serializer.h>

#include <sstream>

namespace timing_sidecar {

namespace {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;

}  // namespace

SelfMetrics::SelfMetrics(const ConstantLabels& labels, size_t max_topics)
    : registry_(std::make_shared<prometheus::Registry>()),
      ignored_family_(BuildCounter()
                          .Name("timing_sidecar_events_ignored_total")
                          .Help("Valid events that changed nothing: for a tombstoned topic, with "
                                "a stale revision, or beyond --max-topics.")
                          .Labels(constant_labels(labels))
                          .Register(*registry_)),
      rejected_family_(BuildCounter()
                           .Name("timing_sidecar_events_rejected_total")
                           .Help("Requests refused as bad input, by reason.")
                           .Labels(constant_labels(labels))
                           .Register(*registry_)),
      removed_family_(BuildCounter()
                          .Name("timing_sidecar_series_removed_total")
                          .Help("Per-topic series removed: by a topic.deleted event, or by the "
                                "reconciler because the topic is no longer live.")
                          .Labels(constant_labels(labels))
                          .Register(*registry_)),
      list_drops_family_(
          BuildCounter()
              .Name("timing_sidecar_list_drops_total")
              .Help("Live topics an authoritative list left out: dropped, or held "
                    "back until the next list confirms (--reconcile.max-drop-ratio).")
              .Labels(constant_labels(labels))
              .Register(*registry_)),
      lateness_(BuildHistogram()
                    .Name("rocketmq_timer_delivery_lateness_seconds")
                    .Help("Dequeue time minus scheduled delivery time of dequeued timing messages.")
                    .Labels(constant_labels(labels))
                    .Register(*registry_)
                    .Add({}, prometheus::Histogram::BucketBoundaries{0.5, 1, 2, 5, 10, 30, 60, 120,
                                                                     300, 900, 3600})),
      topics_(BuildGauge()
                  .Name("timing_sidecar_topics")
                  .Help("Topics tracked with series.")
                  .Labels(constant_labels(labels))
                  .Register(*registry_)
                  .Add({})),
      tombstones_(BuildGauge()
                      .Name("timing_sidecar_tombstones")
                      .Help("Deleted topics remembered so that late events cannot revive them.")
                      .Labels(constant_labels(labels))
                      .Register(*registry_)
                      .Add({})),
      incomplete_(BuildGauge()
                      .Name("timing_sidecar_topics_incomplete")
                      .Help("Topics whose pending count rests partly on the broker's own count: "
                            "their message-level state is incomplete.")
                      .Labels(constant_labels(labels))
                      .Register(*registry_)
                      .Add({})),
      timers_(BuildGauge()
                  .Name("timing_sidecar_scheduler_timers")
                  .Help("Timers held by the delay scheduler.")
                  .Labels(constant_labels(labels))
                  .Register(*registry_)
                  .Add({})),
      timers_fired_(BuildCounter()
                        .Name("timing_sidecar_scheduler_fired_total")
                        .Help("Timers fired by the delay scheduler (phase moves of messages).")
                        .Labels(constant_labels(labels))
                        .Register(*registry_)
                        .Add({})),
      tombstones_expired_(BuildCounter()
                              .Name("timing_sidecar_tombstones_expired_total")
                              .Help("Tombstones forgotten after --tombstone.retention.")
                              .Labels(constant_labels(labels))
                              .Register(*registry_)
                              .Add({})),
      tombstones_evicted_(BuildCounter()
                              .Name("timing_sidecar_tombstones_evicted_total")
                              .Help("Tombstones forgotten before --tombstone.retention, oldest "
                                    "first, to stay within --max-tombstones.")
                              .Labels(constant_labels(labels))
                              .Register(*registry_)
                              .Add({})),
      reconcile_last_success_(
          BuildGauge()
              .Name("timing_sidecar_reconcile_last_success_timestamp_seconds")
              .Help("Unix time of the last reconciliation of series against live topics.")
              .Labels(constant_labels(labels))
              .Register(*registry_)
              .Add({})) {
  auto& events = BuildCounter()
                     .Name("timing_sidecar_events_total")
                     .Help("Events applied, by source and type.")
                     .Labels(constant_labels(labels))
                     .Register(*registry_);
  for (const EventSourceInfo& source : kEventSources) {
    for (const EventTypeInfo& type : kEventTypes) {
      events_[static_cast<size_t>(source.source)][static_cast<size_t>(type.type)] =
          &events.Add({{"source", std::string(source.name)}, {"type", std::string(type.name)}});
    }
  }
  auto& runs = BuildCounter()
                   .Name("timing_sidecar_reconcile_runs_total")
                   .Help("Reconciliations of series against live topics, by trigger.")
                   .Labels(constant_labels(labels))
                   .Register(*registry_);
  reconcile_runs_[0] = &runs.Add({{"trigger", "scrape"}});
  reconcile_runs_[1] = &runs.Add({{"trigger", "sweep"}});
  for (const char* reason : {"deleted", "reconciled"}) {
    removed_[reason] = &removed_family_.Add({{"reason", reason}});
  }
  // The reasons known in advance start at zero, so that rate() and the dashboard see them.
  for (const char* reason :
       {"tombstoned", "stale_revision", "topic_limit", "system_topic", "filtered"}) {
    ignored_[reason] = &ignored_family_.Add({{"reason", reason}});
  }
  for (const char* reason : {"malformed_json", "invalid_field", "unknown_type", "invalid_topic",
                             "invalid_time", "too_large", "bad_encoding", "unauthorized"}) {
    rejected_[reason] = &rejected_family_.Add({{"reason", reason}});
  }
  BuildGauge()
      .Name("timing_sidecar_max_topics")
      .Help("The --max-topics guard: events for new topics beyond it are ignored.")
      .Labels(constant_labels(labels))
      .Register(*registry_)
      .Add({})
      .Set(static_cast<double>(max_topics));
  BuildGauge()
      .Name("timing_sidecar_build_info")
      .Help("Always 1; the version of the running sidecar.")
      .Labels(constant_labels(labels))
      .Register(*registry_)
      .Add({{"version", TIMING_SIDECAR_VERSION}})
      .Set(1);
}

prometheus::Counter& SelfMetrics::counter_for(
    std::map<std::string, prometheus::Counter*, std::less<>>& cache,
    prometheus::Family<prometheus::Counter>& family, std::string_view label,
    std::string_view value) {
  std::lock_guard lock(label_cache_mutex_);
  auto it = cache.find(value);
  if (it == cache.end()) {
    it = cache.emplace(std::string(value), &family.Add({{std::string(label), std::string(value)}}))
             .first;
  }
  return *it->second;
}

void SelfMetrics::on_rejected(std::string_view reason) {
  counter_for(rejected_, rejected_family_, "reason", reason).Increment();
}

void SelfMetrics::on_reconciled(ReconcileTrigger trigger, double unix_seconds) {
  reconcile_runs_[trigger == ReconcileTrigger::kScrape ? 0 : 1]->Increment();
  reconcile_last_success_.Set(unix_seconds);
}

void SelfMetrics::on_list_drops(std::string_view source, std::string_view outcome, size_t topics) {
  std::lock_guard lock(label_cache_mutex_);
  list_drops_family_.Add({{"source", std::string(source)}, {"outcome", std::string(outcome)}})
      .Increment(static_cast<double>(topics));
}

void SelfMetrics::set_engine_stats(const EngineStats& stats) {
  incomplete_.Set(static_cast<double>(stats.incomplete));
  topics_.Set(static_cast<double>(stats.topics));
  tombstones_.Set(static_cast<double>(stats.tombstones));
  timers_.Set(static_cast<double>(stats.timers));
}

void SelfMetrics::write(std::string& out) const {
  std::ostringstream stream;
  prometheus::TextSerializer serializer;
  serializer.Serialize(stream, registry_->Collect());
  serializer.Serialize(stream, process_metrics_.Collect());
  out += stream.str();
}

void SelfMetrics::on_event(EventSource source, EventType type) {
  events_[static_cast<size_t>(source)][static_cast<size_t>(type)]->Increment();
}

void SelfMetrics::on_ignored(std::string_view reason) {
  counter_for(ignored_, ignored_family_, "reason", reason).Increment();
}

void SelfMetrics::on_series_removed(std::string_view reason, size_t series) {
  counter_for(removed_, removed_family_, "reason", reason).Increment(static_cast<double>(series));
}

void SelfMetrics::on_delivery_lateness(double seconds) {
  lateness_.Observe(seconds);
}

void SelfMetrics::on_tombstones_forgotten(const ForgottenTombstones& forgotten) {
  tombstones_expired_.Increment(static_cast<double>(forgotten.expired));
  tombstones_evicted_.Increment(static_cast<double>(forgotten.evicted));
}

void SelfMetrics::on_timers_fired(size_t timers) {
  timers_fired_.Increment(static_cast<double>(timers));
}

}  // namespace timing_sidecar
