#pragma once

// Pushes every event to the sidecar's webhook (POST <url>, default path /v1/events) from one
// background thread, in revision order. Producers never wait for the network: events go to a
// bounded queue, and what does not fit is dropped and counted, as a broker plugin that must not
// slow the broker down would do. The feed (GET /v1/events) is how a sidecar recovers them.

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace broker_sim {

struct WebhookTarget {
  std::string scheme_host_port;  // "http://127.0.0.1:9878"
  std::string path;              // "/v1/events"
};

// "http://host:port" or "http://host:port/path"; nullopt unless http or https with a host.
std::optional<WebhookTarget> parse_webhook_url(const std::string& url);

struct WebhookStats {
  uint64_t delivered = 0;  // events the sidecar answered 2xx for
  uint64_t failed = 0;     // events given up on after the retries, or refused with a 4xx
  uint64_t dropped = 0;    // events that found the queue full, or were queued at shutdown
  uint64_t retries = 0;    // POSTs repeated after a connection error, 429 or 5xx
  uint64_t queued = 0;
};

class WebhookPusher {
 public:
  static constexpr size_t kQueueLimit = 100'000;
  // Events already queued are sent together as one JSON array, up to this many.
  static constexpr size_t kMaxBatch = 500;
  static constexpr int kMaxAttempts = 4;

  explicit WebhookPusher(WebhookTarget target);
  ~WebhookPusher();

  void push(const std::string& event_json);
  WebhookStats stats() const;
  const WebhookTarget& target() const { return target_; }

  // Sends nothing more: the POST in flight finishes within the client's timeouts.
  void stop();

 private:
  void run();

  const WebhookTarget target_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::string> queue_;
  WebhookStats stats_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace broker_sim
