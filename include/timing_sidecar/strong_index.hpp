#pragma once

// A small integer that indexes one kind of table, as its own type: a topic's id in its
// TopicNames and a series slot in a SeriesStore are both uint32_t, and passing one where the
// other is meant must not compile. Built only explicitly; `value` is the index itself.

#include <cstdint>

namespace timing_sidecar {

template <typename Tag>
struct StrongIndex {
  uint32_t value = 0;

  constexpr StrongIndex() = default;
  constexpr explicit StrongIndex(uint32_t index) : value(index) {}

  friend constexpr bool operator==(StrongIndex a, StrongIndex b) { return a.value == b.value; }
  friend constexpr bool operator!=(StrongIndex a, StrongIndex b) { return a.value != b.value; }
  friend constexpr bool operator<(StrongIndex a, StrongIndex b) { return a.value < b.value; }
};

}  // namespace timing_sidecar
