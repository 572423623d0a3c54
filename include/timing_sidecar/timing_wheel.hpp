#pragma once

// A hierarchical timing wheel (Varghese & Lauck) over nodes that live in the owner's storage and
// are named by uint32 indices. Eleven levels of 64 slots cover every uint64 tick, so no deadline
// needs clamping or an overflow list. A timer sits at the level of the highest 6-bit digit in
// which its tick differs from the current tick; it is re-filed to a lower level only when the
// wheel enters its slot, so it cascades at most once per level.
//
// Per-level occupancy bitmaps let advance() jump any distance at a cost proportional to the
// timers it touches plus a few word operations per level: the wheel never steps through empty
// ticks.

#include <array>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <optional>

namespace timing_sidecar {

inline constexpr uint32_t kNoNode = 0xFFFF'FFFF;

// The intrusive links a node carries for the wheel. The head of a slot's list keeps
// kHeadMark | slot in `prev`, so unlinking finds the slot without a slot field in every node.
struct WheelHook {
  uint32_t prev;
  uint32_t next;
};

// Nodes must provide `WheelHook& hook(uint32_t node)`; node indices stay below kMaxNodes.
template <typename Nodes>
class TimingWheel {
 public:
  static constexpr uint32_t kMaxNodes = 0x8000'0000;

  explicit TimingWheel(Nodes& nodes) : nodes_(nodes) { heads_.fill(kNoNode); }

  size_t size() const { return size_; }

  // Arms `node` to expire at `tick`, which must lie after the wheel's current tick (the last
  // advance() target; 0 at first).
  void insert(uint32_t node, uint64_t tick) {
    assert(node < kMaxNodes && tick > current_tick_);
    const int level = (63 - __builtin_clzll(tick ^ current_tick_)) / kSlotBits;
    link(node, level * kSlotsPerLevel + digit(tick, level));
    ++size_;
  }

  void remove(uint32_t node) {
    const WheelHook hook = nodes_.hook(node);
    assert(hook.prev != kNoNode);
    if (hook.next != kNoNode) nodes_.hook(hook.next).prev = hook.prev;
    if (hook.prev & kHeadMark) {
      const uint32_t slot = hook.prev & ~kHeadMark;
      heads_[slot] = hook.next;
      if (hook.next == kNoNode) occupied_[slot / kSlotsPerLevel] &= ~bit(slot % kSlotsPerLevel);
    } else {
      nodes_.hook(hook.prev).next = hook.next;
    }
    --size_;
  }

  // Moves the wheel to `to_tick`. Every node in a slot the move opens is unlinked, then either
  // handed to on_expired(node) when tick_of(node) <= to_tick (which may insert it again, at a
  // tick after to_tick) or re-filed at its tick. Returns the number of nodes expired.
  template <typename TickOf, typename OnExpired>
  size_t advance(uint64_t to_tick, TickOf tick_of, OnExpired on_expired) {
    if (to_tick <= current_tick_) return 0;
    // Detach every opened list first: re-filing and re-arming then cannot land in a list still
    // being walked.
    std::array<uint32_t, kLevels * kSlotsPerLevel> opened_lists;
    size_t opened_count = 0;
    for (int level = 0; level < kLevels; ++level) {
      uint64_t opened = occupied_[level] & slots_opened(level, to_tick);
      occupied_[level] &= ~opened;
      for (; opened != 0; opened &= opened - 1) {
        const int slot = level * kSlotsPerLevel + __builtin_ctzll(opened);
        opened_lists[opened_count++] = heads_[slot];
        heads_[slot] = kNoNode;
      }
    }
    current_tick_ = to_tick;

    // Walk up to kLanes lists side by side: each lane's next node was prefetched a round ago,
    // so that many cache misses are in flight instead of one.
    std::array<uint32_t, kLanes> lane_nodes;
    size_t lists_started = 0;
    const auto start_next_list = [&](uint32_t& lane_node) {
      lane_node = lists_started < opened_count ? opened_lists[lists_started++] : kNoNode;
      if (lane_node != kNoNode) __builtin_prefetch(&nodes_.hook(lane_node));
      return lane_node != kNoNode;
    };
    size_t busy_lanes = 0;
    for (uint32_t& lane_node : lane_nodes) busy_lanes += start_next_list(lane_node);

    size_t expired = 0;
    while (busy_lanes > 0) {
      for (uint32_t& lane_node : lane_nodes) {
        const uint32_t node = lane_node;
        if (node == kNoNode) continue;
        WheelHook& hook = nodes_.hook(node);
        lane_node = hook.next;
        if (lane_node != kNoNode) {
          __builtin_prefetch(&nodes_.hook(lane_node));
        } else if (!start_next_list(lane_node)) {
          --busy_lanes;
        }
        hook = WheelHook{kNoNode, kNoNode};
        --size_;
        const uint64_t tick = tick_of(node);
        if (tick <= to_tick) {
          on_expired(node);
          ++expired;
        } else {
          insert(node, tick);
        }
      }
    }
    return expired;
  }

  // The first tick at which advance() opens a slot: exact for level 0, the start of the slot
  // (a lower bound of its timers) above. nullopt when empty.
  std::optional<uint64_t> next_tick() const {
    for (int level = 0; level < kLevels; ++level) {
      if (occupied_[level] == 0) continue;
      const int shift = level * kSlotBits;
      const uint64_t slot = __builtin_ctzll(occupied_[level]);
      return clear_low_bits(current_tick_, shift + kSlotBits) | (slot << shift);
    }
    return std::nullopt;
  }

 private:
  static constexpr int kSlotBits = 6;
  static constexpr int kSlotsPerLevel = 1 << kSlotBits;
  static constexpr int kLevels = (64 + kSlotBits - 1) / kSlotBits;
  static constexpr uint32_t kHeadMark = kMaxNodes;
  static constexpr size_t kLanes = 8;

  static uint64_t bit(int index) { return uint64_t{1} << index; }
  static uint64_t clear_low_bits(uint64_t value, int bits) {
    return bits >= 64 ? 0 : value >> bits << bits;
  }
  static int digit(uint64_t tick, int level) {
    return static_cast<int>(tick >> (level * kSlotBits)) & (kSlotsPerLevel - 1);
  }
  // Bits 0..d inclusive.
  static uint64_t digits_up_to(int d) { return d == 63 ? ~uint64_t{0} : bit(d + 1) - 1; }

  // The slots of `level` whose span the move from current_tick_ to `to_tick` reaches: all of
  // them once the digits above the level change, else those after the current digit up to and
  // including the new one.
  uint64_t slots_opened(int level, uint64_t to_tick) const {
    const int above = (level + 1) * kSlotBits;
    if (clear_low_bits(to_tick, above) != clear_low_bits(current_tick_, above)) return ~uint64_t{0};
    return digits_up_to(digit(to_tick, level)) & ~digits_up_to(digit(current_tick_, level));
  }

  void link(uint32_t node, int slot) {
    WheelHook& hook = nodes_.hook(node);
    const uint32_t old_head = heads_[slot];
    hook.prev = kHeadMark | static_cast<uint32_t>(slot);
    hook.next = old_head;
    if (old_head != kNoNode) {
      nodes_.hook(old_head).prev = node;
    } else {
      occupied_[slot / kSlotsPerLevel] |= bit(slot % kSlotsPerLevel);
    }
    heads_[slot] = node;
  }

  Nodes& nodes_;
  uint64_t current_tick_ = 0;
  size_t size_ = 0;
  std::array<uint64_t, kLevels> occupied_{};
  std::array<uint32_t, kLevels * kSlotsPerLevel> heads_;
};

}  // namespace timing_sidecar
