// The engine's read-only views for the web listener: the topic list, one topic's drill-down, the
// totals of the self metrics. Each locks one shard at a time.

#include <algorithm>

#include "engine_shard.hpp"
#include "timing_sidecar/engine.hpp"

namespace timing_sidecar {

std::vector<TopicSummary> Engine::topics() const {
  std::vector<TopicSummary> summaries;
  for (const auto& shard : shards_) {
    std::lock_guard lock(shard->mutex);
    shard->store.for_each([&](SeriesSlot slot, const TopicSeries& series) {
      summaries.push_back({std::string(shard->store.name(slot)), series.exposed_pending(),
                           series.due, series.overdue, series.enqueued, series.dequeued});
    });
  }
  std::sort(summaries.begin(), summaries.end(),
            [](const TopicSummary& a, const TopicSummary& b) { return a.name < b.name; });
  return summaries;
}

TopicDetail Engine::topic_detail(std::string_view name, size_t limit) const {
  TopicDetail detail;
  detail.now_ms = clock_.now_ms();
  const Shard& shard = shard_for(name);
  std::lock_guard lock(shard.mutex);
  const Catalog::Entry* entry = shard.catalog.find(name);
  if (entry == nullptr) return detail;
  if (!entry->live()) {
    detail.status = TopicDetail::Status::kDeleted;
    if (!entry->deleted_revision_is_bound()) detail.deleted_revision = entry->deleted_revision();
    return detail;
  }
  const std::optional<SeriesSlot> slot = shard.store.find(shard.names->find(name));
  if (!slot) return detail;
  const TopicSeries& series = shard.store.at(*slot);
  detail.status = TopicDetail::Status::kLive;
  detail.summary = {std::string(name), series.exposed_pending(), series.due,
                    series.overdue,    series.enqueued,          series.dequeued};
  detail.messages = shard.scheduler.topic_messages(*slot, limit);
  return detail;
}

EngineStats Engine::stats() const {
  EngineStats stats;
  for (const auto& shard : shards_) {
    std::lock_guard lock(shard->mutex);
    stats.topics += shard->store.size();
    stats.tombstones += shard->catalog.tombstone_count();
    stats.names += shard->names->size();
    stats.timers += shard->scheduler.timers();
    stats.pending += shard->scheduler.pending();
    shard->store.for_each([&](SeriesSlot, const TopicSeries& series) {
      if (series.unseen != 0) ++stats.incomplete;
    });
  }
  return stats;
}

}  // namespace timing_sidecar
