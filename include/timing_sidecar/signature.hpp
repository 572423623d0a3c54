#pragma once

// Webhook request signing: X-Timing-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret,
// "<t>.<raw body>")>. The timestamp inside the signed text stops a captured request from being
// replayed after the tolerance.

#include <cstdint>
#include <string>
#include <string_view>

namespace timing_sidecar {

inline constexpr std::string_view kSignatureHeader = "X-Timing-Signature";

enum class SignatureCheck { kValid, kMissing, kMalformed, kOutsideTolerance, kMismatch };

// A human-readable reason for the 401 reply.
std::string_view describe(SignatureCheck check);

std::string hmac_sha256_hex(std::string_view secret, std::string_view text);

// The header value for `body` signed at `unix_seconds`.
std::string sign_request(std::string_view secret, int64_t unix_seconds, std::string_view body);

// Compares in constant time; an empty header is kMissing.
SignatureCheck verify_request(std::string_view header, std::string_view secret,
                              std::string_view body, int64_t now_seconds,
                              int64_t tolerance_seconds);

// The secret from a file: its content without a trailing newline. Throws std::runtime_error
// naming the file when it cannot be read or is empty.
std::string read_secret_file(const std::string& path);

}  // namespace timing_sidecar
