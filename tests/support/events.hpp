#pragma once

// Events written in one line, for tests that feed the engine directly.

#include <cstdint>
#include <optional>
#include <string>

#include "timing_sidecar/events.hpp"

namespace timing_sidecar::testing {

inline Event make_event(EventType type, const std::string& topic, const std::string& id = "",
                        int64_t deliver_at_ms = 0, std::optional<int64_t> revision = {}) {
  Event event;
  event.type = type;
  event.topic = topic;
  event.id = id;
  event.deliver_at_ms = deliver_at_ms;
  event.revision = revision;
  return event;
}

}  // namespace timing_sidecar::testing
