#pragma once

// The Prometheus text format (0.0.4) for the per-topic families, written at scrape time from the
// series stores. Label blocks are assembled from pre-escaped pieces: valid topic names never need
// escaping, and the constant labels are escaped once.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "timing_sidecar/scheduler.hpp"
#include "timing_sidecar/series_store.hpp"

namespace timing_sidecar {

inline constexpr std::string_view kTextContentType = "text/plain; version=0.0.4; charset=utf-8";

// Escapes a label value: backslash, double quote and line feed.
std::string escape_label_value(std::string_view value);

void append_family_header(std::string& out, std::string_view name, std::string_view type,
                          std::string_view help);

struct ConstantLabels {
  std::string cluster;  // empty: the label is left out
  std::string node_id;
};

// Writes the per-topic families. Feed it every shard's store (each under that shard's lock, so a
// topic's series come from one consistent moment), then finish() appends the whole exposition.
class TopicFamiliesWriter {
 public:
  TopicFamiliesWriter(const ConstantLabels& labels, bool snapshot_per_topic);

  void add(const SeriesStore& store);
  void finish(std::string& out);

  // Series a topic contributes, for timing_sidecar_series_removed_total.
  static size_t series_per_topic(bool snapshot_per_topic);

 private:
  enum Family { kPending, kEnqueued, kDequeued, kOverdue, kSnapshot, kFamilyCount };

  void append_sample(Family family, const std::string& topic, std::string_view extra_label,
                     uint64_t value);

  std::string constant_prefix_;  // e.g. `cluster="c",node_id="n",`
  bool snapshot_per_topic_;
  std::array<std::string, kFamilyCount> bodies_;
  std::array<uint64_t, kSnapshotRanges> broker_wide_ranges_{};
};

}  // namespace timing_sidecar
