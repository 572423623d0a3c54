#pragma once

// The event model shared by the webhook and the broker feed, and its JSON parsing. No I/O.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace timing_sidecar {

enum class EventType {
  kTopicCreated,
  kTopicDeleted,
  kTimerEnqueued,
  kTimerDequeued,
  kTimerCancelled
};

// The wire name, e.g. "timer.enqueued".
std::string_view to_string(EventType type);

struct Event {
  EventType type = EventType::kTopicCreated;
  std::string topic;
  std::string id;                   // timer.* only
  int64_t deliver_at_ms = 0;        // timer.enqueued only
  std::optional<int64_t> revision;  // the broker's change counter, when it sends one
  std::string message_type;         // topic.created only, may be empty
};

struct EventLimits {
  int64_t now_ms = 0;
  int64_t max_delay_ms = 3LL * 24 * 3600 * 1000;
  // Broker and sidecar clocks differ a little: a delivery time up to this much beyond
  // now + max_delay is still accepted.
  int64_t clock_slack_ms = 1000;
};

// Why a body was refused. `reason` is a short label value for
// timing_sidecar_events_rejected_total{reason}; `message` says what and where, for a human.
struct EventError {
  std::string reason;
  std::string message;
};

using ParseResult = std::variant<std::vector<Event>, EventError>;

// Parses one event object, an array of them, or {"events":[...]}. The whole body is validated
// before anything is returned: either every event is valid or the result is an error.
ParseResult parse_events(std::string_view body, const EventLimits& limits);

// RocketMQ's own rule for topic names: ^[%|a-zA-Z0-9_-]+$, at most 127 characters.
bool is_valid_topic_name(std::string_view name);

inline constexpr size_t kMaxTopicNameLength = 127;
inline constexpr size_t kMaxMessageIdLength = 128;
// 2000-01-01T00:00:00Z: anything earlier is taken for seconds, not milliseconds.
inline constexpr int64_t kEarliestPlausibleEpochMs = 946684800000;

}  // namespace timing_sidecar
