// The scheduler's records, in chunks of huge pages.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "large_buffer.hpp"
#include "pending_record.hpp"
#include "timing_sidecar/timing_wheel.hpp"

namespace timing_sidecar {

// Fixed-size records in chunks, so growing never moves a record nor over-allocates by more
// than one chunk; freed records are reused first.
class RecordSlab {
 public:
  Record& operator[](uint32_t index) {
    return chunks_[index >> kChunkBits].as<Record>()[index & kChunkMask];
  }
  const Record& operator[](uint32_t index) const {
    return chunks_[index >> kChunkBits].as<Record>()[index & kChunkMask];
  }
  WheelHook& hook(uint32_t index) { return (*this)[index].timer; }

  uint32_t allocate() {
    if (free_head_ != kNoNode) {
      const uint32_t index = free_head_;
      free_head_ = (*this)[index].timer.next;
      return index;
    }
    if (used_ == TimingWheel<RecordSlab>::kMaxNodes) throw std::length_error("scheduler is full");
    if ((used_ & kChunkMask) == 0) {
      chunks_.emplace_back(kChunkSize * sizeof(Record));
      // The first chunk stays on small pages: a huge page would hold 2 MiB for a shard's first
      // few records (32 MiB over 16 shards at a few thousand pending messages), and rounds up
      // each shard by up to 2 MiB. 6 MiB of records are within the TLB's reach of small pages.
      if (chunks_.size() == 1) chunks_.back().advise_huge_pages(false);
    }
    return used_++;
  }

  void release(uint32_t index) {
    Record& record = (*this)[index];
    record.id_form = kFreeRecord;
    record.timer.next = free_head_;
    free_head_ = index;
  }

  template <typename Visit>
  void for_each_live(Visit visit) const {
    for (uint32_t index = 0; index < used_; ++index) {
      if ((*this)[index].id_form != kFreeRecord) visit(index, (*this)[index]);
    }
  }

  size_t memory_bytes() const {
    return chunks_.capacity() * sizeof(chunks_[0]) + chunks_.size() * kChunkSize * sizeof(Record);
  }

 private:
  // 2^17 records of 48 bytes fill three huge pages exactly.
  static constexpr int kChunkBits = 17;
  static constexpr uint32_t kChunkSize = uint32_t{1} << kChunkBits;
  static constexpr uint32_t kChunkMask = kChunkSize - 1;

  std::vector<LargeBuffer> chunks_;
  uint32_t used_ = 0;  // records ever handed out; all below are live or on the free list
  uint32_t free_head_ = kNoNode;
};

}  // namespace timing_sidecar
