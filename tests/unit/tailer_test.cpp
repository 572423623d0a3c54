#include "timing_sidecar/tailer.hpp"

#include <httplib.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "support/metrics_text.hpp"
#include "support/ports.hpp"

using namespace timing_sidecar;
using namespace std::chrono_literals;

namespace {

int64_t now_ms() {
  return SystemClock().now_ms();
}

EventLimits limits_now() {
  EventLimits limits;
  limits.now_ms = now_ms();
  return limits;
}

std::string created(const std::string& topic, int64_t revision) {
  return R"({"type":"topic.created","topic":")" + topic + R"(","revision":)" +
         std::to_string(revision) + "}";
}

std::string enqueued(const std::string& topic, const std::string& id, int64_t revision,
                     int64_t deliver_at_ms = now_ms() + 3'600'000) {
  return R"({"type":"timer.enqueued","topic":")" + topic + R"(","id":")" + id +
         R"(","deliverAtMs":)" + std::to_string(deliver_at_ms) + R"(,"revision":)" +
         std::to_string(revision) + "}";
}

std::string batch(int64_t revision, const std::vector<std::string>& events) {
  std::string body = R"({"revision":)" + std::to_string(revision) + R"(,"events":[)";
  for (size_t i = 0; i < events.size(); ++i) body += (i > 0 ? "," : "") + events[i];
  return body + "]}";
}

template <typename Condition>
bool eventually(Condition condition, std::chrono::milliseconds timeout = 5s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

// A broker API on loopback that answers GET /v1/events from a script keyed by `after` and holds
// every other poll for its timeout, as a broker with nothing new does.
class FakeBroker {
 public:
  struct Reply {
    int status = 200;
    std::string body;
  };

  FakeBroker() {
    server_.Get("/v1/events", [this](const httplib::Request& req, httplib::Response& res) {
      const int64_t after = std::stoll(req.get_param_value("after"));
      const int64_t hold_seconds = std::stoll(req.get_param_value("timeout"));
      std::unique_lock lock(mutex_);
      afters_.push_back(after);
      changed_.notify_all();
      if (auto it = events_.find(after); it != events_.end()) {
        res.status = it->second.status;
        res.set_content(it->second.body, "application/json");
        return;
      }
      changed_.wait_for(lock, std::chrono::seconds(hold_seconds), [this] { return stopping_; });
      res.set_content(batch(after, {}), "application/json");
    });
    server_.Get("/v1/topics", [this](const httplib::Request&, httplib::Response& res) {
      std::lock_guard lock(mutex_);
      ++lists_;
      res.set_content(topics_, "application/json");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }

  ~FakeBroker() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    changed_.notify_all();
    server_.stop();
    thread_.join();
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  void on_events(int64_t after, Reply reply) {
    std::lock_guard lock(mutex_);
    events_[after] = std::move(reply);
  }
  void set_topics(std::string body) {
    std::lock_guard lock(mutex_);
    topics_ = std::move(body);
  }
  std::vector<int64_t> afters() {
    std::lock_guard lock(mutex_);
    return afters_;
  }
  int lists() {
    std::lock_guard lock(mutex_);
    return lists_;
  }

 private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  std::mutex mutex_;
  std::condition_variable changed_;
  bool stopping_ = false;
  std::map<int64_t, Reply> events_;
  std::string topics_ = R"({"revision":0,"topics":[]})";
  std::vector<int64_t> afters_;
  int lists_ = 0;
};

struct TailedSidecar {
  explicit TailedSidecar(const FakeBroker& broker)
      : config([&broker] {
          Config c;
          c.broker_url = broker.url();
          return c;
        }()),
        sidecar(config, clock) {}

  std::unique_ptr<Tailer> start() {
    return std::make_unique<Tailer>(
        config, sidecar, clock, [] {}, [this] { ++ready_calls; });
  }

  uint32_t pending(const std::string& topic) {
    for (const TopicSummary& summary : sidecar.engine().topics()) {
      if (summary.name == topic) return summary.pending;
    }
    return UINT32_MAX;
  }

  double metric(const std::string& series) {
    return testing::parse_exposition(sidecar.scrape()).value(series, 0);
  }

  Config config;
  SystemClock clock;
  Sidecar sidecar;
  std::atomic<int> ready_calls{0};
};

}  // namespace

TEST_CASE("base URLs are split for httplib") {
  auto url = parse_base_url("http://127.0.0.1:10912");
  REQUIRE(url);
  CHECK(url->scheme_host_port == "http://127.0.0.1:10912");
  CHECK(url->path_prefix.empty());
  url = parse_base_url("https://dashboard.example:8443/rocketmq/");
  REQUIRE(url);
  CHECK(url->scheme_host_port == "https://dashboard.example:8443");
  CHECK(url->path_prefix == "/rocketmq");
  for (const char* bad : {"", "127.0.0.1:10912", "ftp://host", "http://", "http:///path",
                          "http://user@host", "http://host/path?query", "http://host#frag"}) {
    INFO(bad);
    CHECK_FALSE(parse_base_url(bad));
  }
  CHECK_THROWS_WITH(require_base_url("nope", "--broker.url"),
                    Catch::Contains("--broker.url must be http(s)://HOST:PORT"));
}

TEST_CASE("backoff draws under a ceiling that doubles from 100 ms to 30 s and resets") {
  Backoff backoff(42);
  std::vector<int64_t> ceilings;
  for (int failure = 0; failure < 12; ++failure) {
    const auto ceiling = backoff.ceiling();
    ceilings.push_back(ceiling.count());
    const auto delay = backoff.next();
    CHECK(delay >= 0ms);
    CHECK(delay <= ceiling);
  }
  CHECK(ceilings == std::vector<int64_t>{100, 200, 400, 800, 1600, 3200, 6400, 12800, 25600, 30000,
                                         30000, 30000});
  backoff.reset();
  CHECK(backoff.ceiling() == 100ms);
}

TEST_CASE("backoff is jittered over the whole range") {
  Backoff backoff(7);
  int64_t smallest = INT64_MAX;
  int64_t largest = 0;
  for (int draw = 0; draw < 200; ++draw) {
    backoff.reset();
    for (int failure = 0; failure < 10; ++failure) backoff.next();
    const int64_t delay = backoff.next().count();
    smallest = std::min(smallest, delay);
    largest = std::max(largest, delay);
  }
  CHECK(smallest < 3'000);
  CHECK(largest > 27'000);
}

TEST_CASE("feed replies are read with their revision") {
  auto parsed = parse_feed_reply(batch(9, {created("T", 8), enqueued("T", "m1", 9)}), limits_now());
  REQUIRE(std::holds_alternative<FeedReply>(parsed));
  const FeedReply& reply = std::get<FeedReply>(parsed);
  CHECK(reply.revision == 9);
  REQUIRE(reply.events.size() == 2);
  CHECK(reply.events[1].type == EventType::kTimerEnqueued);
  CHECK(reply.events[1].revision == 9);

  parsed = parse_feed_reply(R"({"revision":4,"events":[],"more":{"x":[1,2]}})", limits_now());
  REQUIRE(std::holds_alternative<FeedReply>(parsed));
  CHECK(std::get<FeedReply>(parsed).events.empty());
}

TEST_CASE("feed replies that are not replies are malformed") {
  for (const std::string& body :
       {std::string(R"({"revision":12,"events":[{"type":"timer.enq)"),
        std::string("<html><body><h1>502 Bad Gateway</h1></body></html>\n"),
        std::string("\x00\xff\xfe{\x01garbage", 12), std::string(R"({"events":[]})"),
        std::string(R"({"revision":-1,"events":[]})"),
        std::string(R"({"revision":"5","events":[]})"), std::string(R"({"revision":5})"),
        std::string(R"({"revision":5,"events":{}})"),
        std::string(R"([{"type":"topic.created","topic":"T"}])"),
        std::string(R"({"revision":5,"events":[{"type":"topic.created","topic":"T"}]})")}) {
    INFO(body);
    auto parsed = parse_feed_reply(body, limits_now());
    REQUIRE(std::holds_alternative<SourceError>(parsed));
    CHECK(std::get<SourceError>(parsed).reason == "malformed");
  }
}

TEST_CASE("feed replies with an event parse_events refuses are invalid_event") {
  auto parsed =
      parse_feed_reply(batch(3, {created("T", 2), enqueued("T", "m", 3, 1000)}), limits_now());
  REQUIRE(std::holds_alternative<SourceError>(parsed));
  const SourceError& error = std::get<SourceError>(parsed);
  CHECK(error.reason == "invalid_event");
  CHECK(error.message.find("events[1].deliverAtMs") != std::string::npos);
}

TEST_CASE("the broker's topic list gives revision, counts and no system topics") {
  auto parsed = parse_broker_topics(
      R"({"revision":17,"topics":[{"name":"A","messageType":"DELAY","timing":3},)"
      R"({"name":"B","messageType":"NORMAL"},{"name":"C","timing":null},)"
      R"({"name":"rmq_sys_wheel_timer","timing":9},{"name":"bad name","timing":1}]})",
      1234);
  REQUIRE(std::holds_alternative<ParsedTopics>(parsed));
  const ParsedTopics& topics = std::get<ParsedTopics>(parsed);
  CHECK(topics.list.stamp.revision == 17);
  CHECK(topics.list.stamp.requested_at_ms == 1234);
  CHECK(topics.invalid_names == 1);
  REQUIRE(topics.list.topics.size() == 3);
  CHECK(topics.list.topics[0].name == "A");
  CHECK(topics.list.topics[0].timing == 3);
  CHECK_FALSE(topics.list.topics[1].timing);
  CHECK_FALSE(topics.list.topics[2].timing);

  for (const char* body : {"", R"({"topics":[]})", R"({"revision":1,"topics":{}})",
                           R"({"revision":1,"topics":[{"timing":1}]})",
                           R"({"revision":1,"topics":[{"name":"A","timing":-1}]})"}) {
    INFO(body);
    auto refused = parse_broker_topics(body, 0);
    REQUIRE(std::holds_alternative<SourceError>(refused));
    CHECK(std::get<SourceError>(refused).reason == "malformed");
  }
}

TEST_CASE("a replay from revision 0 that catches up makes the tailer ready") {
  FakeBroker broker;
  broker.on_events(0, {200, batch(3, {created("A", 1), enqueued("A", "a1", 2),
                                      enqueued("rmq_sys_wheel_timer", "s", 3)})});
  TailedSidecar tailed(broker);
  auto tailer = tailed.start();
  REQUIRE(eventually([&] { return tailed.ready_calls.load() == 1; }));
  CHECK(tailed.pending("A") == 1);
  CHECK(tailed.pending("rmq_sys_wheel_timer") == UINT32_MAX);
  REQUIRE(eventually([&] { return broker.afters().size() >= 2; }));
  CHECK(broker.afters()[1] == 3);
  CHECK(broker.lists() == 0);
  CHECK(tailed.metric("timing_sidecar_feed_up") == 1);
  CHECK(tailed.metric("timing_sidecar_feed_revision") == 3);
  CHECK(tailed.metric(R"(timing_sidecar_events_ignored_total{reason="system_topic"})") == 1);
}

TEST_CASE("an invalid event is asked for again, then the tailer lists and goes on") {
  FakeBroker broker;
  broker.on_events(0, {200, batch(2, {created("T", 1), enqueued("T", "m", 2, 1000)})});
  broker.set_topics(R"({"revision":7,"topics":[{"name":"T","timing":2}]})");
  TailedSidecar tailed(broker);
  auto tailer = tailed.start();
  REQUIRE(eventually([&] {
    const auto afters = broker.afters();
    return !afters.empty() && afters.back() == 7;
  }));
  const std::vector<int64_t> afters = broker.afters();
  CHECK(std::count(afters.begin(), afters.end(), 0) == Tailer::kInvalidBatchAttempts);
  CHECK(broker.lists() == 1);
  CHECK(tailed.ready_calls.load() == 1);
  CHECK(tailed.pending("T") == 2);  // the broker's count, adopted after the gap
  CHECK(tailed.metric(R"(timing_sidecar_feed_errors_total{reason="invalid_event"})") ==
        Tailer::kInvalidBatchAttempts);
  CHECK(tailed.metric(R"(timing_sidecar_feed_relists_total{cause="invalid_event"})") == 1);
  CHECK(tailed.metric("timing_sidecar_feed_up") == 1);
}

TEST_CASE("after the broker restarts with a fresh counter, its events still apply") {
  FakeBroker broker;
  broker.on_events(0,
                   {200, batch(50, {created("A", 1), created("B", 40), enqueued("B", "b1", 50)})});
  broker.on_events(50, {410, R"({"error":"after=50 is ahead of the broker's revision 2"})"});
  broker.set_topics(R"({"revision":2,"topics":[{"name":"A","timing":0},{"name":"B","timing":1}]})");
  broker.on_events(2, {200, batch(4, {enqueued("B", "b2", 3), created("C", 4)})});
  TailedSidecar tailed(broker);
  auto tailer = tailed.start();
  REQUIRE(eventually([&] {
    const auto afters = broker.afters();
    return !afters.empty() && afters.back() == 4;
  }));
  // Revision 3 is below B's creation at 40 under the old counter: without the shift it would be
  // taken for an event of an earlier life of B and ignored.
  CHECK(tailed.pending("B") == 2);
  CHECK(tailed.pending("C") == 0);
  CHECK(tailed.metric(R"(timing_sidecar_feed_relists_total{cause="gone"})") == 1);
  CHECK(tailed.metric(R"(timing_sidecar_events_ignored_total{reason="stale_revision"})") == 0);
}

TEST_CASE("destroying the tailer interrupts a held long-poll at once") {
  FakeBroker broker;
  broker.on_events(0, {200, batch(1, {created("A", 1)})});
  TailedSidecar tailed(broker);
  auto tailer = tailed.start();
  // The second poll is caught up: the broker holds it for the whole --broker.poll-timeout.
  REQUIRE(eventually([&] { return broker.afters().size() == 2; }));
  const auto started = std::chrono::steady_clock::now();
  tailer.reset();
  CHECK(std::chrono::steady_clock::now() - started < 1s);
}

TEST_CASE("a broker that cannot be reached leaves the feed down and the sidecar not ready") {
  Config config;
  config.broker_url = "http://127.0.0.1:" + std::to_string(test_support::unused_loopback_port());
  SystemClock clock;
  Sidecar sidecar(config, clock);
  std::atomic<int> ready_calls{0};
  auto tailer = std::make_unique<Tailer>(
      config, sidecar, clock, [] {}, [&] { ++ready_calls; });
  REQUIRE(eventually([&] {
    return testing::parse_exposition(sidecar.scrape())
               .value(R"(timing_sidecar_feed_errors_total{reason="connect"})") >= 2;
  }));
  CHECK(testing::parse_exposition(sidecar.scrape()).value("timing_sidecar_feed_up") == 0);
  CHECK(ready_calls.load() == 0);
}
