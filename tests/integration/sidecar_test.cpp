#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "integration/sidecar_process.hpp"
#include "support/metrics_text.hpp"

using test_support::now_ms;
using test_support::Sidecar;
using test_support::TempDir;
using timing_sidecar::testing::parse_exposition;

namespace {

nlohmann::json post_events(const Sidecar& sidecar, const nlohmann::json& body,
                           int expected_status = 200) {
  auto reply = sidecar.webhook().Post("/v1/events", body.dump(), "application/json");
  REQUIRE(reply);
  INFO(reply->body);
  REQUIRE(reply->status == expected_status);
  return nlohmann::json::parse(reply->body);
}

nlohmann::json enqueue(const std::string& topic, const std::string& id, int64_t delay_ms) {
  return {{"type", "timer.enqueued"},
          {"topic", topic},
          {"id", id},
          {"deliverAtMs", now_ms() + delay_ms}};
}

std::string pending_series(const std::string& topic) {
  return "rocketmq_timing_messages{topic=\"" + topic + "\"}";
}

}  // namespace

TEST_CASE("sidecar: webhook events become per-topic series, deletion removes them at once",
          "[integration]") {
  TempDir dir("sidecar-test");
  Sidecar sidecar(dir, "sidecar", {});

  nlohmann::json batch = nlohmann::json::array();
  for (int topic = 0; topic < 20; ++topic) {
    for (int message = 0; message < 5; ++message) {
      batch.push_back(enqueue("topic-" + std::to_string(topic),
                              std::to_string(topic) + "-" + std::to_string(message), 600'000));
    }
  }
  CHECK(post_events(sidecar, {{"events", batch}})["accepted"] == 100);
  auto parsed = parse_exposition(sidecar.metrics());
  CHECK(parsed.count("rocketmq_timing_messages{") == 20);
  CHECK(parsed.value(pending_series("topic-7")) == 5);

  // Each deletion's reply comes only after the series are gone: the very next scrape lacks them.
  for (int topic = 0; topic < 20; topic += 2) {
    const std::string name = "topic-" + std::to_string(topic);
    CHECK(post_events(sidecar, {{"type", "topic.deleted"}, {"topic", name}})["accepted"] == 1);
    CHECK_FALSE(parse_exposition(sidecar.metrics()).has(pending_series(name)));
  }
  // Late events for deleted topics are ignored and bring nothing back.
  const auto late = post_events(
      sidecar,
      nlohmann::json::array({{{"type", "timer.dequeued"}, {"topic", "topic-0"}, {"id", "0-0"}},
                             enqueue("topic-2", "late", 1000)}));
  CHECK(late["ignored"] == 2);
  parsed = parse_exposition(sidecar.metrics());
  CHECK(parsed.count("rocketmq_timing_messages{") == 10);
  CHECK_FALSE(parsed.has(pending_series("topic-2")));
  CHECK(parsed.value("timing_sidecar_events_ignored_total{reason=\"tombstoned\"}") == 2);
  CHECK(parsed.value("timing_sidecar_topics") == 10);
  CHECK(parsed.value("timing_sidecar_series_removed_total{reason=\"deleted\"}") == 10 * 13);
  CHECK(parsed.value("timing_sidecar_reconcile_runs_total{trigger=\"scrape\"}") >= 12);

  // An explicit topic.created brings a deleted topic back, from zero.
  post_events(sidecar, {{"type", "topic.created"}, {"topic", "topic-0"}});
  CHECK(parse_exposition(sidecar.metrics()).value(pending_series("topic-0")) == 0);
}

TEST_CASE("sidecar: a rejected batch changes nothing", "[integration]") {
  TempDir dir("sidecar-test");
  Sidecar sidecar(dir, "sidecar", {});
  const auto error =
      post_events(sidecar,
                  nlohmann::json::array({enqueue("fine", "a", 1000),
                                         {{"type", "timer.enqueued"},
                                          {"topic", "fine"},
                                          {"id", "b"},
                                          {"deliverAtMs", now_ms() + 5LL * 86'400'000}}}),
                  400);
  CHECK_THAT(error["error"].get<std::string>(), Catch::Contains("events[1].deliverAtMs"));
  const auto parsed = parse_exposition(sidecar.metrics());
  CHECK(parsed.count("rocketmq_timing_messages{") == 0);
  CHECK(parsed.value("timing_sidecar_events_rejected_total{reason=\"invalid_time\"}") == 1);
}

TEST_CASE("sidecar: webhook events for RocketMQ's system topics are ignored", "[integration]") {
  TempDir dir("sidecar-test");
  Sidecar sidecar(dir, "sidecar", {});
  const auto reply =
      post_events(sidecar, nlohmann::json::array({enqueue("rmq_sys_wheel_timer", "s1", 60'000),
                                                  enqueue("SCHEDULE_TOPIC_XXXX", "s2", 60'000),
                                                  enqueue("orders", "o1", 60'000)}));
  CHECK(reply["accepted"] == 1);
  CHECK(reply["ignored"] == 2);
  const auto parsed = parse_exposition(sidecar.metrics());
  CHECK(parsed.count("rocketmq_timing_messages{") == 1);
  CHECK(parsed.value(pending_series("orders")) == 1);
  CHECK(parsed.value("timing_sidecar_events_ignored_total{reason=\"system_topic\"}") == 2);
}

TEST_CASE("sidecar: the sweep reconciles without scrapes and says so in its metrics",
          "[integration]") {
  TempDir dir("sidecar-test");
  Sidecar sidecar(dir, "sidecar", {"--reconcile.interval", "100ms"});
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  const auto parsed = parse_exposition(sidecar.metrics());
  CHECK(parsed.value("timing_sidecar_reconcile_runs_total{trigger=\"sweep\"}") >= 3);
  CHECK(parsed.value("timing_sidecar_reconcile_last_success_timestamp_seconds") >
        static_cast<double>(now_ms()) / 1000.0 - 5);
}

// [concurrency]: scripts/test-sanitizers.sh also runs it against a ThreadSanitizer build.
TEST_CASE("sidecar: scrapes stay consistent while batches and deletions run",
          "[integration][concurrency]") {
  TempDir dir("sidecar-test");
  Sidecar sidecar(dir, "sidecar", {});
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  std::thread writer([&] {
    for (int round = 0; round < 200 && !stop; ++round) {
      const std::string topic = "churn-" + std::to_string(round % 10);
      nlohmann::json batch = nlohmann::json::array();
      for (int m = 0; m < 50; ++m)
        batch.push_back(enqueue(topic, std::to_string(round) + "-" + std::to_string(m), 90'000));
      batch.push_back({{"type", "topic.deleted"}, {"topic", topic}});
      batch.push_back({{"type", "topic.created"}, {"topic", topic}});
      auto reply = sidecar.webhook().Post("/v1/events", batch.dump(), "application/json");
      if (!reply || reply->status != 200) ++failures;
    }
    stop = true;
  });
  int scrapes = 0;
  while (!stop && scrapes < 2000) {
    const auto parsed = parse_exposition(sidecar.metrics());
    ++scrapes;
    // Each batch deletes and re-creates its topic: a scrape never sees its messages pending.
    for (int t = 0; t < 10; ++t) {
      const double pending = parsed.value(pending_series("churn-" + std::to_string(t)), 0);
      if (pending != 0) {
        ++failures;
        FAIL_CHECK("churn-" << t << " shows " << pending << " pending");
      }
    }
  }
  writer.join();
  CHECK(failures == 0);
  CHECK(scrapes > 0);
}

TEST_CASE("sidecar: SIGTERM shuts down cleanly", "[integration]") {
  TempDir dir("sidecar-test");
  Sidecar sidecar(dir, "sidecar", {"--log.format", "json"});
  REQUIRE(sidecar.web().Get("/healthz")->status == 200);
  sidecar.process().send_signal(SIGTERM);
  const auto status = sidecar.process().wait_for_exit(std::chrono::seconds(5));
  REQUIRE(status);
  CHECK(status->code == 0);
  CHECK_THAT(sidecar.log(), Catch::Contains(R"("msg":"shutting down")"));
}
