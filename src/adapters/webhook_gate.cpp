#include "timing_sidecar/webhook_gate.hpp"

#include "timing_sidecar/config.hpp"

namespace timing_sidecar {

std::optional<WebhookRefusal> refuse_webhook_head(const WebhookRequestHead& head, bool signed_only,
                                                  int64_t max_body_bytes) {
  if (!signed_only && !is_loopback_host(head.remote_addr)) {
    return WebhookRefusal{"unauthorized", 403,
                          "unsigned webhook requests are accepted from loopback only"};
  }
  if (head.method != "POST") return std::nullopt;
  if (head.transfer_encoding) {
    return WebhookRefusal{"bad_encoding", 411,
                          "chunked bodies are not accepted: send a Content-Length"};
  }
  if (head.content_encoding && *head.content_encoding != "identity") {
    return WebhookRefusal{"bad_encoding", 415,
                          "Content-Encoding " + std::string(*head.content_encoding) +
                              " is not accepted: send the JSON uncompressed"};
  }
  if (!head.content_length) {
    return WebhookRefusal{"bad_encoding", 411, "a Content-Length header is required"};
  }
  const std::string_view length_text = *head.content_length;
  const std::optional<int64_t> length = parse_byte_size(length_text);
  if (!length || length_text.find_first_not_of("0123456789") != std::string_view::npos) {
    return WebhookRefusal{"bad_encoding", 400, "Content-Length is not a number"};
  }
  if (*length > max_body_bytes) {
    return WebhookRefusal{"too_large", 413,
                          "body of " + std::string(length_text) +
                              " bytes exceeds --webhook.max-body (" +
                              std::to_string(max_body_bytes) + " bytes)"};
  }
  return std::nullopt;
}

}  // namespace timing_sidecar
