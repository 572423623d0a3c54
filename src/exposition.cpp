#include "timing_sidecar/exposition.hpp"

#include <charconv>

namespace timing_sidecar {

namespace {

struct FamilyInfo {
  std::string_view name;
  std::string_view type;
  std::string_view help;
};

constexpr std::array<FamilyInfo, 5> kFamilies = {{
    {"rocketmq_timing_messages", "gauge",
     "Timing messages pending delivery (enqueued, not yet dequeued or cancelled)."},
    {"rocketmq_timer_enqueue_total", "counter", "Timing messages enqueued into the broker timer."},
    {"rocketmq_timer_dequeue_total", "counter",
     "Timing messages dequeued (delivered) by the broker timer."},
    {"rocketmq_timing_messages_overdue", "gauge",
     "Pending timing messages whose delivery time passed more than the overdue grace ago."},
    {"rocketmq_timer_message_snapshot", "gauge",
     "Pending timing messages by time to delivery: per range, not cumulative; due messages are "
     "not counted."},
}};

constexpr std::array<std::string_view, kSnapshotRanges> kBoundLabels = {
    "5", "60", "300", "900", "3600", "14400", "28800", "86400", "+Inf"};

// The same bounds as the tail of a per-topic label block, rendered once.
constexpr std::array<std::string_view, kSnapshotRanges> kBoundLabelSuffixes = {
    ",timer_bound_s=\"5\"",     ",timer_bound_s=\"60\"",    ",timer_bound_s=\"300\"",
    ",timer_bound_s=\"900\"",   ",timer_bound_s=\"3600\"",  ",timer_bound_s=\"14400\"",
    ",timer_bound_s=\"28800\"", ",timer_bound_s=\"86400\"", ",timer_bound_s=\"+Inf\""};

void append_uint(std::string& out, uint64_t value) {
  char buffer[24];
  auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  out.append(buffer, result.ptr);
}

}  // namespace

std::string escape_label_value(std::string_view value) {
  std::string escaped;
  escaped.reserve(value.size());
  for (char c : value) {
    switch (c) {
      case '\\':
        escaped += "\\\\";
        break;
      case '"':
        escaped += "\\\"";
        break;
      case '\n':
        escaped += "\\n";
        break;
      default:
        escaped += c;
    }
  }
  return escaped;
}

void append_family_header(std::string& out, std::string_view name, std::string_view type,
                          std::string_view help) {
  out.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

TopicFamiliesWriter::TopicFamiliesWriter(const ConstantLabels& labels, bool snapshot_per_topic)
    : snapshot_per_topic_(snapshot_per_topic) {
  if (!labels.cluster.empty()) {
    constant_prefix_ += "cluster=\"" + escape_label_value(labels.cluster) + "\",";
  }
  if (!labels.node_id.empty()) {
    constant_prefix_ += "node_id=\"" + escape_label_value(labels.node_id) + "\",";
  }
}

size_t TopicFamiliesWriter::series_per_topic(bool snapshot_per_topic) {
  return kFamilyCount - 1 + (snapshot_per_topic ? kSnapshotRanges : 0);
}

void TopicFamiliesWriter::append_sample(Family family, const std::string& topic,
                                        std::string_view extra_label, uint64_t value) {
  std::string& out = bodies_[family];
  out.append(kFamilies[family].name).append("{").append(constant_prefix_);
  out.append("topic=\"").append(topic).append("\"").append(extra_label).append("} ");
  append_uint(out, value);
  out += '\n';
}

void TopicFamiliesWriter::add(const SeriesStore& store) {
  store.for_each([&](TopicKey, const TopicSeries& series) {
    const std::string& topic = *series.name;
    append_sample(kPending, topic, {}, series.exposed_pending());
    append_sample(kEnqueued, topic, {}, series.enqueued);
    append_sample(kDequeued, topic, {}, series.dequeued);
    append_sample(kOverdue, topic, {}, series.overdue);
    for (int range = 0; range < kSnapshotRanges; ++range) {
      if (snapshot_per_topic_) {
        append_sample(kSnapshot, topic, kBoundLabelSuffixes[range], series.ranges[range]);
      } else {
        broker_wide_ranges_[range] += series.ranges[range];
      }
    }
  });
}

void TopicFamiliesWriter::finish(std::string& out) {
  if (!snapshot_per_topic_) {
    std::string& body = bodies_[kSnapshot];
    for (int range = 0; range < kSnapshotRanges; ++range) {
      body.append(kFamilies[kSnapshot].name).append("{").append(constant_prefix_);
      body.append("timer_bound_s=\"").append(kBoundLabels[range]).append("\"} ");
      append_uint(body, broker_wide_ranges_[range]);
      body += '\n';
    }
  }
  for (int family = 0; family < kFamilyCount; ++family) {
    append_family_header(out, kFamilies[family].name, kFamilies[family].type,
                         kFamilies[family].help);
    out += bodies_[family];
  }
}

}  // namespace timing_sidecar
