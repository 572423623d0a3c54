#pragma once

// What the unit tests of the sources read back from the sidecar they feed: its topics, a topic's
// pending count and a scraped sample, as an operator would see them.

#include <cstdint>
#include <string>
#include <vector>

#include "support/metrics_text.hpp"
#include "timing_sidecar/sidecar.hpp"

namespace timing_sidecar::testing {

inline std::vector<std::string> topic_names(Sidecar& sidecar) {
  std::vector<std::string> names;
  for (const TopicSummary& summary : sidecar.engine().topics()) names.push_back(summary.name);
  return names;
}

// UINT32_MAX for a topic the sidecar does not hold.
inline uint32_t pending_of(Sidecar& sidecar, const std::string& topic) {
  for (const TopicSummary& summary : sidecar.engine().topics()) {
    if (summary.name == topic) return summary.pending;
  }
  return UINT32_MAX;
}

// The sample `series` of a fresh scrape, 0 when absent.
inline double scraped(Sidecar& sidecar, const std::string& series) {
  return parse_exposition(sidecar.scrape()).value(series, 0);
}

}  // namespace timing_sidecar::testing
