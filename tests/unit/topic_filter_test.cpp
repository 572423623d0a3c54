// --topics.include / --topics.exclude: anchored RE2 filters, and an engine that never tracks a
// topic they refuse, from any input, nor keeps one from a snapshot taken before they changed.

#include "timing_sidecar/topic_filter.hpp"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "support/events.hpp"
#include "timing_sidecar/engine.hpp"
#include "timing_sidecar/journal.hpp"

using namespace timing_sidecar;
using timing_sidecar::testing::make_event;

namespace {

constexpr int64_t kStartMs = 1'700'000'000'000;

std::shared_ptr<const TopicFilter> filter(const std::string& include, const std::string& exclude) {
  auto made = TopicFilter::make(include, exclude);
  if (auto* error = std::get_if<std::string>(&made)) FAIL(*error);
  return std::get<std::shared_ptr<const TopicFilter>>(made);
}

class CountingObserver final : public EngineObserver {
 public:
  void on_event(EventSource, EventType) override {}
  void on_ignored(std::string_view reason) override { ++ignored[std::string(reason)]; }
  void on_series_removed(std::string_view, size_t) override {}
  void on_delivery_lateness(double) override {}
  void on_timers_fired(size_t) override {}
  void on_tombstones_forgotten(const ForgottenTombstones&) override {}
  std::map<std::string, size_t> ignored;
};

std::string metrics_of(Engine& engine) {
  std::string text;
  engine.write_metrics(text);
  return text;
}

}  // namespace

TEST_CASE("topic filter: anchored at both ends, as Prometheus anchors relabelling", "[filter]") {
  const auto exclude_tmp = filter("", "tmp-.*");
  CHECK_FALSE(exclude_tmp->admits("tmp-scratch"));
  CHECK(exclude_tmp->admits("my-tmp-scratch"));
  CHECK(exclude_tmp->admits("tmp"));
  // An alternation is anchored as a whole: "a|b" is ^(?:a|b)$, not ^a|b$.
  const auto include_ab = filter("a|b", "");
  CHECK(include_ab->admits("a"));
  CHECK(include_ab->admits("b"));
  CHECK_FALSE(include_ab->admits("ab"));
  CHECK_FALSE(include_ab->admits("xb"));
  // Both: included and not excluded. RocketMQ's % and | are ordinary characters in names.
  const auto both = filter("orders-.*|a%b\\|c", "orders-test-.*");
  CHECK(both->admits("orders-eu"));
  CHECK(both->admits("a%b|c"));
  CHECK_FALSE(both->admits("orders-test-1"));
  CHECK_FALSE(both->admits("payments"));
  CHECK(filter("", "")->admits("anything"));
}

TEST_CASE("topic filter: an expression RE2 refuses is an error naming the flag", "[filter]") {
  auto made = TopicFilter::make("orders-(", "");
  REQUIRE(std::holds_alternative<std::string>(made));
  CHECK_THAT(std::get<std::string>(made),
             Catch::Contains("--topics.include \"orders-(\"") && Catch::Contains("missing )"));
  made = TopicFilter::make("", "[z-a]");
  REQUIRE(std::holds_alternative<std::string>(made));
  CHECK_THAT(std::get<std::string>(made), Catch::Contains("--topics.exclude"));
}

TEST_CASE("engine: a filtered topic is never tracked, by events or lists", "[filter][engine]") {
  ManualClock clock(kStartMs);
  CountingObserver observer;
  EngineConfig config;
  config.filter = filter("", "tmp-.*");
  Engine engine(config, clock, observer);
  const ApplyResult result =
      engine.apply({make_event(EventType::kTopicCreated, "tmp-scratch"),
                    make_event(EventType::kTimerEnqueued, "tmp-scratch", "m1", kStartMs + 60'000),
                    make_event(EventType::kTimerEnqueued, "orders", "m1", kStartMs + 60'000),
                    make_event(EventType::kTimerDequeued, "tmp-scratch", "m1"),
                    make_event(EventType::kTopicDeleted, "tmp-scratch", "", 0, 7)},
                   EventSource::kWebhook);
  CHECK(result.accepted == 1);
  CHECK(result.ignored == 4);
  CHECK(observer.ignored["filtered"] == 4);

  // A list naming it (topics.json, the dashboard, the feed's relist) does not track it either.
  TopicList list;
  list.stamp.requested_at_ms = kStartMs;
  list.topics = {{"orders", std::nullopt}, {"tmp-other", std::nullopt}};
  const ListAdmission admission = engine.admit_list(list);
  CHECK(admission.created == 0);
  CHECK(admission.live == 1);
  engine.adopt_broker_counts({{"tmp-scratch", 5}}, CountMode::kMirror);

  const std::string text = metrics_of(engine);
  CHECK(text.find("orders") != std::string::npos);
  CHECK(text.find("tmp-") == std::string::npos);
  const EngineStats stats = engine.stats();
  CHECK(stats.topics == 1);
  CHECK(stats.names == 1);  // no name held, not even for a tombstone
  CHECK(stats.tombstones == 0);
  CHECK(stats.pending == 1);
  CHECK(engine.topic_detail("tmp-scratch", 10).status == TopicDetail::Status::kUnknown);
}

TEST_CASE("engine: topics the filters now refuse are left out of a saved state",
          "[filter][engine]") {
  ManualClock clock(kStartMs);
  CountingObserver observer;
  Engine before(EngineConfig{}, clock, observer);
  before.apply({make_event(EventType::kTimerEnqueued, "orders", "o1", kStartMs + 60'000),
                make_event(EventType::kTimerEnqueued, "tmp-a", "t1", kStartMs + 60'000),
                make_event(EventType::kTimerEnqueued, "tmp-a", "t2", kStartMs + 90'000),
                make_event(EventType::kTimerEnqueued, "tmp-b", "t1", kStartMs + 60'000),
                make_event(EventType::kTopicDeleted, "tmp-b", "", 0, 3),
                make_event(EventType::kTimerEnqueued, "keep", "k1", kStartMs + 60'000)},
               EventSource::kWebhook);
  const std::string path =
      (std::filesystem::temp_directory_path() / ("filter-test-" + std::to_string(getpid())))
          .string();
  std::filesystem::remove(path);
  {
    RecordWriter out(path, FileKind::kSnapshot, 1);
    std::lock_guard lock(before.list_mutex());
    before.export_header(out);
    for (size_t shard = 0; shard < Engine::shard_count(); ++shard)
      before.export_shard(shard, 0, out);
  }
  std::ifstream file(path, std::ios::binary);
  std::stringstream bytes;
  bytes << file.rdbuf();
  std::filesystem::remove(path);

  EngineConfig config;
  config.filter = filter("", "tmp-.*");
  Engine after(config, clock, observer);
  const std::string snapshot = bytes.str();  // the reader holds a view of it
  RecordReader reader(snapshot, FileKind::kSnapshot);
  std::vector<std::string> restored;
  after.import_state(reader,
                     [&](std::string_view topic, uint64_t) { restored.emplace_back(topic); });
  std::sort(restored.begin(), restored.end());
  CHECK(restored == std::vector<std::string>{"keep", "orders"});
  const EngineStats stats = after.stats();
  CHECK(stats.topics == 2);
  CHECK(stats.pending == 2);
  CHECK(stats.tombstones == 0);
  CHECK(stats.names == 2);
  CHECK(metrics_of(after).find("tmp-") == std::string::npos);
  CHECK(after.topic_detail("tmp-a", 10).status == TopicDetail::Status::kUnknown);
  CHECK(after.topic_detail("orders", 10).messages.upcoming.size() == 1);
}
