#pragma once

// The broker feed client: list, then watch, as Kubernetes informers do. A fresh sidecar first asks
// for the broker's whole history (GET /v1/events?after=0): replaying it gives exact per-message
// state. When the broker no longer holds it (410), or the feed shows a gap (a revision that went
// backwards: the broker restarted with a fresh counter), the tailer lists the topics
// (GET /v1/topics), adopts the broker's pending counts and watches on from the list's revision.
// It lists again every --broker.resync-interval to catch deletions the feed never showed.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <variant>
#include <vector>

#include "timing_sidecar/clock.hpp"
#include "timing_sidecar/config.hpp"
#include "timing_sidecar/events.hpp"
#include "timing_sidecar/journal.hpp"
#include "timing_sidecar/reconciler.hpp"
#include "timing_sidecar/rocketmq_files.hpp"
#include "timing_sidecar/sidecar.hpp"

namespace httplib {
class Client;
}

namespace timing_sidecar {

// "http://host:port/prefix" split for httplib::Client, which takes no path.
struct BaseUrl {
  std::string scheme_host_port;  // "http://127.0.0.1:10912"
  std::string path_prefix;       // "" or "/rocketmq", never with a trailing slash
};

// nullopt unless http or https with a host.
std::optional<BaseUrl> parse_base_url(std::string_view url);
// The same, or std::invalid_argument naming the flag the URL came from.
BaseUrl require_base_url(std::string_view url, std::string_view flag);

enum class HttpFailure { kNone, kConnect, kTimeout, kConnectionLost, kCancelled };

// A label value for the *_errors_total{reason} families: connect, timeout, connection_lost.
std::string_view failure_reason(HttpFailure failure);

struct HttpResult {
  HttpFailure failure = HttpFailure::kNone;
  int status = 0;  // when failure is kNone
  std::string body;
  std::string error;  // what went wrong, for a log line
};

// GET requests on one keep-alive connection that cancel() interrupts at once, also while a
// long-poll is held. cpp-httplib's Client::stop() only interrupts a request already on its
// socket, so cancel() repeats it until the request in flight has returned; once cancelled, every
// later get() fails with kCancelled without connecting. Not for concurrent get() calls.
class CancellableClient {
 public:
  // Bounds how long a connect may take, and so how long cancel() may wait for one.
  static constexpr std::chrono::seconds kConnectTimeout{3};

  explicit CancellableClient(const BaseUrl& url);
  ~CancellableClient();
  CancellableClient(const CancellableClient&) = delete;
  CancellableClient& operator=(const CancellableClient&) = delete;

  // `path` is appended to the URL's path prefix.
  HttpResult get(const std::string& path, std::chrono::milliseconds read_timeout);
  void cancel();

 private:
  const std::string path_prefix_;
  std::unique_ptr<httplib::Client> client_;
  std::atomic<bool> cancelled_{false};
  std::atomic<bool> in_flight_{false};
};

// Delays between failed attempts: "full jitter" (a uniform draw between zero and an exponential
// ceiling), so that sidecars restarted together do not retry together. The ceiling starts at
// 100 ms and doubles per consecutive failure up to 30 s; it is back at 100 ms after a success.
class Backoff {
 public:
  static constexpr std::chrono::milliseconds kInitialCeiling{100};
  static constexpr std::chrono::milliseconds kMaxCeiling{30'000};

  explicit Backoff(uint64_t seed) : rng_(seed) {}

  std::chrono::milliseconds next();
  void reset() { failures_ = 0; }
  std::chrono::milliseconds ceiling() const;

 private:
  int failures_ = 0;
  std::mt19937_64 rng_;
};

// One GET /v1/events reply: {"revision":R,"events":[...]}, R being the broker's revision when it
// answered. Every event must carry its revision: without them the feed cannot be resumed.
struct FeedReply {
  int64_t revision = 0;
  std::vector<Event> events;
};

// SourceError::reason is "malformed" (not such a reply) or "invalid_event" (a reply whose events
// parse_events refuses; the message says which and why).
std::variant<FeedReply, SourceError> parse_feed_reply(std::string_view body,
                                                      const EventLimits& limits);

// GET /v1/topics: {"revision":R,"topics":[{"name":"T","messageType":"DELAY","timing":N},...]}.
ParsedTopicsResult parse_broker_topics(std::string_view body, int64_t requested_at_ms);

class Tailer {
 public:
  // After a batch of feed events with invalid events, the same batch is asked for again this many
  // times in all (with backoff) before the tailer lists and goes on from the list's revision:
  // retries cover a broker caught mid-change, the relist keeps one bad event from stalling the
  // feed forever. The skipped events are the ones the broker's counts then stand in for.
  static constexpr int kInvalidBatchAttempts = 3;
  // Beyond the long-poll hold, so that a dead connection is noticed and a live one is not cut.
  static constexpr std::chrono::seconds kReadTimeoutMargin{10};

  // `after_apply` runs after each applied batch of events (to wake the timer driver); `ready`
  // runs once, when the first state is applied: a list, or a replay from revision 0 that caught
  // up with the broker.
  Tailer(const Config& config, Sidecar& sidecar, const Clock& clock,
         std::function<void()> after_apply, std::function<void()> ready);
  // Prompt: interrupts a long-poll in flight.
  ~Tailer();
  Tailer(const Tailer&) = delete;
  Tailer& operator=(const Tailer&) = delete;

 private:
  enum class RelistCause { kGone, kRevisionBackwards, kInvalidEvent, kResync };
  struct Metrics;

  void run();
  bool poll();
  bool relist(RelistCause cause);
  bool reject_batch(const std::string& error);
  // `reached` is where the batch leaves the feed. False when it could not be journaled: nothing
  // was applied.
  bool apply_events(std::vector<Event>& events, int64_t reached);
  bool journal_failed(const JournalError& error);
  // Records a failed attempt; logs only when the feed goes down. Returns false (back off).
  bool fail(std::string_view reason, const std::string& error);
  void set_up();
  void mark_ready();
  static std::string_view cause_name(RelistCause cause);
  int64_t hold_seconds() const;
  void wait(std::chrono::milliseconds delay);

  const Config config_;
  Sidecar& sidecar_;
  const Clock& clock_;
  std::function<void()> after_apply_;
  std::function<void()> ready_;
  std::unique_ptr<Metrics> metrics_;
  ListReconciler reconciler_;
  CancellableClient client_;
  Backoff backoff_;

  // Touched by the tailer's thread only.
  int64_t position_ = 0;  // the broker's revision everything up to which was applied
  // Added to the broker's revisions before they reach the catalog. It grows when the broker
  // restarts with a fresh counter, so that the catalog, which remembers revisions of the old
  // counter, still sees what comes after as newer.
  int64_t revision_offset_ = 0;
  // The highest revision the broker has answered with: a lower one means a fresh counter.
  int64_t highest_broker_revision_ = 0;
  bool caught_up_ = false;
  bool have_state_ = false;
  std::optional<RelistCause> relist_due_;
  int64_t next_resync_ms_ = 0;
  int invalid_attempts_ = 0;
  std::optional<bool> up_;  // unknown until the first attempt
  int64_t down_since_ms_ = 0;
  bool warned_invalid_names_ = false;

  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;  // guarded by mutex_
  std::thread thread_;
};

}  // namespace timing_sidecar
