// The scheduler's id index: which record holds a (topic, id). Hashing and comparing ids is the
// caller's; the index keeps record positions only.
#pragma once

#include <emmintrin.h>  // SSE2, part of x86-64

#include <array>
#include <cstddef>
#include <cstdint>

#include "large_buffer.hpp"
#include "timing_sidecar/timing_wheel.hpp"

namespace timing_sidecar {

// An open-addressing hash set of record positions in the Swiss-table manner: a control byte per
// slot holds 7 bits of the hash, so a probe rarely reads a record that does not match. A group
// of 12 control bytes and their 12 positions fills one cache line, so a lookup misses the cache
// once before it reaches the record.
class IdIndex {
 public:
  IdIndex() { reset(0); }

  size_t size() const { return size_; }
  bool has_room() const { return size_ + tombstones_ < max_load(group_mask_ + 1); }
  size_t memory_bytes() const { return groups_.bytes(); }

  // Where find() met a position; `position` is kNoNode when none matched.
  struct Entry {
    uint32_t position = kNoNode;
    size_t group = 0;
    int slot = 0;
  };

  // The entry whose position satisfies matches(position).
  template <typename Matches>
  Entry find(uint64_t hash, Matches matches) const {
    for (Probe probe(hash, group_mask_);; probe.next()) {
      const Group& group = groups_.as<Group>()[probe.group];
      for (uint32_t hits = group.match(tag_of(hash)); hits != 0; hits &= hits - 1) {
        const int slot = __builtin_ctz(hits);
        if (matches(group.positions[slot])) return {group.positions[slot], probe.group, slot};
      }
      if (group.match(kEmpty) != 0) return {};
    }
  }

  void prefetch(uint64_t hash) const {
    __builtin_prefetch(&groups_.as<Group>()[Probe(hash, group_mask_).group]);
  }

  // Requires has_room() and a key not yet present.
  void insert(uint64_t hash, uint32_t position) {
    for (Probe probe(hash, group_mask_);; probe.next()) {
      Group& group = groups_.as<Group>()[probe.group];
      const uint32_t free_slots = group.match_empty_or_deleted();
      if (free_slots == 0) continue;
      const int slot = __builtin_ctz(free_slots);
      tombstones_ -= group.ctrl[slot] == kDeleted;
      group.ctrl[slot] = tag_of(hash);
      group.positions[slot] = position;
      ++size_;
      return;
    }
  }

  void erase(const Entry& entry) {
    Group& group = groups_.as<Group>()[entry.group];
    // A group that still has an empty slot never made a probe go past it, so the slot can
    // become empty; otherwise a tombstone keeps later groups reachable.
    const bool keeps_probes_going = group.match(kEmpty) == 0;
    group.ctrl[entry.slot] = keeps_probes_going ? kDeleted : kEmpty;
    tombstones_ += keeps_probes_going;
    --size_;
  }

  // Empties the index and sizes it to hold `entries` without growing.
  void reset(size_t entries) {
    size_t groups = 1;
    while (max_load(groups) < entries) groups *= 2;
    groups_ = LargeBuffer(groups * sizeof(Group));
    for (size_t i = 0; i < groups; ++i) groups_.as<Group>()[i].ctrl.fill(kEmpty);
    group_mask_ = groups - 1;
    size_ = 0;
    tombstones_ = 0;
  }

 private:
  static constexpr int kSlotsPerGroup = 12;
  static constexpr uint8_t kEmpty = 0x80;
  static constexpr uint8_t kDeleted = 0xFE;

  struct alignas(64) Group {
    std::array<uint8_t, 16> ctrl;  // the last 4 stay empty and are never matched
    std::array<uint32_t, kSlotsPerGroup> positions;

    uint32_t match(uint8_t ctrl_byte) const {
      return slots_of(_mm_cmpeq_epi8(load(), _mm_set1_epi8(static_cast<char>(ctrl_byte))));
    }
    // Both kEmpty and kDeleted have the high bit set; tags never do.
    uint32_t match_empty_or_deleted() const { return slots_of(load()); }
    __m128i load() const { return _mm_load_si128(reinterpret_cast<const __m128i*>(ctrl.data())); }
    static uint32_t slots_of(__m128i byte_mask) {
      return static_cast<uint32_t>(_mm_movemask_epi8(byte_mask)) & ((1u << kSlotsPerGroup) - 1);
    }
  };
  static_assert(sizeof(Group) == 64);

  // Triangular probing over whole groups visits every group of a power-of-two table.
  struct Probe {
    Probe(uint64_t hash, size_t mask) : group((hash >> 7) & mask), mask(mask) {}
    void next() { group = (group + ++step) & mask; }
    size_t group;
    size_t mask;
    size_t step = 0;
  };

  static size_t max_load(size_t groups) { return groups * kSlotsPerGroup * 7 / 8; }
  static uint8_t tag_of(uint64_t hash) { return hash & 0x7F; }

  LargeBuffer groups_;
  size_t group_mask_ = 0;
  size_t size_ = 0;
  size_t tombstones_ = 0;
};

}  // namespace timing_sidecar
