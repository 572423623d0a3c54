// RocketMQ's topics.json and timermetrics as sources, one poll() at a time on the test's thread
// and a ManualClock: no thread, no sleep. End to end (the sidecar's threads, RocketMQ's way of
// rewriting the files) in tests/integration/feed_test.cpp.

#include "file_sources.hpp"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/sidecar_probe.hpp"

using namespace timing_sidecar;
using nlohmann::json;

namespace {

constexpr int64_t kStartMs = 1'767'225'600'000;  // 2026-01-01T00:00:00Z

class TempDir {
 public:
  TempDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "file-sources-test-XXXXXX").string();
    path_ = mkdtemp(pattern.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// As RocketMQ persists its config files: written beside, then renamed into place (a new inode).
void replace_file(const std::string& path, const std::string& contents) {
  {
    std::ofstream out(path + ".tmp", std::ios::binary | std::ios::trunc);
    out << contents;
    REQUIRE(out.flush());
  }
  std::filesystem::rename(path + ".tmp", path);
}

std::string topics_json(int64_t counter, const std::vector<std::string>& topics) {
  json table = json::object();
  for (const std::string& topic : topics) {
    table[topic] = {{"attributes", {{"message.type", "DELAY"}}}, {"topicName", topic}};
  }
  return json{{"dataVersion", {{"counter", counter}}}, {"topicConfigTable", table}}.dump();
}

std::string timer_metrics(const std::vector<std::pair<std::string, int>>& counts) {
  json table = json::object();
  for (const auto& [topic, count] : counts) table[topic] = {{"count", count}, {"timeStamp", 1}};
  return json{{"dataVersion", {{"counter", 1}}}, {"timingCount", table}}.dump();
}

std::vector<std::string> numbered(const std::string& prefix, int count) {
  std::vector<std::string> names;
  for (int i = 0; i < count; ++i) names.push_back(prefix + std::to_string(i));
  return names;
}

struct FileSidecar {
  FileSidecar()
      : config([] {
          Config c;
          c.broker_resync_interval_ms = 60'000;
          return c;
        }()),
        sidecar(config, clock),
        metrics(sidecar.metrics().registry(), sidecar.engine().config().labels) {}

  SourceHealth health(const std::string& source, const std::string& path) {
    return SourceHealth(metrics, source, path, [this] { ++first_states; });
  }

  std::vector<std::string> topics() { return testing::topic_names(sidecar); }
  uint32_t pending(const std::string& topic) { return testing::pending_of(sidecar, topic); }
  double metric(const std::string& series) { return testing::scraped(sidecar, series); }

  TempDir dir;
  Config config;
  ManualClock clock{kStartMs};
  Sidecar sidecar;
  SourceMetrics metrics;
  int first_states = 0;
};

}  // namespace

TEST_CASE("topics.json: applied at once, and again only once it changes", "[sources]") {
  FileSidecar tailed;
  const std::string path = tailed.dir.file("topics.json");
  replace_file(path, topics_json(1, {"a", "b"}));
  TopicsFile file(tailed.config, tailed.sidecar, tailed.clock, path,
                  tailed.health("topics_file", path));
  file.poll();
  CHECK(tailed.topics() == std::vector<std::string>{"a", "b"});
  CHECK(tailed.first_states == 1);
  CHECK(tailed.metric(R"(timing_sidecar_source_up{source="topics_file"})") == 1);
  // The injected clock stamps the success.
  CHECK(tailed.metric(
            R"(timing_sidecar_source_last_success_timestamp_seconds{source="topics_file"})") ==
        kStartMs / 1000.0);

  tailed.clock.advance(1'000);
  file.poll();  // unchanged: not applied again, so not stamped again
  CHECK(tailed.metric(
            R"(timing_sidecar_source_last_success_timestamp_seconds{source="topics_file"})") ==
        kStartMs / 1000.0);

  replace_file(path, topics_json(2, {"a", "b", "c"}));
  file.poll();
  CHECK(tailed.topics() == std::vector<std::string>{"a", "b", "c"});
  CHECK(tailed.metric(
            R"(timing_sidecar_source_last_success_timestamp_seconds{source="topics_file"})") ==
        (kStartMs + 1'000) / 1000.0);
  CHECK(tailed.first_states == 1);
}

TEST_CASE(
    "topics.json: a held-back list is confirmed when the unchanged file is applied again "
    "at --broker.resync-interval",
    "[sources]") {
  FileSidecar tailed;
  const std::string path = tailed.dir.file("topics.json");
  replace_file(path, topics_json(1, numbered("t", 10)));
  TopicsFile file(tailed.config, tailed.sidecar, tailed.clock, path,
                  tailed.health("topics_file", path));
  file.poll();
  REQUIRE(tailed.topics().size() == 10);

  replace_file(path, topics_json(2, {"t0"}));
  file.poll();
  const std::string held =
      R"(timing_sidecar_list_drops_total{outcome="held_back",source="topics_file"})";
  const std::string dropped =
      R"(timing_sidecar_list_drops_total{outcome="dropped",source="topics_file"})";
  CHECK(tailed.metric(held) == 9);
  CHECK(tailed.topics().size() == 10);

  tailed.clock.advance(60'000 - 1);  // the file is unchanged: not yet its time
  file.poll();
  CHECK(tailed.metric(held) == 9);
  CHECK(tailed.metric(dropped) == 0);
  tailed.clock.advance(1);
  file.poll();
  CHECK(tailed.metric(dropped) == 9);
  CHECK(tailed.topics() == std::vector<std::string>{"t0"});
}

TEST_CASE("topics.json: a file missing or refused keeps the last good list, and is retried",
          "[sources]") {
  FileSidecar tailed;
  const std::string path = tailed.dir.file("topics.json");
  TopicsFile file(tailed.config, tailed.sidecar, tailed.clock, path,
                  tailed.health("topics_file", path));
  file.poll();
  CHECK(tailed.metric(
            R"(timing_sidecar_source_errors_total{reason="missing",source="topics_file"})") == 1);
  CHECK(tailed.metric(R"(timing_sidecar_source_up{source="topics_file"})") == 0);
  CHECK(tailed.first_states == 0);

  replace_file(path, topics_json(1, {"a", "b"}));
  file.poll();
  CHECK(tailed.topics() == std::vector<std::string>{"a", "b"});
  CHECK(tailed.first_states == 1);

  const std::string next = topics_json(2, {"a"});
  replace_file(path, next.substr(0, next.size() / 2));  // caught half-written
  file.poll();
  file.poll();  // unchanged, but failing: read again, and refused again
  const std::string malformed =
      R"(timing_sidecar_source_errors_total{reason="malformed",source="topics_file"})";
  CHECK(tailed.metric(malformed) == 2);
  CHECK(tailed.metric(R"(timing_sidecar_source_up{source="topics_file"})") == 0);
  CHECK(tailed.topics() == std::vector<std::string>{"a", "b"});

  replace_file(path, next);
  file.poll();
  CHECK(tailed.topics() == std::vector<std::string>{"a"});
  CHECK(tailed.metric(R"(timing_sidecar_source_up{source="topics_file"})") == 1);
  CHECK(tailed.metric(malformed) == 2);

  // Gone for a poll and back as it was (the same inode and times): read again, and working again.
  std::filesystem::rename(path, path + ".away");
  file.poll();
  CHECK(tailed.metric(R"(timing_sidecar_source_up{source="topics_file"})") == 0);
  std::filesystem::rename(path + ".away", path);
  tailed.clock.advance(1'000);
  file.poll();
  CHECK(tailed.metric(R"(timing_sidecar_source_up{source="topics_file"})") == 1);
  CHECK(tailed.metric(
            R"(timing_sidecar_source_last_success_timestamp_seconds{source="topics_file"})") ==
        (kStartMs + 1'000) / 1000.0);
}

TEST_CASE("timermetrics: counts mirrored for live topics, applied again every poll", "[sources]") {
  FileSidecar tailed;
  tailed.config.timer_metrics_file = tailed.dir.file("timermetrics");
  replace_file(tailed.config.timer_metrics_file,
               timer_metrics({{"live", 4}, {"later", 2}, {"rmq_sys_wheel", 9}}));
  TimerMetricsFile file(tailed.config, tailed.sidecar, tailed.clock,
                        tailed.health("timer_metrics", tailed.config.timer_metrics_file));
  REQUIRE(tailed.sidecar.ingest(R"({"type":"topic.created","topic":"live"})", EventSource::kWebhook)
              .status == 200);
  file.poll();
  CHECK(tailed.pending("live") == 4);
  CHECK(tailed.pending("later") == UINT32_MAX);  // not live: its count is not a topic
  CHECK(tailed.first_states == 1);

  // A topic made live after the file was read gets its count at the next poll, the file unread.
  REQUIRE(
      tailed.sidecar.ingest(R"({"type":"topic.created","topic":"later"})", EventSource::kWebhook)
          .status == 200);
  file.poll();
  CHECK(tailed.pending("later") == 2);

  // A count the file no longer names is nothing pending.
  replace_file(tailed.config.timer_metrics_file, timer_metrics({{"live", 1}}));
  file.poll();
  CHECK(tailed.pending("live") == 1);
  CHECK(tailed.pending("later") == 0);

  replace_file(tailed.config.timer_metrics_file, "{");
  file.poll();
  CHECK(tailed.metric(
            R"(timing_sidecar_source_errors_total{reason="malformed",source="timer_metrics"})") ==
        1);
  CHECK(tailed.pending("live") == 1);  // the last good counts stay
}
