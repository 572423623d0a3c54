#include "timing_sidecar/rocketmq_files.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

using namespace timing_sidecar;

namespace {

constexpr int64_t kRequestedAtMs = 1'700'000'005'000;

std::string fixture(const std::string& name) {
  const auto path = std::filesystem::path(__FILE__).parent_path().parent_path() / "fixtures" / name;
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in);
  std::ostringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

ParsedTopics expect_topics(const ParsedTopicsResult& result) {
  if (const auto* error = std::get_if<SourceError>(&result)) {
    FAIL("unexpected error: " << error->reason << ": " << error->message);
  }
  return std::get<ParsedTopics>(result);
}

SourceError expect_error(const ParsedTopicsResult& result) {
  if (const auto* parsed = std::get_if<ParsedTopics>(&result)) {
    FAIL("unexpected success with " << parsed->list.topics.size() << " topics");
  }
  return std::get<SourceError>(result);
}

std::vector<std::string> names(const TopicList& list) {
  std::vector<std::string> result;
  for (const ListedTopic& topic : list.topics) result.push_back(topic.name);
  std::sort(result.begin(), result.end());
  return result;
}

std::optional<int64_t> timing_of(const TopicList& list, const std::string& name) {
  for (const ListedTopic& topic : list.topics) {
    if (topic.name == name) return topic.timing;
  }
  FAIL("no topic " << name);
  return std::nullopt;
}

}  // namespace

TEST_CASE("system topics are recognised by RocketMQ's own rules") {
  for (const char* topic :
       {"TBW102", "SCHEDULE_TOPIC_XXXX", "SCHEDULE_TOPIC_XXXX_V2", "BenchmarkTest",
        "RMQ_SYS_TRANS_HALF_TOPIC", "RMQ_SYS_TRANS_OP_HALF_TOPIC", "RMQ_SYS_TRACE_TOPIC",
        "TRANS_CHECK_MAX_TIME_TOPIC", "SELF_TEST_TOPIC", "OFFSET_MOVED_EVENT",
        "rmq_sys_REVIVE_LOG_DefaultCluster", "rmq_sys_wheel_timer",
        "rmq_sys_SYNC_BROKER_MEMBER_broker-a", "%LMQ%room-1", "%RETRY%%LMQ%room-1"}) {
    INFO(topic);
    CHECK(is_system_topic(topic));
  }
  for (const char* topic :
       {"order-timeouts", "%RETRY%order-consumers", "%DLQ%order-consumers", "DefaultCluster",
        "tbw102", "schedule_topic_xxxx", "RMQ_SYS", "my_rmq_sys_topic", "LMQ"}) {
    INFO(topic);
    CHECK_FALSE(is_system_topic(topic));
  }
}

TEST_CASE("topics.json lists the user topics with dataVersion.counter as revision") {
  const ParsedTopics parsed =
      expect_topics(parse_topics_json(fixture("topics.json"), kRequestedAtMs));
  CHECK(parsed.list.stamp.revision == 12);
  CHECK(parsed.list.stamp.requested_at_ms == kRequestedAtMs);
  CHECK(parsed.invalid_names == 0);
  // The cluster's own topic is a system topic only by the broker's configuration: kept.
  CHECK(names(parsed.list) ==
        std::vector<std::string>{"%DLQ%order-consumers", "%RETRY%order-consumers", "DefaultCluster",
                                 "audit-log", "order-timeouts", "payment-reminders"});
  for (const ListedTopic& topic : parsed.list.topics) CHECK_FALSE(topic.timing);
}

TEST_CASE("topics.json without a dataVersion gives a list without revision") {
  const ParsedTopics parsed = expect_topics(
      parse_topics_json(R"({"topicConfigTable":{"T":{"topicName":"T"}}})", kRequestedAtMs));
  CHECK_FALSE(parsed.list.stamp.revision);
  CHECK(names(parsed.list) == std::vector<std::string>{"T"});
}

TEST_CASE("a topics.json caught half-written is refused at every length") {
  const std::string whole = fixture("topics.json");
  // Every cut that leaves the document unfinished; the last bytes are only whitespace.
  const size_t last_brace = whole.rfind('}');
  for (size_t length = 0; length < last_brace; length += 7) {
    INFO("cut at " << length << " of " << whole.size() << " bytes");
    CHECK(expect_error(parse_topics_json(whole.substr(0, length), kRequestedAtMs)).reason ==
          "malformed");
  }
}

TEST_CASE("topics.json of the wrong shape is refused") {
  for (const char* text :
       {"", "[]", "{}", R"({"topicConfigTable":[]})", R"({"topicConfigTable":{"T":1}})",
        R"({"dataVersion":{"counter":"12"},"topicConfigTable":{}})",
        R"({"dataVersion":{"counter":-1},"topicConfigTable":{}})",
        R"({"dataVersion":7,"topicConfigTable":{}})"}) {
    INFO(text);
    const SourceError error = expect_error(parse_topics_json(text, kRequestedAtMs));
    CHECK(error.reason == "malformed");
    CHECK_FALSE(error.message.empty());
  }
}

TEST_CASE("topic names RocketMQ would refuse are skipped and counted") {
  const ParsedTopics parsed = expect_topics(parse_topics_json(
      R"({"topicConfigTable":{"ok":{},"has space":{},"":{},"semi;colon":{}}})", kRequestedAtMs));
  CHECK(names(parsed.list) == std::vector<std::string>{"ok"});
  CHECK(parsed.invalid_names == 3);
}

TEST_CASE("timermetrics gives the broker's count per topic, system topics left out") {
  const ParsedTopics parsed = expect_topics(parse_timer_metrics(fixture("timermetrics")));
  CHECK(names(parsed.list) ==
        std::vector<std::string>{"deleted-last-week", "order-timeouts", "payment-reminders"});
  CHECK(timing_of(parsed.list, "order-timeouts") == 5);
  CHECK(timing_of(parsed.list, "payment-reminders") == 0);
  // Deleted topics keep their count in the file: the engine, not the parser, filters them.
  CHECK(timing_of(parsed.list, "deleted-last-week") == 17);
  CHECK(parsed.list.stamp.revision == 4711);
}

TEST_CASE("a timermetrics caught half-written or of the wrong shape is refused") {
  const std::string whole = fixture("timermetrics");
  const size_t last_brace = whole.rfind('}');
  for (size_t length = 0; length < last_brace; length += 5) {
    INFO("cut at " << length);
    CHECK(expect_error(parse_timer_metrics(whole.substr(0, length))).reason == "malformed");
  }
  for (const char* text : {R"({"timingCount":{"T":5}})", R"({"timingCount":{"T":{}}})",
                           R"({"timingCount":{"T":{"count":"5"}}})",
                           R"({"timingCount":{"T":{"count":1.5}}})", R"({"dataVersion":{}})"}) {
    INFO(text);
    CHECK(expect_error(parse_timer_metrics(text)).reason == "malformed");
  }
}

TEST_CASE("the dashboard's topic list is read without revision") {
  const ParsedTopics parsed = expect_topics(
      parse_dashboard_topic_list(fixture("dashboard-topic-list.json"), kRequestedAtMs));
  CHECK_FALSE(parsed.list.stamp.revision);
  CHECK(parsed.list.stamp.requested_at_ms == kRequestedAtMs);
  CHECK(names(parsed.list) == std::vector<std::string>{"%DLQ%order-consumers",
                                                       "%RETRY%order-consumers", "audit-log",
                                                       "order-timeouts", "payment-reminders"});
}

TEST_CASE("the dashboard's own error changes nothing") {
  const SourceError error =
      expect_error(parse_dashboard_topic_list(fixture("dashboard-error.json"), kRequestedAtMs));
  CHECK(error.reason == "dashboard_status");
  CHECK(error.message.find("status -1") != std::string::npos);
  CHECK(error.message.find("connect to null failed") != std::string::npos);
}

TEST_CASE("dashboard replies of the wrong shape are refused") {
  for (const char* body :
       {"<html><body>Login</body></html>", R"({"data":{"topicList":[]}})",
        R"({"status":"0","data":{"topicList":[]}})", R"({"status":0,"data":null})",
        R"({"status":0,"data":{"topicList":"T"}})", R"({"status":0,"data":{"topicList":[1]}})"}) {
    INFO(body);
    CHECK(expect_error(parse_dashboard_topic_list(body, kRequestedAtMs)).reason == "malformed");
  }
}

TEST_CASE("error messages quote the input short and printable") {
  const std::string hostile = "\x01\x02" + std::string(1000, 'x');
  const SourceError error = expect_error(parse_topics_json(hostile, kRequestedAtMs));
  CHECK(error.message.size() < 400);
  for (const char c : error.message) {
    CHECK((static_cast<unsigned char>(c) >= 0x20 && static_cast<unsigned char>(c) < 0x7f));
  }
}
