#include "timing_sidecar/webhook_gate.hpp"

#include <catch2/catch.hpp>
#include <string>

using namespace timing_sidecar;

namespace {

constexpr int64_t kMaxBody = 1000;

WebhookRequestHead post(std::optional<std::string_view> content_length) {
  WebhookRequestHead head;
  head.method = "POST";
  head.remote_addr = "127.0.0.1";
  head.content_length = content_length;
  return head;
}

// The refusal's status, 0 when the request may go on.
int status(const WebhookRequestHead& head, bool signed_only = false) {
  const auto refusal = refuse_webhook_head(head, signed_only, kMaxBody);
  return refusal ? refusal->status : 0;
}

}  // namespace

TEST_CASE("a plain POST within the limit goes on to have its body read", "[webhook]") {
  CHECK(status(post("0")) == 0);
  CHECK(status(post("1000")) == 0);
  WebhookRequestHead identity = post("12");
  identity.content_encoding = "identity";
  CHECK(status(identity) == 0);
}

TEST_CASE("unsigned requests are accepted from loopback only", "[webhook]") {
  for (const char* loopback : {"127.0.0.1", "127.8.9.10", "::1"}) {
    WebhookRequestHead head = post("5");
    head.remote_addr = loopback;
    INFO(loopback);
    CHECK(status(head) == 0);
  }
  WebhookRequestHead remote = post("5");
  remote.remote_addr = "10.1.2.3";
  const auto refusal = refuse_webhook_head(remote, false, kMaxBody);
  REQUIRE(refusal);
  CHECK(refusal->reason == "unauthorized");
  CHECK(refusal->status == 403);
  CHECK(refusal->message == "unsigned webhook requests are accepted from loopback only");
  // With a secret, the signature decides, wherever the request comes from.
  CHECK(status(remote, true) == 0);
  // And it is checked before anything else, for every method.
  remote.method = "GET";
  remote.content_length.reset();
  CHECK(status(remote) == 403);
}

TEST_CASE("only a POST's body is checked", "[webhook]") {
  WebhookRequestHead head;
  head.method = "GET";
  head.remote_addr = "127.0.0.1";
  head.transfer_encoding = "chunked";
  CHECK(status(head) == 0);
}

TEST_CASE("chunked and compressed bodies are refused before they are read", "[webhook]") {
  WebhookRequestHead chunked = post(std::nullopt);
  chunked.transfer_encoding = "chunked";
  auto refusal = refuse_webhook_head(chunked, false, kMaxBody);
  REQUIRE(refusal);
  CHECK(refusal->reason == "bad_encoding");
  CHECK(refusal->status == 411);
  CHECK(refusal->message == "chunked bodies are not accepted: send a Content-Length");
  chunked.content_length = "5";  // a length beside it does not make it acceptable
  CHECK(status(chunked) == 411);

  WebhookRequestHead gzip = post("5");
  gzip.content_encoding = "gzip";
  refusal = refuse_webhook_head(gzip, false, kMaxBody);
  REQUIRE(refusal);
  CHECK(refusal->reason == "bad_encoding");
  CHECK(refusal->status == 415);
  CHECK(refusal->message == "Content-Encoding gzip is not accepted: send the JSON uncompressed");
}

TEST_CASE("a POST needs a Content-Length that is a plain number within the limit", "[webhook]") {
  auto refusal = refuse_webhook_head(post(std::nullopt), false, kMaxBody);
  REQUIRE(refusal);
  CHECK(refusal->reason == "bad_encoding");
  CHECK(refusal->status == 411);
  CHECK(refusal->message == "a Content-Length header is required");

  for (const char* bad : {"", "abc", "-1", "12 ", "1e3", "1KiB", "+5", "0x10"}) {
    INFO("Content-Length: " << bad);
    refusal = refuse_webhook_head(post(std::string_view(bad)), false, kMaxBody);
    REQUIRE(refusal);
    CHECK(refusal->reason == "bad_encoding");
    CHECK(refusal->status == 400);
    CHECK(refusal->message == "Content-Length is not a number");
  }

  refusal = refuse_webhook_head(post("1001"), false, kMaxBody);
  REQUIRE(refusal);
  CHECK(refusal->reason == "too_large");
  CHECK(refusal->status == 413);
  CHECK(refusal->message == "body of 1001 bytes exceeds --webhook.max-body (1000 bytes)");
  CHECK(status(post("99999999999999999999999")) != 0);
}
