#include "timing_sidecar/signature.hpp"

#include <catch2/catch.hpp>

using namespace timing_sidecar;

TEST_CASE("signature: HMAC-SHA256 matches RFC 4231 test case 2", "[signature]") {
  CHECK(hmac_sha256_hex("Jefe", "what do ya want for nothing?") ==
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

// No ';' in test names: CMake's catch_discover_tests splits names at it, and the halves match
// no test case (tests/CMakeLists.txt makes that an error).
TEST_CASE("signature: a signed request verifies, and any change does not", "[signature]") {
  const std::string body = R"({"type":"topic.deleted","topic":"orders"})";
  const std::string header = sign_request("s3cret", 1'800'000'000, body);
  CHECK(header.rfind("t=1800000000,v1=", 0) == 0);
  CHECK(verify_request(header, "s3cret", body, 1'800'000'000, 300) == SignatureCheck::kValid);
  CHECK(verify_request(header, "s3cret", body + " ", 1'800'000'000, 300) ==
        SignatureCheck::kMismatch);
  CHECK(verify_request(header, "other", body, 1'800'000'000, 300) == SignatureCheck::kMismatch);
  CHECK(verify_request(header, "s3cret", body, 1'800'000'301, 300) ==
        SignatureCheck::kOutsideTolerance);
  CHECK(verify_request(header, "s3cret", body, 1'799'999'699, 300) ==
        SignatureCheck::kOutsideTolerance);
  // The timestamp is part of what is signed: moving it breaks the signature.
  std::string moved = header;
  moved.replace(2, 10, "1800000001");
  CHECK(verify_request(moved, "s3cret", body, 1'800'000'000, 300) == SignatureCheck::kMismatch);
}

TEST_CASE("signature: missing and malformed headers", "[signature]") {
  CHECK(verify_request("", "k", "b", 0, 300) == SignatureCheck::kMissing);
  CHECK(verify_request("v1=abc", "k", "b", 0, 300) == SignatureCheck::kMalformed);
  CHECK(verify_request("t=soon,v1=" + std::string(64, 'a'), "k", "b", 0, 300) ==
        SignatureCheck::kMalformed);
  CHECK(verify_request("t=0,v1=abcd", "k", "b", 0, 300) == SignatureCheck::kMalformed);
}

TEST_CASE("signature: a secret file holds one secret per line, blank lines skipped",
          "[signature]") {
  CHECK(parse_secrets("only\n") == std::vector<std::string>{"only"});
  CHECK(parse_secrets("new\r\n\nold") == std::vector<std::string>{"new", "old"});
  CHECK(parse_secrets(" spaced secret \n") == std::vector<std::string>{" spaced secret "});
  CHECK(parse_secrets("\n\r\n").empty());
}

TEST_CASE("signature: during a rotation a signature under any secret verifies", "[signature]") {
  const std::string body = R"({"type":"topic.created","topic":"orders"})";
  const std::vector<std::string> both = {"new", "old"};
  for (const char* secret : {"new", "old"}) {
    CHECK(verify_request(sign_request(secret, 1'800'000'000, body), both, body, 1'800'000'000,
                         300) == SignatureCheck::kValid);
  }
  const std::vector<std::string> rotated = {"new"};
  CHECK(verify_request(sign_request("old", 1'800'000'000, body), rotated, body, 1'800'000'000,
                       300) == SignatureCheck::kMismatch);
  CHECK(verify_request(sign_request("old", 1'800'000'000, body), std::vector<std::string>{}, body,
                       1'800'000'000, 300) == SignatureCheck::kMismatch);
}
