// rocketmq-dashboard's topic list as a source, one poll() at a time on an in-memory DashboardApi
// and a ManualClock: no socket, no sleep. End to end in tests/integration/feed_test.cpp.

#include "dashboard_source.hpp"

#include <catch2/catch.hpp>
#include <deque>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/sidecar_probe.hpp"

using namespace timing_sidecar;
using nlohmann::json;

namespace {

constexpr int64_t kStartMs = 1'767'225'600'000;  // 2026-01-01T00:00:00Z

std::string dashboard_list(const std::vector<std::string>& topics) {
  return json{{"status", 0},
              {"data", {{"topicList", topics}, {"brokerAddr", nullptr}}},
              {"errMsg", nullptr}}
      .dump();
}

constexpr const char* kRefusal =
    R"({"status":-1,"data":null,"errMsg":"CODE: 1  DESC: connect to null failed"})";

// Answers from its script, in order, then the last answer again and again.
class FakeDashboardApi final : public DashboardApi {
 public:
  void answer(int status, std::string body) {
    HttpResult result;
    result.status = status;
    result.body = std::move(body);
    script_.push_back(std::move(result));
  }
  void fail(HttpFailure failure) {
    HttpResult result;
    result.failure = failure;
    result.error = "injected";
    script_.push_back(std::move(result));
  }
  HttpResult topic_list() override {
    ++calls;
    if (!script_.empty()) {
      last_ = std::move(script_.front());
      script_.pop_front();
    }
    return last_;
  }
  void cancel() override {}

  int calls = 0;

 private:
  std::deque<HttpResult> script_;
  HttpResult last_;
};

struct DashboardSidecar {
  DashboardSidecar()
      : sidecar(config, clock),
        metrics(sidecar.metrics().registry(), sidecar.engine().config().labels),
        source(config, sidecar, api, clock,
               SourceHealth(metrics, "dashboard", "http://dashboard.test",
                            [this] { ++first_states; })) {}

  std::vector<std::string> topics() { return testing::topic_names(sidecar); }
  double metric(const std::string& series) { return testing::scraped(sidecar, series); }
  double errors(const std::string& reason) {
    return metric(R"(timing_sidecar_source_errors_total{reason=")" + reason +
                  R"(",source="dashboard"})");
  }

  Config config;
  ManualClock clock{kStartMs};
  FakeDashboardApi api;
  Sidecar sidecar;
  SourceMetrics metrics;
  int first_states = 0;
  DashboardSource source;
};

}  // namespace

TEST_CASE("dashboard: its list is applied, system topics left out, each poll a fresh list",
          "[sources]") {
  DashboardSidecar tailed;
  tailed.api.answer(200, kRefusal);
  tailed.source.poll();
  CHECK(tailed.errors("dashboard_status") == 1);
  CHECK(tailed.metric(R"(timing_sidecar_source_up{source="dashboard"})") == 0);
  CHECK(tailed.first_states == 0);

  tailed.api.answer(200, dashboard_list({"a", "b", "c", "TBW102", "rmq_sys_wheel_timer"}));
  tailed.source.poll();
  CHECK(tailed.topics() == std::vector<std::string>{"a", "b", "c"});
  CHECK(tailed.first_states == 1);
  CHECK(tailed.metric(R"(timing_sidecar_source_up{source="dashboard"})") == 1);
  CHECK(tailed.metric(
            R"(timing_sidecar_source_last_success_timestamp_seconds{source="dashboard"})") ==
        kStartMs / 1000.0);

  tailed.api.answer(200, dashboard_list({"a", "b"}));
  tailed.clock.advance(1'000);
  tailed.source.poll();
  CHECK(tailed.topics() == std::vector<std::string>{"a", "b"});
  CHECK(tailed.metric(
            R"(timing_sidecar_source_last_success_timestamp_seconds{source="dashboard"})") ==
        (kStartMs + 1'000) / 1000.0);
  CHECK(tailed.api.calls == 3);
}

TEST_CASE("dashboard: its errors change nothing", "[sources]") {
  DashboardSidecar tailed;
  tailed.api.answer(200, dashboard_list({"a", "b", "c"}));
  tailed.api.answer(200, kRefusal);
  tailed.api.answer(502, "<html>Bad Gateway</html>");
  tailed.api.answer(200, "{");
  tailed.api.fail(HttpFailure::kConnect);
  tailed.api.fail(HttpFailure::kTimeout);
  tailed.api.fail(HttpFailure::kConnectionLost);
  tailed.api.fail(HttpFailure::kCancelled);
  for (int poll = 0; poll < 8; ++poll) tailed.source.poll();
  CHECK(tailed.topics() == std::vector<std::string>{"a", "b", "c"});
  CHECK(tailed.errors("dashboard_status") == 1);
  CHECK(tailed.errors("http_status") == 1);
  CHECK(tailed.errors("malformed") == 1);
  CHECK(tailed.errors("connect") == 1);
  CHECK(tailed.errors("timeout") == 1);
  CHECK(tailed.errors("connection_lost") == 1);  // and a cancelled request is no error
  CHECK(tailed.metric(R"(timing_sidecar_source_up{source="dashboard"})") == 0);
}

TEST_CASE("dashboard: a list that would drop 90% is applied by the next poll that confirms it",
          "[sources]") {
  DashboardSidecar tailed;
  std::vector<std::string> ten;
  for (int i = 0; i < 10; ++i) ten.push_back("t" + std::to_string(i));
  tailed.api.answer(200, dashboard_list(ten));
  tailed.api.answer(200, dashboard_list({"t0"}));
  tailed.source.poll();
  // A list drops only topics first seen before it was asked for.
  tailed.clock.advance(1'000);
  tailed.source.poll();
  const std::string held =
      R"(timing_sidecar_list_drops_total{outcome="held_back",source="dashboard"})";
  CHECK(tailed.metric(held) == 9);
  CHECK(tailed.topics().size() == 10);
  tailed.clock.advance(1'000);
  tailed.source.poll();
  CHECK(tailed.topics() == std::vector<std::string>{"t0"});
  CHECK(tailed.metric(R"(timing_sidecar_list_drops_total{outcome="dropped",source="dashboard"})") ==
        9);
}
