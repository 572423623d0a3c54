#include "broker_state.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <utility>

namespace broker_sim {

using nlohmann::ordered_json;
using timing_sidecar::EventType;
using timing_sidecar::to_string;

namespace {

// Field order as in the documented event objects, so that a human reading the feed sees the
// type first.
ordered_json event_object(EventType type, const std::string& topic) {
  ordered_json event;
  event["type"] = std::string(to_string(type));
  event["topic"] = topic;
  return event;
}

}  // namespace

BrokerState::BrokerState(size_t history_limit, uint64_t seed, EventSink sink)
    : history_limit_(history_limit), sink_(std::move(sink)), rng_(seed) {}

CreateResult BrokerState::create_topic(const std::string& name, const std::string& message_type) {
  std::lock_guard lock(mutex_);
  if (topics_.count(name) != 0) return {false, revision_};
  create_locked(name, message_type);
  return {true, revision_};
}

std::optional<int64_t> BrokerState::delete_topic(const std::string& name, bool silent) {
  std::lock_guard lock(mutex_);
  if (topics_.erase(name) == 0) return std::nullopt;
  if (silent) return ++revision_;
  return append_event_locked(event_object(EventType::kTopicDeleted, name));
}

MessageResult BrokerState::enqueue(const std::string& topic, const std::string& id,
                                   int64_t deliver_at_ms) {
  std::lock_guard lock(mutex_);
  auto it = topics_.find(topic);
  if (it == topics_.end()) {
    create_locked(topic, "DELAY");
    it = topics_.find(topic);
  }
  const std::string message_id = id.empty() ? new_id_locked(it->second) : id;
  if (!it->second.pending.emplace(message_id, deliver_at_ms).second) {
    return {Outcome::kDuplicateId, message_id, revision_};
  }
  ordered_json event = event_object(EventType::kTimerEnqueued, topic);
  event["id"] = message_id;
  event["deliverAtMs"] = deliver_at_ms;
  return {Outcome::kOk, message_id, append_event_locked(std::move(event))};
}

MessagesResult BrokerState::enqueue_random(const std::string& topic, int64_t count, int64_t now_ms,
                                           int64_t max_delay_ms) {
  std::lock_guard lock(mutex_);
  auto it = topics_.find(topic);
  if (it == topics_.end()) {
    create_locked(topic, "DELAY");
    it = topics_.find(topic);
  }
  std::uniform_int_distribution<int64_t> delay(0, max_delay_ms);
  MessagesResult result;
  result.ids.reserve(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) {
    std::string id = new_id_locked(it->second);
    const int64_t deliver_at_ms = now_ms + delay(rng_);
    it->second.pending.emplace(id, deliver_at_ms);
    ordered_json event = event_object(EventType::kTimerEnqueued, topic);
    event["id"] = id;
    event["deliverAtMs"] = deliver_at_ms;
    append_event_locked(std::move(event));
    result.ids.push_back(std::move(id));
  }
  result.revision = revision_;
  return result;
}

MessageResult BrokerState::remove_message(const std::string& topic, const std::string& id,
                                          EventType type) {
  std::lock_guard lock(mutex_);
  auto it = topics_.find(topic);
  if (it == topics_.end()) return {Outcome::kNoTopic, id, revision_};
  if (it->second.pending.erase(id) == 0) return {Outcome::kNoMessage, id, revision_};
  ordered_json event = event_object(type, topic);
  event["id"] = id;
  return {Outcome::kOk, id, append_event_locked(std::move(event))};
}

MessagesResult BrokerState::dequeue_earliest(const std::string& topic, int64_t count) {
  std::lock_guard lock(mutex_);
  auto it = topics_.find(topic);
  if (it == topics_.end()) return {Outcome::kNoTopic, {}, revision_};
  auto& pending = it->second.pending;
  std::vector<std::pair<int64_t, std::string>> due;
  due.reserve(pending.size());
  for (const auto& [id, deliver_at_ms] : pending) due.emplace_back(deliver_at_ms, id);
  const size_t taken = std::min(due.size(), static_cast<size_t>(count));
  std::partial_sort(due.begin(), due.begin() + static_cast<std::ptrdiff_t>(taken), due.end());
  MessagesResult result;
  for (size_t i = 0; i < taken; ++i) {
    std::string& id = due[i].second;
    pending.erase(id);
    ordered_json event = event_object(EventType::kTimerDequeued, topic);
    event["id"] = id;
    append_event_locked(std::move(event));
    result.ids.push_back(std::move(id));
  }
  result.revision = revision_;
  return result;
}

int64_t BrokerState::revision() const {
  std::lock_guard lock(mutex_);
  return revision_;
}

TopicList BrokerState::list() const {
  std::lock_guard lock(mutex_);
  TopicList list;
  list.revision = revision_;
  list.topics.reserve(topics_.size());
  for (const auto& [name, topic] : topics_) {
    list.topics.push_back({name, topic.message_type, static_cast<int64_t>(topic.pending.size())});
  }
  return list;
}

std::map<std::string, int64_t> BrokerState::pending_by_topic(int64_t* revision) const {
  std::lock_guard lock(mutex_);
  std::map<std::string, int64_t> pending;
  for (const auto& [name, topic] : topics_) {
    pending.emplace(name, static_cast<int64_t>(topic.pending.size()));
  }
  *revision = revision_;
  return pending;
}

int64_t BrokerState::restart_revision() {
  std::lock_guard lock(mutex_);
  revision_ = static_cast<int64_t>(topics_.size());
  history_.clear();
  min_after_ = revision_;
  // Long-polls already waiting with an `after` that is now ahead must learn it now.
  events_appended_.notify_all();
  return revision_;
}

FeedResult BrokerState::wait_for_events(int64_t after, std::chrono::milliseconds timeout,
                                        size_t max_events) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::unique_lock lock(mutex_);
  while (true) {
    if (auto gone = gone_locked(after)) return *gone;
    auto first = std::upper_bound(
        history_.begin(), history_.end(), after,
        [](int64_t revision, const HistoryEntry& entry) { return revision < entry.revision; });
    if (first != history_.end() || stopping_) {
      FeedBatch batch;
      batch.revision = revision_;
      for (auto it = first; it != history_.end() && batch.events.size() < max_events; ++it) {
        batch.events.push_back(it->json);
      }
      return batch;
    }
    if (events_appended_.wait_until(lock, deadline) == std::cv_status::timeout) {
      if (auto gone = gone_locked(after)) return *gone;
      return FeedBatch{revision_, {}};
    }
  }
}

void BrokerState::shutdown() {
  std::lock_guard lock(mutex_);
  stopping_ = true;
  events_appended_.notify_all();
}

void BrokerState::create_locked(const std::string& name, const std::string& message_type) {
  topics_[name].message_type = message_type;
  ordered_json event = event_object(EventType::kTopicCreated, name);
  event["messageType"] = message_type;
  append_event_locked(std::move(event));
}

int64_t BrokerState::append_event_locked(ordered_json event) {
  event["revision"] = ++revision_;
  history_.push_back({revision_, event.dump()});
  while (history_.size() > history_limit_) {
    min_after_ = history_.front().revision;
    history_.pop_front();
  }
  if (sink_) sink_(history_.back().json);
  events_appended_.notify_all();
  return revision_;
}

std::string BrokerState::new_id_locked(const Topic& topic) {
  static constexpr char kHexDigits[] = "0123456789ABCDEF";
  std::string id(32, '0');
  do {
    for (size_t i = 0; i < id.size(); i += 16) {
      uint64_t bits = rng_();
      for (size_t j = 0; j < 16; ++j, bits >>= 4) id[i + j] = kHexDigits[bits & 0xf];
    }
  } while (topic.pending.count(id) != 0);
  return id;
}

std::optional<FeedGone> BrokerState::gone_locked(int64_t after) const {
  if (after > revision_) {
    return FeedGone{"after=" + std::to_string(after) + " is ahead of the broker's revision " +
                    std::to_string(revision_) + " (the broker restarted): relist"};
  }
  if (after < min_after_) {
    return FeedGone{"after=" + std::to_string(after) + " is older than the kept history (oldest " +
                    "servable after is " + std::to_string(min_after_) + "): relist"};
  }
  return std::nullopt;
}

}  // namespace broker_sim
