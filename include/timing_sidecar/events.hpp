#pragma once

// The event model shared by the webhook and the broker feed, and its JSON parsing. No I/O.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "timing_sidecar/defaults.hpp"

namespace timing_sidecar {

// The one list of event types: enumerator, wire name, and whether the event is about one message
// (then it carries the message's id). The journal stores an enumerator's value, so the order is
// part of the file format: a new type goes at the end. The enum, parsing, to_string, the self
// metrics' counters and the journal's validation all derive from this list.
#define TIMING_SIDECAR_EVENT_TYPES(X)                       \
  X(kTopicCreated, "topic.created", EventScope::kTopic)     \
  X(kTopicDeleted, "topic.deleted", EventScope::kTopic)     \
  X(kTimerEnqueued, "timer.enqueued", EventScope::kMessage) \
  X(kTimerDequeued, "timer.dequeued", EventScope::kMessage) \
  X(kTimerCancelled, "timer.cancelled", EventScope::kMessage)

// Where a batch of events came from: enumerator and label value. Journaled like the types.
#define TIMING_SIDECAR_EVENT_SOURCES(X) \
  X(kWebhook, "webhook")                \
  X(kFeed, "feed")                      \
  X(kDemo, "demo")                      \
  X(kFile, "file")

enum class EventScope { kTopic, kMessage };

#define TIMING_SIDECAR_ENUMERATOR(name, ...) name,
enum class EventType { TIMING_SIDECAR_EVENT_TYPES(TIMING_SIDECAR_ENUMERATOR) };
enum class EventSource { TIMING_SIDECAR_EVENT_SOURCES(TIMING_SIDECAR_ENUMERATOR) };
#undef TIMING_SIDECAR_ENUMERATOR

struct EventTypeInfo {
  EventType type;
  std::string_view name;
  EventScope scope;
};

struct EventSourceInfo {
  EventSource source;
  std::string_view name;
};

// Indexed by the enumerator's value.
#define TIMING_SIDECAR_TYPE_INFO(name, wire, scope) EventTypeInfo{EventType::name, wire, scope},
inline constexpr std::array kEventTypes = {TIMING_SIDECAR_EVENT_TYPES(TIMING_SIDECAR_TYPE_INFO)};
#undef TIMING_SIDECAR_TYPE_INFO

#define TIMING_SIDECAR_SOURCE_INFO(name, label) EventSourceInfo{EventSource::name, label},
inline constexpr std::array kEventSources = {
    TIMING_SIDECAR_EVENT_SOURCES(TIMING_SIDECAR_SOURCE_INFO)};
#undef TIMING_SIDECAR_SOURCE_INFO

// The wire name, e.g. "timer.enqueued".
constexpr std::string_view to_string(EventType type) {
  const auto index = static_cast<size_t>(type);
  return index < kEventTypes.size() ? kEventTypes[index].name : "unknown";
}
// The label value, e.g. "webhook".
constexpr std::string_view to_string(EventSource source) {
  const auto index = static_cast<size_t>(source);
  return index < kEventSources.size() ? kEventSources[index].name : "unknown";
}
// Whether an event of this type is about one message and so carries its id.
constexpr bool is_message_event(EventType type) {
  return kEventTypes[static_cast<size_t>(type)].scope == EventScope::kMessage;
}

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
  int64_t max_delay_ms = kDefaultTimerMaxDelayMs;
  // Broker and sidecar clocks differ a little: a delivery time up to this much beyond
  // now + max_delay is still accepted.
  int64_t clock_slack_ms = kDefaultTimerPrecisionMs;
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
