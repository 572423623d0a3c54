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
  const SeriesSlot slot = store.find_or_add("orders");
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
    const SeriesSlot slot = store.find_or_add(topic);
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

// The exact bytes: family order, HELP and TYPE text, label order, values. Scrapers and the rules
// in deploy/ see exactly this.
TEST_CASE("exposition: the text is byte for byte the one scrapers know", "[exposition]") {
  const auto render = [](bool snapshot_per_topic) {
    SeriesStore store;
    const auto a = store.find_or_add("a");
    store.at(a).enqueued = 12;
    store.at(a).dequeued = 10;
    store.on_added(a, range_phase(0));
    store.on_added(a, range_phase(8));
    store.on_added(a, Phase::kOverdue);
    const auto b = store.find_or_add("b");
    store.at(b).enqueued = 1;
    store.at(b).unseen = -1;
    store.on_added(b, range_phase(0));
    store.on_added(b, range_phase(0));
    TopicFamiliesWriter writer({"c1", "n\"1"}, snapshot_per_topic);
    writer.add(store);
    std::string text;
    writer.finish(text);
    return text;
  };
  // Every family but the snapshot reads the same in both modes.
  const std::string common =
      R"text(# HELP rocketmq_timing_messages Timing messages pending delivery (enqueued, not yet dequeued or cancelled).
# TYPE rocketmq_timing_messages gauge
rocketmq_timing_messages{cluster="c1",node_id="n\"1",topic="a"} 3
rocketmq_timing_messages{cluster="c1",node_id="n\"1",topic="b"} 1
# HELP rocketmq_timer_enqueue_total Timing messages enqueued into the broker timer.
# TYPE rocketmq_timer_enqueue_total counter
rocketmq_timer_enqueue_total{cluster="c1",node_id="n\"1",topic="a"} 12
rocketmq_timer_enqueue_total{cluster="c1",node_id="n\"1",topic="b"} 1
# HELP rocketmq_timer_dequeue_total Timing messages dequeued (delivered) by the broker timer.
# TYPE rocketmq_timer_dequeue_total counter
rocketmq_timer_dequeue_total{cluster="c1",node_id="n\"1",topic="a"} 10
rocketmq_timer_dequeue_total{cluster="c1",node_id="n\"1",topic="b"} 0
# HELP rocketmq_timing_messages_overdue Pending timing messages whose delivery time passed more than the overdue grace ago.
# TYPE rocketmq_timing_messages_overdue gauge
rocketmq_timing_messages_overdue{cluster="c1",node_id="n\"1",topic="a"} 1
rocketmq_timing_messages_overdue{cluster="c1",node_id="n\"1",topic="b"} 0
# HELP rocketmq_timer_message_snapshot Pending timing messages by time to delivery: per range, not cumulative; due messages are not counted.
# TYPE rocketmq_timer_message_snapshot gauge
)text";
  CHECK(
      render(true) ==
      common +
          R"text(rocketmq_timer_message_snapshot{cluster="c1",node_id="n\"1",topic="a",timer_bound_s="5"} 1
rocketmq_timer_message_snapshot{cluster="c1",node_id="n\"1",topic="a",timer_bound_s="60"} 0
rocketmq_timer_message_snapshot{cluster="c1",node_id="n\"1",topic="a",timer_bound_s="300"} 0
rocketmq_timer_message_snapshot{cluster="c1",node_id="n\"1",topic="a",timer_bound_s="900"} 0
rocketmq_timer_message_snapshot{cluster="c1",node_id="n\"1",topic="a",timer_bound_s="3600"} 0
rocketmq_timer_message_snapshot{cluster="c1",node_id="n\"1",topic="a",timer_bound_s="14400"} 0
rocketmq_timer_message_snapshot{cluster="c1",node_id="n\"1",topic="a",timer_bound_s="28800"} 0
rocketmq_timer_message_snapshot{cluster="c1",node_id="n\"1",topic="a",timer_bound_s="86400"} 0
rocketmq_timer_message_snapshot{cluster="c1",node_id="n\"1",topic="a",timer_bound_s="+Inf"} 1
rocketmq_timer_message_snapshot{cluster="c1",node_id="n\"1",topic="b",timer_bound_s="5"} 2
rocketmq_timer_message_snapshot{cluster="c1",node_id="n\"1",topic="b",timer_bound_s="60"} 0
rocketmq_timer_message_snapshot{cluster="c1",node_id="n\"1",topic="b",timer_bound_s="300"} 0
rocketmq_timer_message_snapshot{cluster="c1",node_id="n\"1",topic="b",timer_bound_s="900"} 0
rocketmq_timer_message_snapshot{cluster="c1",node_id="n\"1",topic="b",timer_bound_s="3600"} 0
rocketmq_timer_message_snapshot{cluster="c1",node_id="n\"1",topic="b",timer_bound_s="14400"} 0
rocketmq_timer_message_snapshot{cluster="c1",node_id="n\"1",topic="b",timer_bound_s="28800"} 0
rocketmq_timer_message_snapshot{cluster="c1",node_id="n\"1",topic="b",timer_bound_s="86400"} 0
rocketmq_timer_message_snapshot{cluster="c1",node_id="n\"1",topic="b",timer_bound_s="+Inf"} 0
)text");
  CHECK(render(false) ==
        common +
            R"text(rocketmq_timer_message_snapshot{cluster="c1",node_id="n\"1",timer_bound_s="5"} 3
rocketmq_timer_message_snapshot{cluster="c1",node_id="n\"1",timer_bound_s="60"} 0
rocketmq_timer_message_snapshot{cluster="c1",node_id="n\"1",timer_bound_s="300"} 0
rocketmq_timer_message_snapshot{cluster="c1",node_id="n\"1",timer_bound_s="900"} 0
rocketmq_timer_message_snapshot{cluster="c1",node_id="n\"1",timer_bound_s="3600"} 0
rocketmq_timer_message_snapshot{cluster="c1",node_id="n\"1",timer_bound_s="14400"} 0
rocketmq_timer_message_snapshot{cluster="c1",node_id="n\"1",timer_bound_s="28800"} 0
rocketmq_timer_message_snapshot{cluster="c1",node_id="n\"1",timer_bound_s="86400"} 0
rocketmq_timer_message_snapshot{cluster="c1",node_id="n\"1",timer_bound_s="+Inf"} 1
)text");
}
