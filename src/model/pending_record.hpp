// How the scheduler holds one pending message: a 48-byte record, its id encoded (hex ids as
// the bytes they spell, short ids inline, long ones out of line), and the hash the id index
// files it under. Private to the scheduler and its tests.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string_view>

#include "hex_id.hpp"
#include "timing_sidecar/scheduler.hpp"
#include "timing_sidecar/timing_wheel.hpp"

// Memory layout, sized for ten million pending messages per shard: each message is one 48-byte
// record in a slab addressed by uint32 index; the id index is an open-addressing table of
// record indices (5.3 bytes a slot); timers and topics thread intrusive lists through the records.

namespace timing_sidecar {

inline constexpr size_t kMaxIdLength = 128;

// How a record holds its id. Values 1..kMaxInlineLength are the length of a raw id kept inline.
enum IdForm : uint8_t { kFreeRecord = 0, kMaxInlineLength = 16, kHexUpper, kHexLower, kOutOfLine };

struct Record {
  int64_t deliver_at_ms;
  // The 16 bytes a 32-digit hex id decodes to, a short id verbatim (zero-padded), or for an
  // out-of-line id its index in the long-id store.
  HexIdBytes id;
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
  HexIdBytes bytes{};     // zero-padded: inline ids compare as all 16 bytes
  std::string_view text;  // kOutOfLine only
};

// The id as a record holds it.
inline EncodedId encode_id(std::string_view id) {
  EncodedId encoded;
  if (const std::optional<HexCase> letter_case = decode_hex_id(id, encoded.bytes)) {
    encoded.form = *letter_case == HexCase::kUpper ? kHexUpper : kHexLower;
  } else if (id.size() <= kMaxInlineLength) {
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
inline uint64_t mix(uint64_t a, uint64_t b) {
  const Uint128 product = static_cast<Uint128>(a) * b;
  return static_cast<uint64_t>(product) ^ static_cast<uint64_t>(product >> 64);
}

inline constexpr uint64_t kHashSeed0 = 0xa0761d6478bd642f;
inline constexpr uint64_t kHashSeed1 = 0xe7037ed1a0b428db;
inline constexpr uint64_t kHashSeed2 = 0x8ebc6af09c88c6e3;

inline uint64_t hash_block(const uint8_t* block, uint64_t state) {
  uint64_t words[2];
  std::memcpy(words, block, sizeof(words));
  return mix(words[0] ^ kHashSeed0, words[1] ^ state);
}

inline uint64_t finish_hash(uint64_t state, uint32_t topic, uint8_t form) {
  return mix(state ^ (uint64_t{topic} << 8 | form), kHashSeed1);
}

// Ids held inline: hashed as their 16 stored bytes.
inline uint64_t hash_inline_id(uint32_t topic, uint8_t form, const HexIdBytes& bytes) {
  return finish_hash(hash_block(bytes.data(), kHashSeed2), topic, form);
}

inline uint64_t hash_out_of_line_id(uint32_t topic, std::string_view text) {
  uint64_t state = kHashSeed2 ^ text.size();
  std::array<uint8_t, 16> block;
  for (size_t offset = 0; offset < text.size(); offset += block.size()) {
    block.fill(0);
    std::memcpy(block.data(), text.data() + offset, std::min(block.size(), text.size() - offset));
    state = hash_block(block.data(), state);
  }
  return finish_hash(state, topic, kOutOfLine);
}

// A record's id as it was enqueued; `hex` holds the text of a decoded hex id.
inline std::string_view id_text(const Record& record, std::string_view long_id,
                                char (&hex)[kHexIdLength]) {
  if (record.id_form == kOutOfLine) return long_id;
  if (record.id_form == kHexUpper || record.id_form == kHexLower) {
    return spell_hex_id(record.id, record.id_form == kHexUpper ? HexCase::kUpper : HexCase::kLower,
                        hex);
  }
  return {reinterpret_cast<const char*>(record.id.data()), record.id_form};
}

}  // namespace timing_sidecar
