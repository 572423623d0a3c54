#include "hex_id.hpp"

#include <catch2/catch.hpp>
#include <optional>
#include <string>

using namespace timing_sidecar;

namespace {

std::optional<std::string> round_trip(const std::string& id) {
  HexIdBytes bytes{};
  const std::optional<HexCase> letter_case = decode_hex_id(id, bytes);
  if (!letter_case) return std::nullopt;
  char text[kHexIdLength];
  return std::string(spell_hex_id(bytes, *letter_case, text));
}

}  // namespace

TEST_CASE("hex id: 32 digits decode to the 16 bytes they spell, in their case") {
  HexIdBytes bytes{};
  REQUIRE(decode_hex_id("000102030405060708090A0B0C0D0EFF", bytes) == HexCase::kUpper);
  for (size_t i = 0; i < 14; ++i) CHECK(bytes[i] == i);
  CHECK(bytes[14] == 0x0E);
  CHECK(bytes[15] == 0xFF);
  REQUIRE(decode_hex_id("7f000001a1b2c3d4e5f60718293a4b5c", bytes) == HexCase::kLower);
  CHECK(bytes[0] == 0x7F);
  CHECK(bytes[4] == 0xA1);
  CHECK(bytes[15] == 0x5C);
}

TEST_CASE("hex id: an all-digit id is upper case, so each id has one encoding") {
  HexIdBytes bytes{};
  CHECK(decode_hex_id("01234567890123456789012345678901", bytes) == HexCase::kUpper);
}

TEST_CASE("hex id: every id spells back exactly as it came") {
  for (const std::string id :
       {"7F00000100002A9F0000000000000001", "7f00000100002a9f0000000000000001",
        "00000000000000000000000000000000", "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF",
        "ffffffffffffffffffffffffffffffff", "0123456789abcdef0123456789abcdef",
        "0123456789ABCDEF0123456789ABCDEF"}) {
    CHECK(round_trip(id) == id);
  }
}

TEST_CASE("hex id: anything but 32 hex digits of one case is not decoded, and bytes untouched") {
  const std::string mixed_case = "7F00000100002a9f0000000000000001";
  const std::string with_g = "7F00000100002A9F000000000000000G";
  const std::string high_byte = std::string(31, '0') + "\xC0";
  const std::string with_nul = std::string(16, '0') + std::string(1, '\0') + std::string(15, '0');
  for (const std::string& id :
       {mixed_case, with_g, high_byte, with_nul, std::string(31, 'A'), std::string(33, 'A'),
        std::string(), std::string("m1"), std::string(64, 'a')}) {
    CAPTURE(id);
    HexIdBytes bytes{};
    bytes.fill(0x5A);
    CHECK_FALSE(decode_hex_id(id, bytes));
    CHECK(bytes == HexIdBytes{0x5A, 0x5A, 0x5A, 0x5A, 0x5A, 0x5A, 0x5A, 0x5A, 0x5A, 0x5A, 0x5A,
                              0x5A, 0x5A, 0x5A, 0x5A, 0x5A});
  }
  // The characters just outside each range of digits.
  for (const char outside : {'/', ':', '@', 'G', '`', 'g'}) {
    std::string id(kHexIdLength, '1');
    id[7] = outside;
    HexIdBytes bytes{};
    CHECK_FALSE(decode_hex_id(id, bytes));
  }
}
