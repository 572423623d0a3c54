#pragma once

// Per-topic series values of one shard, kept in a slot table so that deleting a topic is O(1)
// and a scrape walks contiguous memory. The store is the scheduler's PhaseListener: the
// scheduler reports how messages move, the store keeps the counts those moves imply.
// Not thread-safe: the owning shard locks.

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "timing_sidecar/catalog.hpp"
#include "timing_sidecar/scheduler.hpp"

namespace timing_sidecar {

struct TopicSeries {
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
  // A store may share its names with the shard's catalog.
  explicit SeriesStore(std::shared_ptr<TopicNames> names = std::make_shared<TopicNames>());

  // The topic's slot, created with zero values when absent.
  SeriesSlot find_or_add(std::string_view topic);
  std::optional<SeriesSlot> find(std::string_view topic) const;
  // The same, for a caller that has the topic's id in the names it shares with the store.
  SeriesSlot find_or_add(TopicId topic);
  std::optional<SeriesSlot> find(TopicId topic) const;
  void remove(SeriesSlot slot);

  TopicSeries& at(SeriesSlot slot) { return slots_[slot.value]; }
  const TopicSeries& at(SeriesSlot slot) const { return slots_[slot.value]; }
  TopicId topic_of(SeriesSlot slot) const { return slot_topics_[slot.value]; }
  // Stays valid as long as the names do, even after the slot is removed.
  std::string_view name(SeriesSlot slot) const { return names_->name(topic_of(slot)); }
  size_t size() const { return size_; }

  template <typename Visit>
  void for_each(Visit&& visit) const {
    for (uint32_t slot = 0; slot < slots_.size(); ++slot) {
      if (slot_topics_[slot] != TopicNames::kAbsent) visit(SeriesSlot(slot), slots_[slot]);
    }
  }

  void on_added(SeriesSlot slot, Phase phase) override;
  void on_moved(SeriesSlot slot, Phase from, Phase to) override;
  void on_removed(SeriesSlot slot, Phase phase) override;

 private:
  static constexpr SeriesSlot kNoSlot{0xFFFF'FFFF};

  uint32_t& count_of(TopicSeries& series, Phase phase);

  std::shared_ptr<TopicNames> names_;
  std::vector<TopicSeries> slots_;
  std::vector<TopicId> slot_topics_;     // by slot; TopicNames::kAbsent marks a free slot
  std::vector<SeriesSlot> topic_slots_;  // by TopicId; kNoSlot when the topic has no series
  std::vector<SeriesSlot> free_slots_;
  size_t size_ = 0;
};

}  // namespace timing_sidecar
