#include "timing_sidecar/exposition.hpp"

#include <catch2/catch.hpp>

#include "support/metrics_text.hpp"

using namespace timing_sidecar;
using timing_sidecar::testing::parse_exposition;

TEST_CASE("exposition: label values escape backslash, quote and line feed", "[exposition]") {
  CHECK(escape_label_value(R"(a\b)") == R"(a\\b)");
  CHECK(escape_label_value(R"(say "hi")") == R"(say \"hi\")");
  CHECK(escape_label_value("two\nlines") == R"(two\nlines)");
  CHECK(escape_label_value("plain-topic_1") == "plain-topic_1");
}

TEST_CASE("exposition: every family has one HELP and one TYPE line, even with no series",
          "[exposition]") {
  TopicFamiliesWriter writer({}, true);
  SeriesStore empty;
  writer.add(empty);
  std::string text;
  writer.finish(text);
  const auto parsed = parse_exposition(text);
  for (const char* family :
       {"rocketmq_timing_messages", "rocketmq_timer_enqueue_total", "rocketmq_timer_dequeue_total",
        "rocketmq_timing_messages_overdue", "rocketmq_timer_message_snapshot"}) {
    CHECK(parsed.help_lines.at(family) == 1);
    CHECK(parsed.type_lines.at(family) == 1);
  }
  CHECK(parsed.samples.empty());
}

TEST_CASE("exposition: per-topic series carry escaped constant labels and the values",
          "[exposition]") {
  SeriesStore store;
  const TopicKey slot = store.find_or_add("orders");
  store.at(slot).enqueued = 7;
  store.at(slot).dequeued = 3;
  store.on_added(slot, range_phase(2));
  store.on_added(slot, range_phase(8));
  store.on_added(slot, Phase::kDue);
  store.on_moved(slot, Phase::kDue, Phase::kOverdue);

  TopicFamiliesWriter writer({"prod \"east\"", "broker-a\\0"}, true);
  writer.add(store);
  std::string text;
  writer.finish(text);
  const auto parsed = parse_exposition(text);
  const std::string labels = R"(cluster="prod \"east\"",node_id="broker-a\\0",topic="orders")";
  CHECK(parsed.value("rocketmq_timing_messages{" + labels + "}") == 3);
  CHECK(parsed.value("rocketmq_timer_enqueue_total{" + labels + "}") == 7);
  CHECK(parsed.value("rocketmq_timer_dequeue_total{" + labels + "}") == 3);
  CHECK(parsed.value("rocketmq_timing_messages_overdue{" + labels + "}") == 1);
  CHECK(parsed.value("rocketmq_timer_message_snapshot{" + labels + R"(,timer_bound_s="300"})") ==
        1);
  CHECK(parsed.value("rocketmq_timer_message_snapshot{" + labels + R"(,timer_bound_s="+Inf"})") ==
        1);
  CHECK(parsed.value("rocketmq_timer_message_snapshot{" + labels + R"(,timer_bound_s="5"})") == 0);
  CHECK(parsed.count("rocketmq_timer_message_snapshot{") == kSnapshotRanges);
}

TEST_CASE("exposition: the snapshot collapses to one broker-wide family when asked",
          "[exposition]") {
  SeriesStore store;
  for (const char* topic : {"a", "b"}) {
    const TopicKey slot = store.find_or_add(topic);
    store.on_added(slot, range_phase(0));
    store.on_added(slot, range_phase(4));
  }
  TopicFamiliesWriter writer({"c1", ""}, false);
  writer.add(store);
  std::string text;
  writer.finish(text);
  const auto parsed = parse_exposition(text);
  CHECK(parsed.count("rocketmq_timer_message_snapshot{") == kSnapshotRanges);
  CHECK(parsed.value(R"(rocketmq_timer_message_snapshot{cluster="c1",timer_bound_s="5"})") == 2);
  CHECK(parsed.value(R"(rocketmq_timer_message_snapshot{cluster="c1",timer_bound_s="3600"})") == 2);
  CHECK(parsed.value(R"(rocketmq_timing_messages{cluster="c1",topic="a"})") == 2);
}
