#include "timing_sidecar/engine.hpp"

#include <algorithm>
#include <functional>

namespace timing_sidecar {

std::string_view to_string(EventSource source) {
  switch (source) {
    case EventSource::kWebhook:
      return "webhook";
    case EventSource::kFeed:
      return "feed";
    case EventSource::kDemo:
      return "demo";
    case EventSource::kFile:
      return "file";
  }
  return "unknown";
}

struct Engine::Shard {
  Shard(const SchedulerConfig& config, int64_t now_ms) : scheduler(config, now_ms) {}

  mutable std::mutex mutex;
  Catalog catalog;
  SeriesStore store;
  Scheduler scheduler;
};

Engine::Engine(const EngineConfig& config, const Clock& clock, EngineObserver& observer)
    : config_(config), clock_(clock), observer_(observer) {
  for (auto& shard : shards_) shard = std::make_unique<Shard>(config_.scheduler, clock_.now_ms());
}

Engine::~Engine() = default;

Engine::Shard& Engine::shard_for(std::string_view topic) const {
  return *shards_[std::hash<std::string_view>{}(topic) % kShardCount];
}

ApplyResult Engine::apply(const std::vector<Event>& events, EventSource source) {
  // Group by shard, keeping each topic's events in arrival order.
  std::array<std::vector<const Event*>, kShardCount> by_shard;
  for (const Event& event : events) {
    by_shard[std::hash<std::string_view>{}(event.topic) % kShardCount].push_back(&event);
  }
  ApplyResult result;
  const int64_t now_ms = clock_.now_ms();
  for (size_t index = 0; index < kShardCount; ++index) {
    if (by_shard[index].empty()) continue;
    Shard& shard = *shards_[index];
    std::lock_guard lock(shard.mutex);
    for (const Event* event : by_shard[index]) {
      if (apply_one(shard, *event, source, now_ms)) {
        ++result.accepted;
      } else {
        ++result.ignored;
      }
    }
  }
  return result;
}

bool Engine::apply_one(Shard& shard, const Event& event, EventSource source, int64_t now_ms) {
  if (!shard.catalog.is_live(event.topic) &&
      topic_count_.load(std::memory_order_relaxed) >= config_.max_topics &&
      event.type != EventType::kTopicDeleted) {
    observer_.on_ignored("topic_limit");
    return false;
  }
  const Verdict verdict = shard.catalog.admit(event, now_ms);
  if (verdict != Verdict::kApply) {
    observer_.on_ignored(ignore_reason(verdict));
    return false;
  }
  observer_.on_event(source, event.type);

  if (event.type == EventType::kTopicDeleted) {
    if (auto slot = shard.store.find(event.topic)) drop_topic(shard, *slot, "deleted");
    return true;
  }
  const TopicKey slot = add_series(shard, event.topic);
  TopicSeries& series = shard.store.at(slot);
  if (event.type != EventType::kTopicCreated) series.has_message_events = true;
  switch (event.type) {
    case EventType::kTimerEnqueued:
      if (shard.scheduler.enqueue(slot, event.id, event.deliver_at_ms, now_ms, shard.store) ==
          Scheduler::EnqueueOutcome::kAdded) {
        ++series.enqueued;
      }
      break;
    case EventType::kTimerDequeued:
      // An unknown id still counts as a dequeue: the broker did deliver a message.
      ++series.dequeued;
      if (auto deliver_at_ms = shard.scheduler.remove(slot, event.id, shard.store)) {
        observer_.on_delivery_lateness(static_cast<double>(now_ms - *deliver_at_ms) / 1000.0);
      } else if (series.unseen > 0) {
        --series.unseen;  // one of the messages only the broker's count knew of
      }
      break;
    case EventType::kTimerCancelled:
      if (!shard.scheduler.remove(slot, event.id, shard.store) && series.unseen > 0) {
        --series.unseen;
      }
      break;
    case EventType::kTopicCreated:
    case EventType::kTopicDeleted:
      break;
  }
  return true;
}

TopicKey Engine::add_series(Shard& shard, const std::string& topic) {
  const size_t topics_before = shard.store.size();
  const TopicKey slot = shard.store.find_or_add(topic);
  if (shard.store.size() != topics_before) topic_count_.fetch_add(1, std::memory_order_relaxed);
  return slot;
}

ListAdmission Engine::admit_list(const TopicList& list) {
  std::array<std::vector<const ListedTopic*>, kShardCount> by_shard;
  for (const ListedTopic& topic : list.topics) {
    by_shard[std::hash<std::string_view>{}(topic.name) % kShardCount].push_back(&topic);
  }
  const uint32_t epoch = ++list_epoch_;
  const int64_t now_ms = clock_.now_ms();
  ListAdmission admission;
  for (size_t index = 0; index < kShardCount; ++index) {
    Shard& shard = *shards_[index];
    std::lock_guard lock(shard.mutex);
    for (const ListedTopic* topic : by_shard[index]) {
      if (!shard.catalog.is_live(topic->name) &&
          topic_count_.load(std::memory_order_relaxed) >= config_.max_topics) {
        observer_.on_ignored("topic_limit");
        continue;
      }
      switch (shard.catalog.admit_listed(topic->name, list.stamp, epoch, now_ms)) {
        case ListVerdict::kCreated:
          ++admission.created;
          add_series(shard, topic->name);
          break;
        case ListVerdict::kRevived:
          ++admission.revived;
          add_series(shard, topic->name);
          break;
        case ListVerdict::kAlreadyLive:
        case ListVerdict::kStillDeleted:
          break;
      }
    }
    shard.catalog.for_each_unlisted(
        epoch, list.stamp, [&](const std::string& name) { admission.unlisted.push_back(name); });
    admission.live += shard.catalog.live_count();
  }
  return admission;
}

void Engine::condemn(const std::vector<std::string>& topics, const ListStamp& stamp) {
  const int64_t now_ms = clock_.now_ms();
  for (const std::string& topic : topics) {
    Shard& shard = shard_for(topic);
    std::lock_guard lock(shard.mutex);
    shard.catalog.condemn(topic, stamp, now_ms);
  }
}

std::vector<std::string> Engine::adopt_broker_counts(const std::vector<ListedTopic>& counts,
                                                     CountMode mode) {
  std::vector<std::string> incomplete;
  for (const ListedTopic& topic : counts) {
    if (!topic.timing) continue;
    Shard& shard = shard_for(topic.name);
    std::lock_guard lock(shard.mutex);
    // The broker's count of a topic that is not live is exactly RocketMQ's stale-series bug.
    if (!shard.catalog.is_live(topic.name)) continue;
    TopicSeries& series = shard.store.at(add_series(shard, topic.name));
    if (mode == CountMode::kMirror && series.has_message_events) continue;
    const int64_t broker_count = std::max<int64_t>(0, *topic.timing);
    const int64_t unseen = broker_count - static_cast<int64_t>(series.pending);
    const bool was_complete = series.unseen == 0;
    series.unseen = static_cast<int32_t>(std::clamp<int64_t>(unseen, INT32_MIN, INT32_MAX));
    if (series.unseen != 0 && (was_complete || mode == CountMode::kAdoptAfterGap)) {
      incomplete.push_back(topic.name);
    }
  }
  return incomplete;
}

void Engine::drop_topic(Shard& shard, TopicKey slot, std::string_view reason) {
  shard.scheduler.remove_topic(slot);
  shard.store.remove(slot);
  topic_count_.fetch_sub(1, std::memory_order_relaxed);
  observer_.on_series_removed(reason,
                              TopicFamiliesWriter::series_per_topic(config_.snapshot_per_topic));
}

size_t Engine::advance_timers() {
  const int64_t now_ms = clock_.now_ms();
  size_t fired = 0;
  for (auto& shard : shards_) {
    std::lock_guard lock(shard->mutex);
    fired += shard->scheduler.advance(now_ms, shard->store);
  }
  if (fired > 0) observer_.on_timers_fired(fired);
  return fired;
}

std::optional<int64_t> Engine::next_wakeup_ms() const {
  std::optional<int64_t> earliest;
  for (const auto& shard : shards_) {
    std::lock_guard lock(shard->mutex);
    if (auto wakeup = shard->scheduler.next_wakeup_ms()) {
      earliest = earliest ? std::min(*earliest, *wakeup) : *wakeup;
    }
  }
  return earliest;
}

size_t Engine::reconcile() {
  size_t dropped = 0;
  for (auto& shard : shards_) {
    std::lock_guard lock(shard->mutex);
    std::vector<TopicKey> doomed;
    shard->store.for_each([&](TopicKey slot, const TopicSeries& series) {
      if (!shard->catalog.is_live(*series.name)) doomed.push_back(slot);
    });
    for (TopicKey slot : doomed) drop_topic(*shard, slot, "reconciled");
    dropped += doomed.size();
  }
  return dropped;
}

void Engine::write_metrics(std::string& out) const {
  TopicFamiliesWriter writer(config_.labels, config_.snapshot_per_topic);
  for (const auto& shard : shards_) {
    std::lock_guard lock(shard->mutex);
    writer.add(shard->store);
  }
  writer.finish(out);
}

std::vector<TopicSummary> Engine::topics() const {
  std::vector<TopicSummary> summaries;
  for (const auto& shard : shards_) {
    std::lock_guard lock(shard->mutex);
    shard->store.for_each([&](TopicKey, const TopicSeries& series) {
      summaries.push_back({*series.name, series.exposed_pending(), series.due, series.overdue,
                           series.enqueued, series.dequeued});
    });
  }
  std::sort(summaries.begin(), summaries.end(),
            [](const TopicSummary& a, const TopicSummary& b) { return a.name < b.name; });
  return summaries;
}

EngineStats Engine::stats() const {
  EngineStats stats;
  for (const auto& shard : shards_) {
    std::lock_guard lock(shard->mutex);
    stats.topics += shard->store.size();
    stats.tombstones += shard->catalog.tombstone_count();
    stats.timers += shard->scheduler.timers();
    stats.pending += shard->scheduler.pending();
    shard->store.for_each([&](TopicKey, const TopicSeries& series) {
      if (series.unseen != 0) ++stats.incomplete;
    });
  }
  return stats;
}

}  // namespace timing_sidecar
