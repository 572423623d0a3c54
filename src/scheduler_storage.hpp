// Private to scheduler.cpp, its only includer: how the scheduler stores pending messages (the
// records, their ids, the id index and the slab), apart from the scheduling itself.
#pragma once

#include <emmintrin.h>  // SSE2, part of x86-64
#include <sys/mman.h>

#include <array>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>
#include <stdexcept>
#include <string_view>
#include <vector>

#include "timing_sidecar/scheduler.hpp"
#include "timing_sidecar/timing_wheel.hpp"

// Memory layout, sized for ten million pending messages per shard: each message is one 48-byte
// record in a slab addressed by uint32 index; the id index is an open-addressing table of
// record indices (5.3 bytes a slot); timers and topics thread intrusive lists through the records.

namespace timing_sidecar {
namespace {

constexpr size_t kMaxIdLength = 128;

// How a record holds its id. Values 1..kMaxInlineLength are the length of a raw id kept inline.
enum IdForm : uint8_t { kFreeRecord = 0, kMaxInlineLength = 16, kHexUpper, kHexLower, kOutOfLine };

struct Record {
  int64_t deliver_at_ms;
  // The 16 bytes a 32-digit hex id decodes to, a short id verbatim (zero-padded), or for an
  // out-of-line id its index in the long-id store.
  std::array<uint8_t, 16> id;
  WheelHook timer;  // also links free records
  uint32_t topic_prev;
  uint32_t topic_next;
  uint32_t topic;  // the SeriesSlot's value
  Phase phase;
  uint8_t id_form;
};
static_assert(sizeof(Record) == 48);

// An id as it is looked up: encoded as a record would hold it, so comparing is a memcmp.
struct EncodedId {
  uint8_t form = kFreeRecord;
  std::array<uint8_t, 16> bytes{};
  std::string_view text;  // kOutOfLine only
};

// Sixteen hex characters as eight bytes (garbage unless all are hex digits), and which of the
// characters fit each spelling of hex: bit i set when character i does.
struct HexHalf {
  __m128i byte_pairs;  // one decoded byte in the low half of each 16-bit lane
  uint32_t fits_upper;
  uint32_t fits_lower;
};

inline __attribute__((always_inline)) HexHalf decode_hex_half(const char* text) {
  const __m128i chars = _mm_loadu_si128(reinterpret_cast<const __m128i*>(text));
  // Signed compares: bytes >= 0x80 are negative and fall outside every range.
  const auto in_range = [&](char low, char high) {
    return _mm_and_si128(_mm_cmpgt_epi8(chars, _mm_set1_epi8(static_cast<char>(low - 1))),
                         _mm_cmplt_epi8(chars, _mm_set1_epi8(static_cast<char>(high + 1))));
  };
  const __m128i digit = in_range('0', '9');
  const __m128i upper = in_range('A', 'F');
  const __m128i lower = in_range('a', 'f');
  // Setting bit 0x20 folds 'A'..'F' onto 'a'..'f' and leaves digits alone.
  const __m128i folded = _mm_or_si128(chars, _mm_set1_epi8(0x20));
  const __m128i offset = _mm_or_si128(_mm_and_si128(digit, _mm_set1_epi8('0')),
                                      _mm_andnot_si128(digit, _mm_set1_epi8('a' - 10)));
  const __m128i nibbles = _mm_sub_epi8(folded, offset);
  // Text order puts the high nibble first, so in a little-endian lane it is the low byte.
  const __m128i byte_pairs =
      _mm_or_si128(_mm_and_si128(_mm_slli_epi16(nibbles, 4), _mm_set1_epi16(0x00F0)),
                   _mm_srli_epi16(nibbles, 8));
  return {byte_pairs, static_cast<uint32_t>(_mm_movemask_epi8(_mm_or_si128(digit, upper))),
          static_cast<uint32_t>(_mm_movemask_epi8(_mm_or_si128(digit, lower)))};
}

// A 32-digit hex id of one spelling, decoded; false for any other 32-byte id.
bool decode_hex_id(std::string_view id, EncodedId& encoded) {
  const HexHalf first = decode_hex_half(id.data());
  const HexHalf second = decode_hex_half(id.data() + 16);
  constexpr uint32_t kAllFit = 0xFFFF;
  // An all-digit id fits both spellings: preferring upper keeps the encoding one-to-one.
  if ((first.fits_upper & second.fits_upper) == kAllFit) {
    encoded.form = kHexUpper;
  } else if ((first.fits_lower & second.fits_lower) == kAllFit) {
    encoded.form = kHexLower;
  } else {
    return false;
  }
  _mm_storeu_si128(reinterpret_cast<__m128i*>(encoded.bytes.data()),
                   _mm_packus_epi16(first.byte_pairs, second.byte_pairs));
  return true;
}

EncodedId encode_id(std::string_view id) {
  EncodedId encoded;
  if (id.size() == 32 && decode_hex_id(id, encoded)) return encoded;
  if (id.size() <= kMaxInlineLength) {
    encoded.form = static_cast<uint8_t>(id.size());
    std::memcpy(encoded.bytes.data(), id.data(), id.size());
  } else {
    encoded.form = kOutOfLine;
    encoded.text = id;
  }
  return encoded;
}

// wyhash-style multiply-fold mixing: fast, and good enough for a table that checks keys.
__extension__ using Uint128 = unsigned __int128;
uint64_t mix(uint64_t a, uint64_t b) {
  const Uint128 product = static_cast<Uint128>(a) * b;
  return static_cast<uint64_t>(product) ^ static_cast<uint64_t>(product >> 64);
}

constexpr uint64_t kHashSeed0 = 0xa0761d6478bd642f;
constexpr uint64_t kHashSeed1 = 0xe7037ed1a0b428db;
constexpr uint64_t kHashSeed2 = 0x8ebc6af09c88c6e3;

uint64_t hash_block(const uint8_t* block, uint64_t state) {
  uint64_t words[2];
  std::memcpy(words, block, sizeof(words));
  return mix(words[0] ^ kHashSeed0, words[1] ^ state);
}

uint64_t finish_hash(uint64_t state, uint32_t topic, uint8_t form) {
  return mix(state ^ (uint64_t{topic} << 8 | form), kHashSeed1);
}

// Ids held inline: hashed as their 16 stored bytes.
uint64_t hash_inline_id(uint32_t topic, uint8_t form, const std::array<uint8_t, 16>& bytes) {
  return finish_hash(hash_block(bytes.data(), kHashSeed2), topic, form);
}

uint64_t hash_out_of_line_id(uint32_t topic, std::string_view text) {
  uint64_t state = kHashSeed2 ^ text.size();
  std::array<uint8_t, 16> block;
  for (size_t offset = 0; offset < text.size(); offset += block.size()) {
    block.fill(0);
    std::memcpy(block.data(), text.data() + offset, std::min(block.size(), text.size() - offset));
    state = hash_block(block.data(), state);
  }
  return finish_hash(state, topic, kOutOfLine);
}

// Zero-filled memory for the big arrays, on transparent huge pages where the kernel grants
// them: random access over hundreds of megabytes of 4 KiB pages adds a TLB miss and a page
// walk to nearly every cache miss (a third slower in our measurements on this VM).
class LargeBuffer {
 public:
  LargeBuffer() = default;
  explicit LargeBuffer(size_t bytes) {
    if (bytes < kHugePageBytes) {
      bytes_ = round_up(bytes, kCacheLineBytes);
      data_ = std::aligned_alloc(kCacheLineBytes, bytes_);
      if (data_ == nullptr) throw std::bad_alloc();
      std::memset(data_, 0, bytes_);
      return;
    }
    // Over-map by one huge page so that the kept part can start on a huge-page boundary.
    const size_t length = round_up(bytes, kHugePageBytes);
    const size_t mapped = length + kHugePageBytes;
    void* region =
        mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (region == MAP_FAILED) throw std::bad_alloc();
    const uintptr_t start = reinterpret_cast<uintptr_t>(region);
    const uintptr_t aligned = round_up(start, kHugePageBytes);
    if (aligned > start) munmap(region, aligned - start);
    munmap(reinterpret_cast<void*>(aligned + length), start + mapped - (aligned + length));
    data_ = reinterpret_cast<void*>(aligned);
    bytes_ = length;
    mapped_ = true;
    madvise(data_, length, MADV_HUGEPAGE);  // advisory: without it the pages are just smaller
  }
  LargeBuffer(LargeBuffer&& other) noexcept { swap(other); }
  LargeBuffer& operator=(LargeBuffer&& other) noexcept {
    LargeBuffer(std::move(other)).swap(*this);
    return *this;
  }
  ~LargeBuffer() {
    if (mapped_) {
      munmap(data_, bytes_);
    } else {
      std::free(data_);
    }
  }

  template <typename T>
  T* as() const {
    return static_cast<T*>(data_);
  }
  size_t bytes() const { return bytes_; }

  // Huge pages (true) or none (false) for the pages touched from now on, whatever the system's
  // default; advisory, as above.
  void advise_huge_pages(bool huge) const {
    if (mapped_) madvise(data_, bytes_, huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
  }

 private:
  static constexpr size_t kHugePageBytes = size_t{2} << 20;
  static constexpr size_t kCacheLineBytes = 64;
  static size_t round_up(size_t value, size_t multiple) {
    return (value + multiple - 1) / multiple * multiple;
  }
  void swap(LargeBuffer& other) noexcept {
    std::swap(data_, other.data_);
    std::swap(bytes_, other.bytes_);
    std::swap(mapped_, other.mapped_);
  }

  void* data_ = nullptr;
  size_t bytes_ = 0;
  bool mapped_ = false;
};

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

int64_t saturating_add(int64_t a, int64_t b) {
  int64_t sum;
  if (!__builtin_add_overflow(a, b, &sum)) return sum;
  return b > 0 ? std::numeric_limits<int64_t>::max() : std::numeric_limits<int64_t>::min();
}

// A record's id as it was enqueued; `hex` holds the text of a decoded hex id.
std::string_view id_text(const Record& record, std::string_view long_id,
                         char (&hex)[2 * sizeof(Record::id)]) {
  if (record.id_form == kOutOfLine) return long_id;
  if (record.id_form == kHexUpper || record.id_form == kHexLower) {
    const char* digits = record.id_form == kHexUpper ? "0123456789ABCDEF" : "0123456789abcdef";
    for (size_t i = 0; i < record.id.size(); ++i) {
      hex[2 * i] = digits[record.id[i] >> 4];
      hex[2 * i + 1] = digits[record.id[i] & 15];
    }
    return {hex, sizeof(hex)};
  }
  return {reinterpret_cast<const char*>(record.id.data()), record.id_form};
}

}  // namespace
}  // namespace timing_sidecar
