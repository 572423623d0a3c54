#pragma once

// The sidecar as a service, without sockets: what each endpoint does, for the HTTP server to call
// and for tests to drive directly. Owns the engine and the self metrics.

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "timing_sidecar/clock.hpp"
#include "timing_sidecar/config.hpp"
#include "timing_sidecar/engine.hpp"
#include "timing_sidecar/input_log.hpp"
#include "timing_sidecar/self_metrics.hpp"

namespace timing_sidecar {

struct HttpReply {
  int status = 200;
  std::string body;  // JSON
};

// A rendered /metrics body in one of the sidecar's scrape buffers: dropping the last copy of the
// pointer, once the response is sent, hands the buffer back for a later scrape.
using ScrapeBody = std::shared_ptr<const std::string>;

// The buffers scrapes render into, kept from one scrape to the next: at 100,000 topics a body is
// 100 MB, and faulting in that many fresh pages for every scrape took longer than rendering it.
// Each scrape takes buffers of its own, so concurrent scrapes never share one.
class ScrapeBuffers {
 public:
  // The idle buffer with the most capacity, or a new one.
  std::shared_ptr<std::string> take();

 private:
  // Enough for a gzipped scrape (the text and its compression) or two plain ones at once, as a
  // pair of Prometheus servers may ask; more are freed when they come back.
  static constexpr size_t kMaxIdle = 2;

  struct Idle {
    std::mutex mutex;
    std::vector<std::unique_ptr<std::string>> buffers;
  };
  // Shared with the lent buffers, which may come back after the sidecar is gone.
  std::shared_ptr<Idle> idle_ = std::make_shared<Idle>();
};

class Sidecar {
 public:
  Sidecar(const Config& config, const Clock& clock);

  // POST /v1/events: the whole body is validated before any of it is applied. With --state.dir
  // a 200 means the batch is durable; 503 when it could not be journaled.
  HttpReply ingest(std::string_view body, EventSource source);
  // For sources that parse their own input (the broker feed, files, the demo). With an input log
  // the batch is journaled first (input_log.hpp): a JournalError means nothing was applied. The
  // feed passes where the batch leaves it, to be journaled with the batch.
  ApplyResult apply(const std::vector<Event>& events, EventSource source,
                    const std::optional<FeedPosition>& feed_position = std::nullopt);

  // RocketMQ's own topics (rmq_sys_*, SCHEDULE_TOPIC_XXXX, ...) are not the operator's: every
  // source skips them. Removes their events, counted as ignored, and returns how many.
  size_t ignore_system_topics(std::vector<Event>& events);

  // GET /metrics: reconciles first, so no series of a topic that is not live is written. Gzipped
  // (append_gzipped) when asked.
  ScrapeBody scrape_body(bool gzip);
  // The plain body as a string of its own.
  std::string scrape();
  // The periodic sweep: the same reconciliation when nobody scrapes.
  void sweep();

  std::string topics_json() const;  // GET /v1/topics

  // The drill-down of GET /v1/topics/{topic}?limit=N and its HTML view: the topic's detail, or
  // the error to answer (400 for a name RocketMQ would refuse or a bad limit, 404 for a topic
  // that is not live). `limit` is the query parameter as given, if it was.
  static constexpr size_t kDefaultMessageLimit = 100;
  static constexpr size_t kMaxMessageLimit = 10'000;
  std::variant<TopicDetail, HttpReply> topic_detail(std::string_view topic,
                                                    const std::optional<std::string>& limit) const;
  HttpReply topic_json(std::string_view topic, const std::optional<std::string>& limit) const;

  // A request refused before it reached ingest() (too large, chunked, ...): counted here.
  HttpReply reject(std::string_view reason, int status, std::string_view message);

  // /readyz: false until every configured source has delivered its first state.
  bool ready() const { return ready_.load(); }
  void set_ready(bool ready) { ready_.store(ready); }

  // With --state.dir, every input goes through the log in the same step as it takes effect
  // (input_log.hpp): attached once the log has recovered the engine, before any input arrives,
  // and outliving the last. Null without.
  void attach_input_log(InputLog* log) { input_log_ = log; }
  InputLog* input_log() const { return input_log_; }

  int64_t now_ms() const { return clock_.now_ms(); }
  Engine& engine() { return engine_; }
  SelfMetrics& metrics() { return metrics_; }

 private:
  size_t reconcile(ReconcileTrigger trigger);

  Config config_;
  const Clock& clock_;
  SelfMetrics metrics_;
  Engine engine_;
  InputLog* input_log_ = nullptr;
  ScrapeBuffers scrape_buffers_;
  // Not ready until Sources (even with nothing configured) says so: the listeners start first.
  std::atomic<bool> ready_{false};
  // Rejections are logged as one summary per sweep, not one line per request.
  std::atomic<uint64_t> rejected_since_summary_{0};
};

EngineConfig engine_config(const Config& config);
// The limits every source parses events under at `now_ms`: the one place they come from Config.
EventLimits event_limits(const Config& config, int64_t now_ms);

}  // namespace timing_sidecar
