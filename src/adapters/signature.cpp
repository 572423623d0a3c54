#include "timing_sidecar/signature.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <charconv>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace timing_sidecar {

std::string_view describe(SignatureCheck check) {
  switch (check) {
    case SignatureCheck::kValid:
      return "valid";
    case SignatureCheck::kMissing:
      return "missing X-Timing-Signature header";
    case SignatureCheck::kMalformed:
      return "malformed X-Timing-Signature header: expected t=<unix seconds>,v1=<hex HMAC-SHA256>";
    case SignatureCheck::kOutsideTolerance:
      return "X-Timing-Signature timestamp outside --webhook.tolerance";
    case SignatureCheck::kMismatch:
      return "X-Timing-Signature does not match the body";
  }
  return "invalid signature";
}

std::string hmac_sha256_hex(std::string_view secret, std::string_view text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest, &length);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(length * 2);
  for (unsigned int i = 0; i < length; ++i) {
    hex += kHex[digest[i] >> 4];
    hex += kHex[digest[i] & 0xf];
  }
  return hex;
}

namespace {

std::string signed_text(std::string_view timestamp, std::string_view body) {
  std::string text;
  text.reserve(timestamp.size() + 1 + body.size());
  text.append(timestamp).append(".").append(body);
  return text;
}

}  // namespace

std::string sign_request(std::string_view secret, int64_t unix_seconds, std::string_view body) {
  const std::string timestamp = std::to_string(unix_seconds);
  return "t=" + timestamp + ",v1=" + hmac_sha256_hex(secret, signed_text(timestamp, body));
}

SignatureCheck verify_request(std::string_view header, const std::vector<std::string>& secrets,
                              std::string_view body, int64_t now_seconds,
                              int64_t tolerance_seconds) {
  if (header.empty()) return SignatureCheck::kMissing;
  std::string_view timestamp, signature;
  while (!header.empty()) {
    const size_t comma = header.find(',');
    const std::string_view part = header.substr(0, comma);
    header = comma == std::string_view::npos ? std::string_view{} : header.substr(comma + 1);
    if (part.substr(0, 2) == "t=") {
      timestamp = part.substr(2);
    } else if (part.substr(0, 3) == "v1=") {
      signature = part.substr(3);
    }
  }
  int64_t seconds = 0;
  auto [end, error] =
      std::from_chars(timestamp.data(), timestamp.data() + timestamp.size(), seconds);
  if (timestamp.empty() || error != std::errc() || end != timestamp.data() + timestamp.size() ||
      signature.size() != 64) {
    return SignatureCheck::kMalformed;
  }
  if (seconds < now_seconds - tolerance_seconds || seconds > now_seconds + tolerance_seconds) {
    return SignatureCheck::kOutsideTolerance;
  }
  const std::string text = signed_text(timestamp, body);
  for (const std::string& secret : secrets) {
    const std::string expected = hmac_sha256_hex(secret, text);
    if (CRYPTO_memcmp(expected.data(), signature.data(), expected.size()) == 0) {
      return SignatureCheck::kValid;
    }
  }
  return SignatureCheck::kMismatch;
}

SignatureCheck verify_request(std::string_view header, std::string_view secret,
                              std::string_view body, int64_t now_seconds,
                              int64_t tolerance_seconds) {
  return verify_request(header, std::vector<std::string>{std::string(secret)}, body, now_seconds,
                        tolerance_seconds);
}

std::vector<std::string> parse_secrets(std::string_view content) {
  std::vector<std::string> secrets;
  while (!content.empty()) {
    const size_t newline = content.find('\n');
    std::string_view line = content.substr(0, newline);
    content = newline == std::string_view::npos ? std::string_view{} : content.substr(newline + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!line.empty()) secrets.emplace_back(line);
  }
  return secrets;
}

std::vector<std::string> read_secret_file(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) throw std::runtime_error("cannot read --webhook.secret-file " + path);
  std::ostringstream content;
  content << file.rdbuf();
  std::vector<std::string> secrets = parse_secrets(content.str());
  if (secrets.empty()) throw std::runtime_error("--webhook.secret-file " + path + " is empty");
  return secrets;
}

}  // namespace timing_sidecar
