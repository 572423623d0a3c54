#pragma once

// Durations as flags, the config file and log lines write them: Prometheus's syntax.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace timing_sidecar {

// "500ms", "30s", "5m", "1h30m", "3d", "1w": Prometheus's duration syntax. nullopt if malformed.
std::optional<int64_t> parse_duration_ms(std::string_view text);
// The other way, in days and smaller units: 90000 is "1m30s".
std::string format_duration(int64_t ms);

}  // namespace timing_sidecar
