#pragma once

// The broker feed's JSON (README "The broker API the sidecar consumes"), written by hand as a
// broker would: what the feed's parser and its state machine are fed in the unit tests.

#include <cstdint>
#include <string>
#include <vector>

namespace timing_sidecar::testing {

inline std::string feed_created(const std::string& topic, int64_t revision) {
  return R"({"type":"topic.created","topic":")" + topic + R"(","revision":)" +
         std::to_string(revision) + "}";
}

inline std::string feed_enqueued(const std::string& topic, const std::string& id, int64_t revision,
                                 int64_t deliver_at_ms) {
  return R"({"type":"timer.enqueued","topic":")" + topic + R"(","id":")" + id +
         R"(","deliverAtMs":)" + std::to_string(deliver_at_ms) + R"(,"revision":)" +
         std::to_string(revision) + "}";
}

// A GET /v1/events reply: the feed's revision and its events.
inline std::string feed_batch(int64_t revision, const std::vector<std::string>& events) {
  std::string body = R"({"revision":)" + std::to_string(revision) + R"(,"events":[)";
  for (size_t i = 0; i < events.size(); ++i) body += (i > 0 ? "," : "") + events[i];
  return body + "]}";
}

}  // namespace timing_sidecar::testing
