#pragma once

// The broker feed's replies, read: no I/O.

#include <cstdint>
#include <string_view>
#include <variant>
#include <vector>

#include "timing_sidecar/events.hpp"
#include "timing_sidecar/rocketmq_files.hpp"

namespace timing_sidecar {

// One GET /v1/events reply: {"revision":R,"events":[...]}, R being the broker's revision when it
// answered. Every event must carry its revision: without them the feed cannot be resumed.
struct FeedReply {
  int64_t revision = 0;
  std::vector<Event> events;
};

// SourceError::reason is "malformed" (not such a reply) or "invalid_event" (a reply whose events
// parse_events refuses; the message says which and why).
std::variant<FeedReply, SourceError> parse_feed_reply(std::string_view body,
                                                      const EventLimits& limits);

// GET /v1/topics: {"revision":R,"topics":[{"name":"T","messageType":"DELAY","timing":N},...]}.
ParsedTopicsResult parse_broker_topics(std::string_view body, int64_t requested_at_ms);

}  // namespace timing_sidecar
