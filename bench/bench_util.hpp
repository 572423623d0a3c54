#pragma once

// What every benchmark program under bench/ needs: command-line counts and medians.

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <vector>

namespace bench {

// A positive decimal integer, or nullopt.
inline std::optional<size_t> parse_count(const char* text) {
  char* end = nullptr;
  const unsigned long long value = std::strtoull(text, &end, 10);
  if (end == text || *end != '\0' || value == 0) return std::nullopt;
  return static_cast<size_t>(value);
}

inline double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const size_t middle = values.size() / 2;
  return values.size() % 2 == 1 ? values[middle] : (values[middle - 1] + values[middle]) / 2;
}

}  // namespace bench
