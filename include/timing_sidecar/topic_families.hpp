#pragma once

// The per-topic families, one entry each, in the order /metrics writes them. The exposition
// writer derives everything else from this table: the HELP and TYPE lines, the label blocks, the
// sample lines and the number of series a topic contributes. A new family is an entry here and
// the TopicSeries value it reads.

#include <array>
#include <cstdint>
#include <string_view>

#include "timing_sidecar/scheduler.hpp"
#include "timing_sidecar/series_store.hpp"

namespace timing_sidecar {

// The labels of a family's series beside the constant ones.
enum class TopicLabels : uint8_t {
  kTopic,  // {topic}: one series per topic
  // {topic,timer_bound_s}: one series per topic and snapshot range; with the snapshot
  // broker-wide (--metrics.snapshot-per-topic=false), {timer_bound_s} summed over the topics.
  kTopicAndTimerBound,
};

struct TopicFamily {
  std::string_view name;
  std::string_view type;
  std::string_view help;
  TopicLabels labels;
  // The value of one series; `range` is its snapshot range (kTopicAndTimerBound), else 0.
  uint64_t (*value)(const TopicSeries& series, int range);
};

inline constexpr std::array<TopicFamily, 5> kTopicFamilies = {{
    {"rocketmq_timing_messages", "gauge",
     "Timing messages pending delivery (enqueued, not yet dequeued or cancelled).",
     TopicLabels::kTopic,
     [](const TopicSeries& series, int) -> uint64_t { return series.exposed_pending(); }},
    {"rocketmq_timer_enqueue_total", "counter", "Timing messages enqueued into the broker timer.",
     TopicLabels::kTopic, [](const TopicSeries& series, int) { return series.enqueued; }},
    {"rocketmq_timer_dequeue_total", "counter",
     "Timing messages dequeued (delivered) by the broker timer.", TopicLabels::kTopic,
     [](const TopicSeries& series, int) { return series.dequeued; }},
    {"rocketmq_timing_messages_overdue", "gauge",
     "Pending timing messages whose delivery time passed more than the overdue grace ago.",
     TopicLabels::kTopic,
     [](const TopicSeries& series, int) -> uint64_t { return series.overdue; }},
    {"rocketmq_timer_message_snapshot", "gauge",
     "Pending timing messages by time to delivery: per range, not cumulative; due messages are "
     "not counted.",
     TopicLabels::kTopicAndTimerBound,
     [](const TopicSeries& series, int range) -> uint64_t { return series.ranges[range]; }},
}};

}  // namespace timing_sidecar
