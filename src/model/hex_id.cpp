#include "hex_id.hpp"

namespace timing_sidecar {

std::string_view spell_hex_id(const HexIdBytes& bytes, HexCase letter_case,
                              char (&text)[kHexIdLength]) {
  const char* digits = letter_case == HexCase::kUpper ? "0123456789ABCDEF" : "0123456789abcdef";
  for (size_t i = 0; i < bytes.size(); ++i) {
    text[2 * i] = digits[bytes[i] >> 4];
    text[2 * i + 1] = digits[bytes[i] & 15];
  }
  return {text, kHexIdLength};
}

}  // namespace timing_sidecar
