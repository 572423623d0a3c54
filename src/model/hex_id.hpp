// Message ids as the bytes their hex digits spell. RocketMQ's ids are mostly 32 hex digits: kept
// as 16 bytes and the case of their letters they take half the room and compare as two words.
// The one codec for the scheduler's records and the snapshot's pending messages.
#pragma once

#include <emmintrin.h>  // SSE2, part of x86-64

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace timing_sidecar {

inline constexpr size_t kHexIdLength = 32;
using HexIdBytes = std::array<uint8_t, kHexIdLength / 2>;

enum class HexCase : uint8_t { kUpper, kLower };

namespace hex_id_detail {

// Sixteen hex characters as eight bytes (garbage unless all are hex digits), and which of the
// characters fit each case of hex: bit i set when character i does.
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

}  // namespace hex_id_detail

// For an id of 32 hex digits whose letters are all of one case, writes the bytes they spell and
// returns that case; an all-digit id counts as upper case, so that every id has one encoding.
// Any other id: nullopt, and `bytes` is left as it was. Inline: the scheduler decodes on every
// event.
inline std::optional<HexCase> decode_hex_id(std::string_view id, HexIdBytes& bytes) {
  if (id.size() != kHexIdLength) return std::nullopt;
  const hex_id_detail::HexHalf first = hex_id_detail::decode_hex_half(id.data());
  const hex_id_detail::HexHalf second = hex_id_detail::decode_hex_half(id.data() + 16);
  constexpr uint32_t kAllFit = 0xFFFF;
  std::optional<HexCase> letter_case;
  if ((first.fits_upper & second.fits_upper) == kAllFit) {
    letter_case = HexCase::kUpper;
  } else if ((first.fits_lower & second.fits_lower) == kAllFit) {
    letter_case = HexCase::kLower;
  } else {
    return std::nullopt;
  }
  _mm_storeu_si128(reinterpret_cast<__m128i*>(bytes.data()),
                   _mm_packus_epi16(first.byte_pairs, second.byte_pairs));
  return letter_case;
}

// The 32 digits that `bytes` spell in `letter_case`, written to `text`.
std::string_view spell_hex_id(const HexIdBytes& bytes, HexCase letter_case,
                              char (&text)[kHexIdLength]);

}  // namespace timing_sidecar
