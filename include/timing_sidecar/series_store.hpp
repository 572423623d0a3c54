#pragma once

// Per-topic series values of one shard, kept in a slot table so that deleting a topic is O(1)
// and a scrape walks contiguous memory. The store is the scheduler's PhaseListener: the
// scheduler reports how messages move, the store keeps the counts those moves imply.
// Not thread-safe: the owning shard locks.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "timing_sidecar/scheduler.hpp"

namespace timing_sidecar {

struct TopicSeries {
  const std::string* name = nullptr;  // the index's key; null marks a free slot
  uint64_t enqueued = 0;
  uint64_t dequeued = 0;
  uint32_t pending = 0;  // every phase: the ranges, due and overdue
  uint32_t due = 0;      // due, not yet overdue
  uint32_t overdue = 0;
  std::array<uint32_t, kSnapshotRanges> ranges{};
  // Pending messages the broker counts but whose events were never seen (adopted from its own
  // count after a gap, or mirrored from timermetrics); negative when messages seen here were
  // delivered unseen. Non-zero means the topic's message-level state is incomplete.
  int32_t unseen = 0;
  bool has_message_events = false;

  uint32_t exposed_pending() const {
    const int64_t total = static_cast<int64_t>(pending) + unseen;
    return total < 0 ? 0 : static_cast<uint32_t>(total);
  }
};

class SeriesStore final : public PhaseListener {
 public:
  // The topic's slot, created with zero values when absent.
  TopicKey find_or_add(const std::string& topic);
  std::optional<TopicKey> find(const std::string& topic) const;
  void remove(TopicKey slot);

  TopicSeries& at(TopicKey slot) { return slots_[slot]; }
  const TopicSeries& at(TopicKey slot) const { return slots_[slot]; }
  size_t size() const { return index_.size(); }

  template <typename Visit>
  void for_each(Visit&& visit) const {
    for (TopicKey slot = 0; slot < slots_.size(); ++slot) {
      if (slots_[slot].name != nullptr) visit(slot, slots_[slot]);
    }
  }

  void on_added(TopicKey topic, Phase phase) override;
  void on_moved(TopicKey topic, Phase from, Phase to) override;
  void on_removed(TopicKey topic, Phase phase) override;

 private:
  uint32_t& count_of(TopicSeries& series, Phase phase);

  std::unordered_map<std::string, TopicKey> index_;
  std::vector<TopicSeries> slots_;
  std::vector<TopicKey> free_slots_;
};

}  // namespace timing_sidecar
