#pragma once

// Webhook request signing: X-Timing-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret,
// "<t>.<raw body>")>. The timestamp inside the signed text stops a captured request from being
// replayed after the tolerance.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace timing_sidecar {

inline constexpr std::string_view kSignatureHeader = "X-Timing-Signature";

enum class SignatureCheck { kValid, kMissing, kMalformed, kOutsideTolerance, kMismatch };

// A human-readable reason for the 401 reply.
std::string_view describe(SignatureCheck check);

std::string hmac_sha256_hex(std::string_view secret, std::string_view text);

// The header value for `body` signed at `unix_seconds`.
std::string sign_request(std::string_view secret, int64_t unix_seconds, std::string_view body);

// Compares in constant time; an empty header is kMissing. With several secrets (a rotation under
// way), a signature valid under any of them is kValid.
SignatureCheck verify_request(std::string_view header, const std::vector<std::string>& secrets,
                              std::string_view body, int64_t now_seconds,
                              int64_t tolerance_seconds);
SignatureCheck verify_request(std::string_view header, std::string_view secret,
                              std::string_view body, int64_t now_seconds,
                              int64_t tolerance_seconds);

// The secrets of a --webhook.secret-file: one per line, the first the one to sign with. A line
// is taken whole, spaces included, without its line ending; blank lines are skipped.
std::vector<std::string> parse_secrets(std::string_view content);

// parse_secrets of a file. Throws std::runtime_error naming the file when it cannot be read or
// holds no secret.
std::vector<std::string> read_secret_file(const std::string& path);

}  // namespace timing_sidecar
