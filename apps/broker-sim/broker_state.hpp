#pragma once

// The simulated broker's truth: topics, their pending timing messages, the revision counter and
// the bounded event history that GET /v1/events serves. Every method is thread-safe; one mutex
// guards everything so that a topic list and the feed always agree on what a revision means.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <random>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

#include "timing_sidecar/events.hpp"

namespace broker_sim {

struct TopicInfo {
  std::string name;
  std::string message_type;
  int64_t pending = 0;
};

struct TopicList {
  int64_t revision = 0;
  std::vector<TopicInfo> topics;  // sorted by name
};

// Events of a feed reply, already serialized as JSON objects.
struct FeedBatch {
  int64_t revision = 0;  // the broker's current revision when the batch was taken
  std::vector<std::string> events;
};

// The client's `after` cannot be served: it must relist.
struct FeedGone {
  std::string reason;
};

using FeedResult = std::variant<FeedBatch, FeedGone>;

enum class Outcome { kOk, kNoTopic, kNoMessage, kDuplicateId };

struct CreateResult {
  bool created = false;
  int64_t revision = 0;
};

struct MessageResult {
  Outcome outcome = Outcome::kOk;
  std::string id;
  int64_t revision = 0;
};

struct MessagesResult {
  Outcome outcome = Outcome::kOk;
  std::vector<std::string> ids;
  int64_t revision = 0;
};

class BrokerState {
 public:
  // Receives every event as it is appended, in revision order. Called with the state's lock
  // held, which is what keeps the order: it must not block nor call back into the state.
  using EventSink = std::function<void(const std::string& event_json)>;

  BrokerState(size_t history_limit, uint64_t seed, EventSink sink);

  // Idempotent: an existing topic is left as it is and no event is emitted.
  CreateResult create_topic(const std::string& name, const std::string& message_type);
  // A silent delete is a deletion the feed never shows: the revision moves (lists taken after
  // it differ from lists taken before) but no event is kept or pushed. nullopt: no such topic.
  std::optional<int64_t> delete_topic(const std::string& name, bool silent);

  // Creates the topic first when needed, as RocketMQ's auto-create does. An empty `id` means
  // generate one.
  MessageResult enqueue(const std::string& topic, const std::string& id, int64_t deliver_at_ms);
  // `count` messages with generated ids, each due at now_ms + a uniform delay in [0, max_delay].
  MessagesResult enqueue_random(const std::string& topic, int64_t count, int64_t now_ms,
                                int64_t max_delay_ms);
  // `type` is kTimerDequeued (delivered) or kTimerCancelled.
  MessageResult remove_message(const std::string& topic, const std::string& id,
                               timing_sidecar::EventType type);
  // Dequeues the `count` earliest-due messages, as the broker's timer would deliver them.
  MessagesResult dequeue_earliest(const std::string& topic, int64_t count);

  int64_t revision() const;
  TopicList list() const;
  std::map<std::string, int64_t> pending_by_topic(int64_t* revision) const;

  // As if the broker restarted: the counter starts again at the number of topics it loaded,
  // the history is gone, topics and pending messages stay.
  int64_t restart_revision();

  // The events with revision > after, at most max_events, waiting up to `timeout` for the
  // first one. Returns at once, with no events, once shutdown() was called.
  FeedResult wait_for_events(int64_t after, std::chrono::milliseconds timeout, size_t max_events);

  void shutdown();

 private:
  struct Topic {
    std::string message_type;
    std::unordered_map<std::string, int64_t> pending;  // id -> deliverAtMs
  };
  struct HistoryEntry {
    int64_t revision;
    std::string json;
  };

  // All of these expect mutex_ to be held.
  void create_locked(const std::string& name, const std::string& message_type);
  // Stamps the next revision on `event`, keeps it in the history and hands it to the sink.
  int64_t append_event_locked(nlohmann::ordered_json event);
  std::string new_id_locked(const Topic& topic);
  std::optional<FeedGone> gone_locked(int64_t after) const;

  const size_t history_limit_;
  const EventSink sink_;

  mutable std::mutex mutex_;
  std::condition_variable events_appended_;
  std::map<std::string, Topic> topics_;
  int64_t revision_ = 0;
  std::deque<HistoryEntry> history_;
  // The smallest `after` the history can still serve: every event with a larger revision is
  // kept. Revisions skipped by silent deletes are not events, so they never raise it.
  int64_t min_after_ = 0;
  std::mt19937_64 rng_;
  bool stopping_ = false;
};

}  // namespace broker_sim
