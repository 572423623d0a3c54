// libFuzzer target for parse_events: besides crashes and sanitizer reports, it checks the
// promises callers rely on: accepted events are valid, errors carry a known reason and a short,
// printable message.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <variant>

#include "timing_sidecar/events.hpp"

namespace {

using namespace timing_sidecar;

constexpr int64_t kNowMs = 1'700'000'000'000;
// Generous: the longest message is a few fixed phrases plus one or two capped echoes.
constexpr size_t kMaxMessageBytes = 512;

void require(bool condition) {
  if (!condition) std::abort();
}

bool is_printable_ascii(std::string_view text) {
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte >= 0x7f) return false;
  }
  return true;
}

bool is_known_reason(std::string_view reason) {
  return reason == "malformed_json" || reason == "invalid_field" || reason == "unknown_type" ||
         reason == "invalid_topic" || reason == "invalid_time";
}

bool is_timer_event(EventType type) {
  return type == EventType::kTimerEnqueued || type == EventType::kTimerDequeued ||
         type == EventType::kTimerCancelled;
}

void check_accepted(const Event& event, const EventLimits& limits) {
  require(is_valid_topic_name(event.topic));
  if (is_timer_event(event.type)) {
    require(!event.id.empty() && event.id.size() <= kMaxMessageIdLength);
  }
  if (event.type == EventType::kTimerEnqueued) {
    require(event.deliver_at_ms >= kEarliestPlausibleEpochMs);
    require(event.deliver_at_ms <= limits.now_ms + limits.max_delay_ms + limits.clock_slack_ms);
  }
  require(!event.revision || *event.revision >= 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  EventLimits limits;
  limits.now_ms = kNowMs;
  const std::string_view body(reinterpret_cast<const char*>(data), size);

  const ParseResult result = parse_events(body, limits);
  if (const auto* error = std::get_if<EventError>(&result)) {
    require(is_known_reason(error->reason));
    require(!error->message.empty() && error->message.size() <= kMaxMessageBytes);
    require(is_printable_ascii(error->message));
    return 0;
  }
  for (const Event& event : std::get<std::vector<Event>>(result)) check_accepted(event, limits);
  return 0;
}
