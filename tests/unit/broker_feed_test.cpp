// The broker feed's pure parts: its base URL, the backoff, and the replies' parsing.

#include "timing_sidecar/broker_feed.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "support/feed_json.hpp"
#include "timing_sidecar/backoff.hpp"
#include "timing_sidecar/http_client.hpp"

using namespace timing_sidecar;
using namespace std::chrono_literals;

namespace {

constexpr int64_t kNowMs = 1'767'225'600'000;  // 2026-01-01T00:00:00Z

EventLimits limits_now() {
  EventLimits limits;
  limits.now_ms = kNowMs;
  return limits;
}

using testing::feed_batch;
using testing::feed_created;

std::string enqueued(const std::string& topic, const std::string& id, int64_t revision,
                     int64_t deliver_at_ms = kNowMs + 3'600'000) {
  return testing::feed_enqueued(topic, id, revision, deliver_at_ms);
}

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
  auto parsed =
      parse_feed_reply(feed_batch(9, {feed_created("T", 8), enqueued("T", "m1", 9)}), limits_now());
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
  auto parsed = parse_feed_reply(feed_batch(3, {feed_created("T", 2), enqueued("T", "m", 3, 1000)}),
                                 limits_now());
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
