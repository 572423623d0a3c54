#include "webhook_pusher.hpp"

#include <httplib.h>

#include <chrono>
#include <utility>

#include "timing_sidecar/config.hpp"
#include "timing_sidecar/log.hpp"

namespace broker_sim {

using timing_sidecar::log;
using timing_sidecar::LogLevel;

namespace {

constexpr char kDefaultPath[] = "/v1/events";
constexpr auto kFirstBackoff = std::chrono::milliseconds(100);
// Short enough that shutdown is never held up by a sidecar that does not answer.
constexpr time_t kConnectTimeoutSeconds = 1;
constexpr time_t kIoTimeoutSeconds = 2;

bool worth_retrying(const httplib::Result& result) {
  return !result || result->status == 429 || result->status >= 500;
}

}  // namespace

std::optional<WebhookTarget> parse_webhook_url(const std::string& url) {
  const size_t scheme_end = url.find("://");
  if (scheme_end == std::string::npos) return std::nullopt;
  const std::string scheme = url.substr(0, scheme_end);
  if (scheme != "http" && scheme != "https") return std::nullopt;
  const size_t authority_start = scheme_end + 3;
  const size_t path_start = url.find('/', authority_start);
  const std::string authority = url.substr(authority_start, path_start - authority_start);
  // cpp-httplib would take a malformed host:port whole as a host name and fail at every push;
  // refusing it at startup is kinder.
  const bool has_port = authority.find(':', authority.rfind(']') + 1) != std::string::npos;
  if (authority.empty() || (has_port && !timing_sidecar::parse_listen_address(authority))) {
    return std::nullopt;
  }
  WebhookTarget target;
  target.scheme_host_port = url.substr(0, path_start);
  target.path = path_start == std::string::npos ? "/" : url.substr(path_start);
  if (target.path == "/") target.path = kDefaultPath;
  return target;
}

WebhookPusher::WebhookPusher(WebhookTarget target)
    : target_(std::move(target)), thread_([this] { run(); }) {}

WebhookPusher::~WebhookPusher() {
  stop();
}

void WebhookPusher::push(const std::string& event_json) {
  std::lock_guard lock(mutex_);
  if (stopping_ || queue_.size() >= kQueueLimit) {
    ++stats_.dropped;
    return;
  }
  queue_.push_back(event_json);
  wake_.notify_one();
}

WebhookStats WebhookPusher::stats() const {
  std::lock_guard lock(mutex_);
  WebhookStats stats = stats_;
  stats.queued = queue_.size();
  return stats;
}

void WebhookPusher::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    wake_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
}

void WebhookPusher::run() {
  httplib::Client client(target_.scheme_host_port);
  client.set_connection_timeout(kConnectTimeoutSeconds, 0);
  client.set_read_timeout(kIoTimeoutSeconds, 0);
  client.set_write_timeout(kIoTimeoutSeconds, 0);
  client.set_keep_alive(true);
  client.set_tcp_nodelay(true);

  while (true) {
    size_t count = 0;
    std::string body = "[";
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) break;
      for (; count < kMaxBatch && !queue_.empty(); ++count) {
        if (count > 0) body += ',';
        body += queue_.front();
        queue_.pop_front();
      }
    }
    body += ']';

    auto backoff = kFirstBackoff;
    for (int attempt = 1;; ++attempt) {
      const httplib::Result result = client.Post(target_.path, body, "application/json");
      std::unique_lock lock(mutex_);
      if (result && result->status >= 200 && result->status < 300) {
        stats_.delivered += count;
        break;
      }
      const std::string outcome =
          result ? "status " + std::to_string(result->status) : httplib::to_string(result.error());
      if (!worth_retrying(result) || attempt == kMaxAttempts) {
        stats_.failed += count;
        log(LogLevel::kWarn, "webhook push failed, events lost to the webhook",
            {{"url", target_.scheme_host_port + target_.path},
             {"outcome", outcome},
             {"events", std::to_string(count)},
             {"attempts", std::to_string(attempt)},
             {"response", result ? result->body.substr(0, 200) : std::string()}});
        break;
      }
      ++stats_.retries;
      log(LogLevel::kDebug, "webhook push retried",
          {{"outcome", outcome}, {"attempt", std::to_string(attempt)}});
      if (wake_.wait_for(lock, backoff, [this] { return stopping_; })) {
        stats_.dropped += count;
        break;
      }
      backoff *= 2;
    }
  }

  std::lock_guard lock(mutex_);
  if (!queue_.empty()) {
    log(LogLevel::kWarn, "webhook events not sent at shutdown",
        {{"events", std::to_string(queue_.size())}});
    stats_.dropped += queue_.size();
    queue_.clear();
  }
}

}  // namespace broker_sim
