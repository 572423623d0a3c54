#include "timing_sidecar/engine.hpp"

#include <algorithm>

#include "engine_shard.hpp"

namespace timing_sidecar {

Engine::Engine(const EngineConfig& config, const Clock& clock, EngineObserver& observer)
    : config_(config),
      clock_(clock),
      observer_(observer),
      writer_(config_.labels, config_.snapshot_per_topic) {
  TombstonePolicy per_shard = config_.tombstones;
  if (per_shard.max_tombstones != SIZE_MAX) {
    per_shard.max_tombstones = std::max<size_t>(1, per_shard.max_tombstones / kShardCount);
  }
  for (auto& shard : shards_) {
    shard = std::make_unique<Shard>(config_.scheduler, per_shard, clock_.now_ms());
  }
}

Engine::~Engine() = default;

namespace {

// Items of a batch grouped by shard, in arrival order, each with the hash of its topic's name,
// computed once: it picks the shard and lets the shard's name lookups be prefetched.
template <typename Item, size_t kShards>
class ShardGroups {
 public:
  template <typename NameOf>
  void assign(const Item* begin, const Item* end, NameOf name_of) {
    for (auto& group : groups_) group.clear();
    for (const Item* item = begin; item != end; ++item) {
      const uint32_t hash = TopicNames::hash_of(name_of(*item));
      groups_[hash % kShards].push_back({item, hash});
    }
  }

  bool empty(size_t shard) const { return groups_[shard].empty(); }

  // Visits the shard's items in order, with their hashes, while the name lookups of the next
  // few are on their way from memory: a batch's names are spread over tables far larger than
  // the cache.
  template <typename Visit>
  void visit(size_t shard, const TopicNames& names, Visit&& visit) const {
    constexpr size_t kLookahead = 8;
    const std::vector<Hashed>& group = groups_[shard];
    for (size_t index = 0; index < group.size(); ++index) {
      if (index + kLookahead < group.size()) names.prefetch(group[index + kLookahead].hash);
      visit(*group[index].item, group[index].hash);
    }
  }

 private:
  struct Hashed {
    const Item* item;
    uint32_t hash;
  };

  std::array<std::vector<Hashed>, kShards> groups_;
};

}  // namespace

Engine::Shard& Engine::shard_for(std::string_view topic) const {
  return *shards_[TopicNames::hash_of(topic) % kShardCount];
}

ApplyResult Engine::apply(const std::vector<Event>& events, EventSource source) {
  // Grouped by shard, each topic's events stay in arrival order.
  ShardGroups<Event, kShardCount> by_shard;
  by_shard.assign(events.data(), events.data() + events.size(),
                  [](const Event& event) -> std::string_view { return event.topic; });
  ApplyResult result;
  size_t removed_series = 0;
  const int64_t now_ms = clock_.now_ms();
  for (size_t index = 0; index < kShardCount; ++index) {
    if (by_shard.empty(index)) continue;
    Shard& shard = *shards_[index];
    std::lock_guard lock(shard.mutex);
    by_shard.visit(index, *shard.names, [&](const Event& event, uint32_t hash) {
      if (apply_one(shard, event, hash, source, now_ms, removed_series)) {
        ++result.accepted;
      } else {
        ++result.ignored;
      }
    });
  }
  if (removed_series > 0) observer_.on_series_removed("deleted", removed_series);
  return result;
}

bool Engine::admitted(const Shard& shard, std::string_view topic, uint32_t topic_hash) const {
  if (!config_.filter || shard.names->find(topic, topic_hash) != TopicNames::kAbsent) return true;
  if (config_.filter->admits(topic)) return true;
  observer_.on_ignored("filtered");
  return false;
}

bool Engine::apply_one(Shard& shard, const Event& event, uint32_t topic_hash, EventSource source,
                       int64_t now_ms, size_t& removed_series) {
  // Before anything is interned: a filtered topic leaves no trace, not even a tombstone.
  if (!admitted(shard, event.topic, topic_hash)) return false;
  // At the limit, an event of a new topic is ignored before its name is interned.
  if (event.type != EventType::kTopicDeleted &&
      topic_count_.load(std::memory_order_relaxed) >= config_.max_topics &&
      !shard.catalog.is_live(shard.names->find(event.topic, topic_hash))) {
    observer_.on_ignored("topic_limit");
    return false;
  }
  const TopicId topic = shard.names->intern(event.topic, topic_hash);
  const Verdict verdict = shard.catalog.admit(topic, event, now_ms);
  if (verdict != Verdict::kApply) {
    observer_.on_ignored(ignore_reason(verdict));
    return false;
  }
  observer_.on_event(source, event.type);

  if (event.type == EventType::kTopicDeleted) {
    if (auto slot = shard.store.find(topic)) removed_series += drop_topic(shard, *slot);
    return true;
  }
  const SeriesSlot slot = add_series(shard, topic);
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

SeriesSlot Engine::add_series(Shard& shard, TopicId topic) {
  const size_t topics_before = shard.store.size();
  const SeriesSlot slot = shard.store.find_or_add(topic);
  if (shard.store.size() != topics_before) topic_count_.fetch_add(1, std::memory_order_relaxed);
  return slot;
}

ListAdmission Engine::admit_list(const TopicList& list) {
  // A million names grouped by shard at once would be read again in shard order, long after they
  // left the cache; a chunk's names are still in it when its shards take them.
  constexpr size_t kChunkSize = 4096;
  const uint32_t epoch = ++list_epoch_;
  const int64_t now_ms = clock_.now_ms();
  ListAdmission admission;
  ShardGroups<ListedTopic, kShardCount> by_shard;
  for (size_t begin = 0; begin < list.topics.size(); begin += kChunkSize) {
    const ListedTopic* chunk = list.topics.data() + begin;
    by_shard.assign(chunk, chunk + std::min(kChunkSize, list.topics.size() - begin),
                    [](const ListedTopic& topic) -> std::string_view { return topic.name; });
    for (size_t index = 0; index < kShardCount; ++index) {
      if (by_shard.empty(index)) continue;
      Shard& shard = *shards_[index];
      std::lock_guard lock(shard.mutex);
      by_shard.visit(index, *shard.names, [&](const ListedTopic& topic, uint32_t hash) {
        // A list is not an event: a filtered topic in it is skipped without being counted, or
        // every poll would count it again.
        if (config_.filter && shard.names->find(topic.name, hash) == TopicNames::kAbsent &&
            !config_.filter->admits(topic.name)) {
          return;
        }
        if (topic_count_.load(std::memory_order_relaxed) >= config_.max_topics &&
            !shard.catalog.is_live(shard.names->find(topic.name, hash))) {
          observer_.on_ignored("topic_limit");
          return;
        }
        const TopicId id = shard.names->intern(topic.name, hash);
        switch (shard.catalog.admit_listed(id, list.stamp, epoch, now_ms)) {
          case ListVerdict::kCreated:
            ++admission.created;
            add_series(shard, id);
            break;
          case ListVerdict::kRevived:
            ++admission.revived;
            add_series(shard, id);
            break;
          case ListVerdict::kAlreadyLive:
          case ListVerdict::kStillDeleted:
            break;
        }
      });
    }
  }
  for (auto& shard : shards_) {
    std::lock_guard lock(shard->mutex);
    shard->catalog.for_each_unlisted(
        epoch, list.stamp, [&](const std::string& name) { admission.unlisted.push_back(name); });
    admission.live += shard->catalog.live_count();
  }
  return admission;
}

void Engine::condemn(const std::vector<std::string>& topics, const ListStamp& stamp) {
  const int64_t now_ms = clock_.now_ms();
  ShardGroups<std::string, kShardCount> by_shard;
  by_shard.assign(topics.data(), topics.data() + topics.size(),
                  [](const std::string& topic) -> std::string_view { return topic; });
  for (size_t index = 0; index < kShardCount; ++index) {
    if (by_shard.empty(index)) continue;
    Shard& shard = *shards_[index];
    std::lock_guard lock(shard.mutex);
    by_shard.visit(index, *shard.names, [&](const std::string& topic, uint32_t hash) {
      const TopicId id = shard.names->find(topic, hash);
      if (shard.catalog.condemn(id, stamp, now_ms)) shard.condemned.push_back(id);
    });
  }
}

std::vector<std::string> Engine::adopt_broker_counts(const std::vector<ListedTopic>& counts,
                                                     CountMode mode, int64_t listed_at_ms) {
  std::vector<std::string> incomplete;
  for (const ListedTopic& topic : counts) {
    if (!topic.timing) continue;
    Shard& shard = shard_for(topic.name);
    std::lock_guard lock(shard.mutex);
    // The broker's count of a topic that is not live is exactly RocketMQ's stale-series bug.
    const TopicId id = shard.names->find(topic.name);
    if (!shard.catalog.is_live(id)) continue;
    const SeriesSlot slot = add_series(shard, id);
    TopicSeries& series = shard.store.at(slot);
    if (mode == CountMode::kMirror && series.has_message_events) continue;
    if (mode == CountMode::kAdoptAfterGap) {
      shard.scheduler.remove_due_by(slot, listed_at_ms, shard.store);
    }
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

size_t Engine::drop_topic(Shard& shard, SeriesSlot slot) {
  shard.scheduler.remove_topic(slot);
  shard.store.remove(slot);
  topic_count_.fetch_sub(1, std::memory_order_relaxed);
  return TopicFamiliesWriter::series_per_topic(config_.snapshot_per_topic);
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

size_t Engine::drop_condemned(Shard& shard, size_t& removed_series) {
  size_t dropped = 0;
  for (TopicId topic : shard.condemned) {
    // Revived since, or deleted (and its series dropped) by an event.
    if (shard.catalog.is_live(topic)) continue;
    if (auto slot = shard.store.find(topic)) {
      removed_series += drop_topic(shard, *slot);
      ++dropped;
    }
  }
  shard.condemned.clear();
  return dropped;
}

size_t Engine::reconcile() {
  size_t dropped = 0;
  size_t removed_series = 0;
  for (auto& shard : shards_) {
    std::lock_guard lock(shard->mutex);
    dropped += drop_condemned(*shard, removed_series);
  }
  if (removed_series > 0) observer_.on_series_removed("reconciled", removed_series);
  return dropped;
}

ForgottenTombstones Engine::forget_tombstones() {
  const int64_t now_ms = clock_.now_ms();
  ForgottenTombstones total;
  size_t removed_series = 0;
  for (auto& shard : shards_) {
    std::lock_guard lock(shard->mutex);
    // A condemned topic keeps its series until they are dropped, and they use its name.
    drop_condemned(*shard, removed_series);
    const ForgottenTombstones forgotten =
        shard->catalog.forget_tombstones(now_ms, [&](TopicId topic) {
          if (!shard->store.find(topic)) shard->names->release(topic);
        });
    total.expired += forgotten.expired;
    total.evicted += forgotten.evicted;
  }
  if (removed_series > 0) observer_.on_series_removed("reconciled", removed_series);
  {
    // No scrape holds names while they move.
    std::lock_guard writer_lock(writer_mutex_);
    for (auto& shard : shards_) {
      std::lock_guard lock(shard->mutex);
      shard->names->compact();
    }
  }
  observer_.on_tombstones_forgotten(total);
  return total;
}

void Engine::write_metrics(std::string& out) const {
  std::lock_guard writer_lock(writer_mutex_);
  try {
    for (const auto& shard : shards_) {
      std::lock_guard lock(shard->mutex);
      writer_.add(shard->store);
    }
    writer_.finish(out);
  } catch (...) {
    // Forget the values of a scrape that could not be written, or the next one repeats them.
    writer_ = TopicFamiliesWriter(config_.labels, config_.snapshot_per_topic);
    throw;
  }
}

}  // namespace timing_sidecar
