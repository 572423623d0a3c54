// The drill-down's JSON contract (README, "GET /v1/topics/{topic}") and the HTML pages: escaping,
// the order of the landing page's topics, and its cap.

#include "timing_sidecar/web_pages.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "timing_sidecar/sidecar.hpp"

using namespace timing_sidecar;
using nlohmann::json;

namespace {

constexpr int64_t kStartMs = 1'800'000'000'000;

std::string enqueue(const std::string& topic, const std::string& id, int64_t deliver_at_ms) {
  return json{
      {"type", "timer.enqueued"}, {"topic", topic}, {"id", id}, {"deliverAtMs", deliver_at_ms}}
      .dump();
}

size_t count_of(const std::string& text, const std::string& part) {
  size_t count = 0;
  for (size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++count;
  return count;
}

}  // namespace

TEST_CASE("drill-down: JSON of a topic, 404 deleted or unknown, 400 bad name or limit",
          "[drilldown]") {
  Config config;
  config.overdue_grace_ms = 1000;
  ManualClock clock(kStartMs);
  Sidecar sidecar(config, clock);
  const std::string body = "[" + enqueue("a%b|c", "late", kStartMs - 5000) + "," +
                           enqueue("a%b|c", "soon", kStartMs + 5000) + "," +
                           enqueue("a%b|c", "later", kStartMs + 9000) + "," +
                           enqueue("gone", "x", kStartMs + 5000) +
                           R"(,{"type":"topic.deleted","topic":"gone","revision":42}])";
  REQUIRE(sidecar.ingest(body, EventSource::kWebhook).status == 200);
  clock.advance(250);

  HttpReply reply = sidecar.topic_json("a%b|c", std::nullopt);
  REQUIRE(reply.status == 200);
  const json detail = json::parse(reply.body);
  CHECK(detail["name"] == "a%b|c");
  CHECK(detail["pending"] == 3);
  CHECK(detail["overdue"] == 1);
  CHECK(detail["enqueued"] == 3);
  CHECK(detail["dequeued"] == 0);
  CHECK(detail["overdueMessages"] ==
        json::parse(R"([{"id":"late","deliverAtMs":1799999995000,"overdueMs":5250}])"));
  CHECK(detail["next"] == json::parse(R"([{"id":"soon","deliverAtMs":1800000005000},
                                          {"id":"later","deliverAtMs":1800000009000}])"));
  CHECK(json::parse(sidecar.topic_json("a%b|c", "1").body)["next"].size() == 1);

  reply = sidecar.topic_json("gone", std::nullopt);
  CHECK(reply.status == 404);
  CHECK(json::parse(reply.body)["error"] == "topic \"gone\" was deleted at revision 42");
  reply = sidecar.topic_json("never", std::nullopt);
  CHECK(reply.status == 404);
  CHECK_THAT(json::parse(reply.body)["error"].get<std::string>(), Catch::Contains("not tracked"));

  for (const std::string& name :
       std::vector<std::string>{"a b", "a/b", "", std::string(128, 'x')}) {
    reply = sidecar.topic_json(name, std::nullopt);
    CHECK(reply.status == 400);
    CHECK_THAT(json::parse(reply.body)["error"].get<std::string>(),
               Catch::Contains("not a topic name RocketMQ accepts"));
  }
  CHECK(sidecar.topic_json(std::string(127, 'x'), std::nullopt).status == 404);
  for (const std::string& limit : std::vector<std::string>{"0", "10001", "-1", "ten", "5x", ""}) {
    reply = sidecar.topic_json("a%b|c", limit);
    CHECK(reply.status == 400);
    CHECK_THAT(json::parse(reply.body)["error"].get<std::string>(),
               Catch::Contains("from 1 to 10000"));
  }
  CHECK(sidecar.topic_json("a%b|c", "10000").status == 200);
}

TEST_CASE("web pages: names escaped, paths encoded", "[web_pages]") {
  CHECK(html_escape(R"(<a href="x">'&'</a>)") ==
        "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
  CHECK(topic_page_path("a%b|c") == "/topics/a%25b%7Cc");

  TopicDetail detail;
  detail.status = TopicDetail::Status::kLive;
  detail.now_ms = kStartMs;
  detail.summary = {"a%b|c", 2, 0, 1, 2, 0};
  detail.messages.overdue = {{"<id>", kStartMs - 5000}};
  detail.messages.upcoming = {{"next&", kStartMs + 5000}};
  const std::string page = render_topic_page(detail, 100);
  CHECK(page.find("<id>") == std::string::npos);
  CHECK(page.find("&lt;id&gt;") != std::string::npos);
  CHECK(page.find("next&amp;") != std::string::npos);
  CHECK(page.find("<h1 id=\"topic\">a%b|c</h1>") != std::string::npos);
  CHECK(page.find("<td>5000</td>") != std::string::npos);
  CHECK(page.find("href=\"/v1/topics/a%25b%7Cc\"") != std::string::npos);
}

TEST_CASE("landing page: overdue first, capped with the count left out", "[web_pages]") {
  LandingPage page;
  page.version = "1.2.3";
  page.now_ms = kStartMs;
  for (uint32_t i = 0; i < 250; ++i) {
    page.topics.push_back({"topic-" + std::to_string(1000 + i), 1, 0, 0, 1, 0});
  }
  page.topics.push_back({"a%b|c", 3, 1, 1, 3, 0});
  page.topics.push_back({"worst", 9, 0, 7, 9, 0});
  page.sources = {{"feed", true, 1234, std::nullopt},
                  {"topics_file", false, std::nullopt, (kStartMs - 3000) / 1000.0}};

  const std::string first = render_landing_page(page);
  CHECK(first.find("1.2.3") != std::string::npos);
  for (const char* link : {"/metrics", "/healthz", "/readyz", "/v1/topics"}) {
    CHECK(first.find("href=\"" + std::string(link) + "\"") != std::string::npos);
  }
  CHECK(count_of(first, "<tr") - count_of(first, "<tr><th") == kLandingPageRows + 2);
  CHECK(first.find("Topics 1&ndash;200 of 252") != std::string::npos);
  CHECK(first.find("52 not shown") != std::string::npos);
  CHECK(first.find("href=\"/?offset=200\"") != std::string::npos);
  // Overdue first: the worst, then a%b|c, then the rest by name.
  const size_t worst = first.find(">worst<");
  const size_t hostile = first.find(">a%b|c<");
  REQUIRE(worst != std::string::npos);
  REQUIRE(hostile != std::string::npos);
  CHECK(worst < hostile);
  CHECK(hostile < first.find(">topic-1000<"));
  CHECK(first.find("href=\"/topics/a%25b%7Cc\"") != std::string::npos);
  CHECK(first.find("<td>1234</td>") != std::string::npos);
  CHECK(first.find("(3 s ago)") != std::string::npos);
  CHECK(first.find(">topic-1249<") == std::string::npos);

  page.offset = 200;
  const std::string second = render_landing_page(page);
  CHECK(second.find(">topic-1249<") != std::string::npos);
  CHECK(second.find("Topics 201&ndash;252 of 252") != std::string::npos);
  CHECK(second.find("href=\"/?offset=0\"") != std::string::npos);
}
