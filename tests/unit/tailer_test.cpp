// The broker feed client without sockets and without sleeping: FeedStateMachine driven one step
// at a time through an in-memory BrokerApi and a ManualClock; the Tailer's own thread only where
// what is tested is the thread (stopping it). The HTTP client itself is tested on loopback in
// tests/integration/http_client_test.cpp, its pure parts in broker_feed_test.cpp.

#include "timing_sidecar/tailer.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "support/feed_json.hpp"
#include "support/sidecar_probe.hpp"

using namespace timing_sidecar;
using namespace std::chrono_literals;

namespace {

// A fixed instant: the ManualClock's start, and what events' deliverAtMs are placed after.
constexpr int64_t kStartMs = 1'767'225'600'000;  // 2026-01-01T00:00:00Z

int64_t now_ms() {
  return kStartMs;
}

using testing::feed_batch;
using testing::feed_created;

std::string enqueued(const std::string& topic, const std::string& id, int64_t revision,
                     int64_t deliver_at_ms = now_ms() + 3'600'000) {
  return testing::feed_enqueued(topic, id, revision, deliver_at_ms);
}

HttpResult reply(int status, std::string body) {
  HttpResult result;
  result.status = status;
  result.body = std::move(body);
  return result;
}

HttpResult failure(HttpFailure kind) {
  HttpResult result;
  result.failure = kind;
  result.error = "injected";
  return result;
}

// The broker's feed API in memory. A watch after a revision gets the replies scripted for it, in
// order, the last one again and again; with none scripted, an empty batch at that revision, as a
// broker with nothing new answers once the hold is over (at once, unless holding() is set: then it
// waits out the hold for real, interrupted by cancel()). Lists answer likewise from their script.
class FakeBrokerApi final : public BrokerApi {
 public:
  void on_events(int64_t after, HttpResult result) {
    std::lock_guard lock(mutex_);
    events_[after].push_back(std::move(result));
  }
  void on_list(HttpResult result) {
    std::lock_guard lock(mutex_);
    lists_script_.push_back(std::move(result));
  }
  void holding(bool hold) {
    std::lock_guard lock(mutex_);
    holding_ = hold;
  }

  HttpResult list() override {
    std::lock_guard lock(mutex_);
    if (cancelled_) return failure(HttpFailure::kCancelled);
    ++lists_;
    return next(lists_script_, [] { return reply(200, R"({"revision":0,"topics":[]})"); });
  }

  HttpResult watch(int64_t after, std::chrono::seconds hold) override {
    std::unique_lock lock(mutex_);
    if (cancelled_) return failure(HttpFailure::kCancelled);
    afters_.push_back(after);
    holds_.push_back(hold.count());
    changed_.notify_all();
    if (auto it = events_.find(after); it != events_.end()) {
      return next(it->second, [] { return HttpResult(); });
    }
    if (holding_ && changed_.wait_for(lock, hold, [this] { return cancelled_; })) {
      return failure(HttpFailure::kCancelled);
    }
    return reply(200, feed_batch(after, {}));
  }

  void cancel() override {
    {
      std::lock_guard lock(mutex_);
      cancelled_ = true;
    }
    changed_.notify_all();
  }

  std::vector<int64_t> afters() {
    std::lock_guard lock(mutex_);
    return afters_;
  }
  std::vector<int64_t> holds() {
    std::lock_guard lock(mutex_);
    return holds_;
  }
  int lists() {
    std::lock_guard lock(mutex_);
    return lists_;
  }
  // Until `count` watches have been asked for, at most `timeout`.
  bool wait_for_watches(size_t count, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return afters_.size() >= count; });
  }

 private:
  template <typename Default>
  static HttpResult next(std::deque<HttpResult>& script, Default fallback) {
    if (script.empty()) return fallback();
    HttpResult result = script.front();
    if (script.size() > 1) script.pop_front();
    return result;
  }

  std::mutex mutex_;
  std::condition_variable changed_;
  std::map<int64_t, std::deque<HttpResult>> events_;
  std::deque<HttpResult> lists_script_;
  bool holding_ = false;
  bool cancelled_ = false;
  std::vector<int64_t> afters_;
  std::vector<int64_t> holds_;
  int lists_ = 0;
};

constexpr uint64_t kSeed = 5;

struct TailedSidecar {
  explicit TailedSidecar(Config base = Config())
      : config([&base] {
          base.broker_url = "http://broker.test";
          return base;
        }()),
        sidecar(config, clock),
        machine(
            config, sidecar, broker, clock, [this] { ++applied_batches; },
            [this] { ++ready_calls; }, kSeed) {}

  // Steps until `condition` holds, at most `steps` times; the delays asked for, in order.
  template <typename Condition>
  bool step_until(Condition condition, int steps = 20) {
    for (int i = 0; i < steps && !condition(); ++i) delays.push_back(machine.step().count());
    return condition();
  }

  uint32_t pending(const std::string& topic) { return testing::pending_of(sidecar, topic); }

  double metric(const std::string& series) { return testing::scraped(sidecar, series); }

  Config config;
  ManualClock clock{kStartMs};
  FakeBrokerApi broker;
  Sidecar sidecar;
  int ready_calls = 0;
  int applied_batches = 0;
  FeedStateMachine machine;
  std::vector<int64_t> delays;
};

std::string errors(const std::string& reason) {
  return R"(timing_sidecar_feed_errors_total{reason=")" + reason + R"("})";
}
std::string relists(const std::string& cause) {
  return R"(timing_sidecar_feed_relists_total{cause=")" + cause + R"("})";
}

}  // namespace

TEST_CASE("a replay from revision 0 that catches up makes the tailer ready") {
  TailedSidecar tailed;
  tailed.broker.on_events(0, reply(200, feed_batch(3, {feed_created("A", 1), enqueued("A", "a1", 2),
                                                       enqueued("rmq_sys_wheel_timer", "s", 3)})));
  CHECK(tailed.machine.step() == 0ms);
  CHECK(tailed.ready_calls == 1);
  CHECK(tailed.applied_batches == 1);
  CHECK(tailed.pending("A") == 1);
  CHECK(tailed.pending("rmq_sys_wheel_timer") == UINT32_MAX);
  CHECK(tailed.machine.step() == 0ms);
  CHECK(tailed.broker.afters() == std::vector<int64_t>{0, 3});
  // Catching up, the broker answers at once; caught up, it holds the poll (--broker.poll-timeout).
  CHECK(tailed.broker.holds() == std::vector<int64_t>{0, 30});
  CHECK(tailed.broker.lists() == 0);
  CHECK(tailed.ready_calls == 1);
  CHECK(tailed.metric("timing_sidecar_feed_up") == 1);
  CHECK(tailed.metric("timing_sidecar_feed_revision") == 3);
  CHECK(tailed.metric(R"(timing_sidecar_events_ignored_total{reason="system_topic"})") == 1);
}

TEST_CASE("a reply cut short of the broker's revision is followed by a poll without hold") {
  TailedSidecar tailed;
  tailed.broker.on_events(
      0, reply(200, feed_batch(9, {feed_created("A", 1), enqueued("A", "a1", 2)})));
  tailed.broker.on_events(2, reply(200, feed_batch(9, {enqueued("A", "a2", 9)})));
  REQUIRE(tailed.step_until([&] { return tailed.broker.afters().size() == 3; }));
  CHECK(tailed.broker.afters() == std::vector<int64_t>{0, 2, 9});
  CHECK(tailed.broker.holds() == std::vector<int64_t>{0, 0, 30});
  CHECK(tailed.ready_calls == 1);  // only once caught up
  CHECK(tailed.pending("A") == 2);
}

TEST_CASE("an invalid event is asked for again, then the tailer lists and goes on") {
  TailedSidecar tailed;
  tailed.broker.on_events(
      0, reply(200, feed_batch(2, {feed_created("T", 1), enqueued("T", "m", 2, 1000)})));
  tailed.broker.on_list(reply(200, R"({"revision":7,"topics":[{"name":"T","timing":2}]})"));
  REQUIRE(tailed.step_until([&] {
    const auto afters = tailed.broker.afters();
    return !afters.empty() && afters.back() == 7;
  }));
  std::vector<int64_t> asked(Tailer::kInvalidBatchAttempts, 0);
  asked.push_back(7);
  CHECK(tailed.broker.afters() == asked);
  // Backed off between the attempts, under the ceilings 100 and 200 ms; none after the relist.
  Backoff reference(kSeed);
  std::vector<int64_t> expected;
  for (int attempt = 1; attempt < Tailer::kInvalidBatchAttempts; ++attempt) {
    expected.push_back(reference.next().count());
  }
  expected.insert(expected.end(), {0, 0, 0});  // the last attempt, the list, the poll after it
  CHECK(tailed.delays == expected);
  CHECK(tailed.broker.lists() == 1);
  CHECK(tailed.ready_calls == 1);
  CHECK(tailed.pending("T") == 2);  // the broker's count, adopted after the gap
  CHECK(tailed.metric(errors("invalid_event")) == Tailer::kInvalidBatchAttempts);
  CHECK(tailed.metric(relists("invalid_event")) == 1);
  CHECK(tailed.metric("timing_sidecar_feed_up") == 1);
}

TEST_CASE("after the broker restarts with a fresh counter, its events still apply") {
  TailedSidecar tailed;
  tailed.broker.on_events(0, reply(200, feed_batch(50, {feed_created("A", 1), feed_created("B", 40),
                                                        enqueued("B", "b1", 50)})));
  tailed.broker.on_events(
      50, reply(410, R"({"error":"after=50 is ahead of the broker's revision 2"})"));
  tailed.broker.on_list(
      reply(200, R"({"revision":2,"topics":[{"name":"A","timing":0},{"name":"B","timing":1}]})"));
  tailed.broker.on_events(
      2, reply(200, feed_batch(4, {enqueued("B", "b2", 3), feed_created("C", 4)})));
  REQUIRE(tailed.step_until([&] {
    const auto afters = tailed.broker.afters();
    return !afters.empty() && afters.back() == 4;
  }));
  CHECK(tailed.broker.afters() == std::vector<int64_t>{0, 50, 2, 4});
  CHECK(tailed.broker.lists() == 1);
  // Revision 3 is below B's creation at 40 under the old counter: without the shift it would be
  // taken for an event of an earlier life of B and ignored.
  CHECK(tailed.pending("B") == 2);
  CHECK(tailed.pending("C") == 0);
  CHECK(tailed.metric(relists("gone")) == 1);
  CHECK(tailed.metric(R"(timing_sidecar_events_ignored_total{reason="stale_revision"})") == 0);
  CHECK(tailed.metric("timing_sidecar_feed_revision") == 4);
  // A 410 is an answer, not a failure: no backoff.
  CHECK(tailed.delays == std::vector<int64_t>{0, 0, 0, 0, 0});
}

TEST_CASE("a poll whose revision went backwards is a gap: listed, then the feed goes on") {
  TailedSidecar tailed;
  tailed.broker.on_events(
      0, reply(200, feed_batch(50, {feed_created("A", 40), enqueued("A", "a1", 50)})));
  tailed.broker.on_events(50, reply(200, feed_batch(3, {})));  // restarted, its counter at 3
  tailed.broker.on_list(reply(200, R"({"revision":3,"topics":[{"name":"A","timing":1}]})"));
  tailed.broker.on_events(3, reply(200, feed_batch(4, {enqueued("A", "a2", 4)})));
  REQUIRE(tailed.step_until([&] {
    const auto afters = tailed.broker.afters();
    return !afters.empty() && afters.back() == 4;
  }));
  CHECK(tailed.broker.afters() == std::vector<int64_t>{0, 50, 3, 4});
  CHECK(tailed.broker.lists() == 1);
  CHECK(tailed.metric(errors("revision_backwards")) == 1);
  CHECK(tailed.metric(relists("revision_backwards")) == 1);
  CHECK(tailed.pending("A") == 2);
  CHECK(tailed.metric(R"(timing_sidecar_events_ignored_total{reason="stale_revision"})") == 0);
}

TEST_CASE("a periodic resync lists after --broker.resync-interval, and caps the poll's hold") {
  Config config;
  config.broker_resync_interval_ms = 5'000;
  TailedSidecar tailed(config);
  tailed.broker.on_events(0,
                          reply(200, feed_batch(1, {feed_created("A", 1), feed_created("B", 1)})));
  tailed.broker.on_list(reply(200, R"({"revision":1,"topics":[{"name":"A"}]})"));
  CHECK(tailed.machine.step() == 0ms);
  CHECK(tailed.machine.step() == 0ms);
  tailed.clock.advance(2'000);
  CHECK(tailed.machine.step() == 0ms);
  CHECK(tailed.broker.holds() == std::vector<int64_t>{0, 5, 3});  // never past the next resync
  CHECK(tailed.broker.lists() == 0);
  tailed.clock.advance(2'999);
  CHECK(tailed.machine.step() == 0ms);
  CHECK(tailed.broker.lists() == 0);
  CHECK(tailed.broker.holds().back() == 1);  // whole seconds, at least one
  tailed.clock.advance(1);
  CHECK(tailed.machine.step() == 0ms);
  CHECK(tailed.broker.lists() == 1);
  CHECK(tailed.metric(relists("resync")) == 1);
  CHECK(tailed.pending("B") == UINT32_MAX);  // a deletion the feed never showed
  CHECK(tailed.pending("A") == 0);
  // The feed goes on from where it was: a resync is no gap.
  CHECK(tailed.machine.step() == 0ms);
  CHECK(tailed.broker.afters().back() == 1);
  CHECK(tailed.broker.holds().back() == 5);
}

TEST_CASE("failed requests back off on the full-jitter schedule, reset by a success") {
  TailedSidecar tailed;
  // Twelve failures of every kind the transport reports, then an answer, then one more failure.
  const HttpFailure kinds[] = {HttpFailure::kConnect, HttpFailure::kTimeout,
                               HttpFailure::kConnectionLost};
  for (int i = 0; i < 12; ++i) tailed.broker.on_events(0, failure(kinds[i % 3]));
  tailed.broker.on_events(0, reply(200, feed_batch(1, {feed_created("A", 1)})));
  tailed.broker.on_events(1, failure(HttpFailure::kTimeout));
  Backoff reference(kSeed);
  Backoff bounds(kSeed);
  for (int i = 0; i < 12; ++i) {
    const auto ceiling = bounds.ceiling();
    bounds.next();
    const auto delay = tailed.machine.step();
    CHECK(delay == reference.next());
    CHECK(delay <= ceiling);
  }
  CHECK(bounds.ceiling() == 30'000ms);
  CHECK(tailed.metric("timing_sidecar_feed_up") == 0);
  CHECK(tailed.metric(errors("connect")) == 4);
  CHECK(tailed.metric(errors("timeout")) == 4);
  CHECK(tailed.metric(errors("connection_lost")) == 4);
  CHECK(tailed.ready_calls == 0);

  CHECK(tailed.machine.step() == 0ms);
  CHECK(tailed.metric("timing_sidecar_feed_up") == 1);
  CHECK(tailed.ready_calls == 1);
  reference.reset();
  const auto delay = tailed.machine.step();
  CHECK(delay == reference.next());
  CHECK(delay <= 100ms);
  CHECK(tailed.metric("timing_sidecar_feed_up") == 0);
  CHECK(tailed.metric(errors("timeout")) == 5);
}

TEST_CASE("garbage and error statuses from the broker change nothing and are retried") {
  TailedSidecar tailed;
  tailed.broker.on_events(
      0, reply(200, feed_batch(2, {feed_created("A", 1), enqueued("A", "a1", 2)})));
  tailed.broker.on_events(2, reply(200, std::string("\x00\xff\xfe{\x01garbage", 12)));
  tailed.broker.on_events(2, reply(200, "<html><body><h1>502 Bad Gateway</h1></body></html>"));
  tailed.broker.on_events(2, reply(503, "busy"));
  tailed.broker.on_events(2, reply(200, feed_batch(3, {enqueued("A", "a2", 3)})));
  REQUIRE(tailed.step_until([&] {
    const auto afters = tailed.broker.afters();
    return !afters.empty() && afters.back() == 3;
  }));
  CHECK(tailed.broker.afters() == std::vector<int64_t>{0, 2, 2, 2, 2, 3});
  CHECK(tailed.metric(errors("malformed")) == 2);
  CHECK(tailed.metric(errors("http_status")) == 1);
  CHECK(tailed.broker.lists() == 0);
  CHECK(tailed.pending("A") == 2);
  CHECK(tailed.metric("timing_sidecar_feed_up") == 1);
  CHECK(tailed.metric("timing_sidecar_feed_revision") == 3);
  Backoff reference(kSeed);
  std::vector<int64_t> expected = {0};
  for (int i = 0; i < 3; ++i) expected.push_back(reference.next().count());
  expected.insert(expected.end(), {0, 0});  // the batch at 3, the poll after it
  CHECK(tailed.delays == expected);
}

TEST_CASE("a list that fails is retried with backoff before the feed goes on") {
  TailedSidecar tailed;
  tailed.broker.on_events(0, reply(410, "gone"));
  tailed.broker.on_list(failure(HttpFailure::kTimeout));
  tailed.broker.on_list(reply(500, "oops"));
  tailed.broker.on_list(reply(200, R"({"topics":[]})"));
  tailed.broker.on_list(reply(200, R"({"revision":6,"topics":[{"name":"A","timing":4}]})"));
  REQUIRE(tailed.step_until([&] { return tailed.ready_calls == 1; }));
  CHECK(tailed.broker.lists() == 4);
  CHECK(tailed.metric(errors("timeout")) == 1);
  CHECK(tailed.metric(errors("http_status")) == 1);
  CHECK(tailed.metric(errors("malformed")) == 1);
  CHECK(tailed.metric(relists("gone")) == 1);
  CHECK(tailed.pending("A") == 4);
  CHECK(tailed.machine.step() == 0ms);
  CHECK(tailed.broker.afters() == std::vector<int64_t>{0, 6});
}

TEST_CASE("destroying the tailer interrupts a held long-poll at once") {
  Config config;
  config.broker_url = "http://broker.test";
  ManualClock clock(kStartMs);
  Sidecar sidecar(config, clock);
  FakeBrokerApi broker;
  broker.on_events(0, reply(200, feed_batch(1, {feed_created("A", 1)})));
  broker.holding(true);
  auto tailer = std::make_unique<Tailer>(
      config, sidecar, broker, clock, [] {}, [] {});
  // The second poll is caught up: the broker holds it for the whole --broker.poll-timeout.
  REQUIRE(broker.wait_for_watches(2, 5s));
  const auto started = std::chrono::steady_clock::now();
  tailer.reset();
  CHECK(std::chrono::steady_clock::now() - started < 1s);
  CHECK(broker.afters() == std::vector<int64_t>{0, 1});
  CHECK(broker.holds().back() == 30);
}

TEST_CASE("a broker that cannot be reached leaves the feed down and the sidecar not ready") {
  TailedSidecar tailed;
  tailed.broker.on_events(0, failure(HttpFailure::kConnect));
  Backoff reference(kSeed);
  CHECK(tailed.machine.step() == reference.next());
  CHECK(tailed.machine.step() == reference.next());
  CHECK(tailed.metric(errors("connect")) == 2);
  CHECK(tailed.metric("timing_sidecar_feed_up") == 0);
  CHECK(tailed.ready_calls == 0);
  CHECK(tailed.broker.lists() == 0);
}
