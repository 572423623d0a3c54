#include "timing_sidecar/duration.hpp"

#include <array>
#include <charconv>

namespace timing_sidecar {

namespace {

struct Unit {
  std::string_view suffix;
  int64_t ms;
};

// Longest suffix first so that "ms" is not read as "m".
constexpr std::array<Unit, 7> kDurationUnits = {{{"ms", 1},
                                                 {"s", 1000},
                                                 {"m", 60'000},
                                                 {"h", 3'600'000},
                                                 {"d", 86'400'000},
                                                 {"w", 604'800'000},
                                                 {"y", 31'536'000'000}}};

}  // namespace

std::optional<int64_t> parse_duration_ms(std::string_view text) {
  if (text.empty()) return std::nullopt;
  int64_t total = 0;
  while (!text.empty()) {
    int64_t number = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), number);
    if (error != std::errc() || end == text.data()) return std::nullopt;
    text.remove_prefix(static_cast<size_t>(end - text.data()));
    const Unit* unit = nullptr;
    for (const Unit& candidate : kDurationUnits) {
      if (text.substr(0, candidate.suffix.size()) == candidate.suffix) {
        unit = &candidate;
        break;
      }
    }
    if (unit == nullptr || number < 0) return std::nullopt;
    if (number > (INT64_MAX - total) / unit->ms) return std::nullopt;
    total += number * unit->ms;
    text.remove_prefix(unit->suffix.size());
  }
  return total;
}

std::string format_duration(int64_t ms) {
  if (ms == 0) return "0s";
  std::string text;
  for (size_t index = kDurationUnits.size(); index-- > 0;) {
    const Unit& unit = kDurationUnits[index];
    if (unit.suffix == "y" || unit.suffix == "w") continue;  // days read better than weeks
    if (ms >= unit.ms) {
      text += std::to_string(ms / unit.ms) + std::string(unit.suffix);
      ms %= unit.ms;
    }
  }
  return text;
}

}  // namespace timing_sidecar
