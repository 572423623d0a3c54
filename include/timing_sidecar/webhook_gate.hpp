#pragma once

// What the webhook refuses from a request's head alone, before its body is read: cpp-httplib
// enforces its payload limit only when a Content-Length is given, and inflates compressed bodies
// without bound. Pure: the server (server.cpp) copies the head in and sends the refusal out.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace timing_sidecar {

struct WebhookRequestHead {
  std::string_view method;       // "POST", "GET", ...
  std::string_view remote_addr;  // the peer's address, as the listener saw it
  // Each header's first value, nullopt when the request has none.
  std::optional<std::string_view> transfer_encoding;
  std::optional<std::string_view> content_encoding;
  std::optional<std::string_view> content_length;
};

// A refusal as Sidecar::reject takes it: the reason label of
// timing_sidecar_webhook_rejected_total, the status and what to tell the sender.
struct WebhookRefusal {
  std::string reason;
  int status = 0;
  std::string message;
};

// nullopt when the request may go on to have its body read. Unsigned requests (`signed_only`
// false: no webhook secret is configured) are accepted from loopback only; a POST needs a plain
// Content-Length of at most `max_body_bytes` and no chunked or compressed body.
std::optional<WebhookRefusal> refuse_webhook_head(const WebhookRequestHead& head, bool signed_only,
                                                  int64_t max_body_bytes);

}  // namespace timing_sidecar
