#include "timing_sidecar/exposition.hpp"

#include <zlib.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <memory>
#include <new>
#include <stdexcept>

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

// What follows the topic's name up to the value.
constexpr std::string_view kTopicLineEnd = "\"} ";
constexpr std::array<std::string_view, kSnapshotRanges> kRangeLineEnds = {
    "\",timer_bound_s=\"5\"} ",     "\",timer_bound_s=\"60\"} ",    "\",timer_bound_s=\"300\"} ",
    "\",timer_bound_s=\"900\"} ",   "\",timer_bound_s=\"3600\"} ",  "\",timer_bound_s=\"14400\"} ",
    "\",timer_bound_s=\"28800\"} ", "\",timer_bound_s=\"86400\"} ", "\",timer_bound_s=\"+Inf\"} "};
// The broker-wide snapshot's lines, after the constant labels.
constexpr std::array<std::string_view, kSnapshotRanges> kBrokerWideRangeLabels = {
    "timer_bound_s=\"5\"} ",     "timer_bound_s=\"60\"} ",    "timer_bound_s=\"300\"} ",
    "timer_bound_s=\"900\"} ",   "timer_bound_s=\"3600\"} ",  "timer_bound_s=\"14400\"} ",
    "timer_bound_s=\"28800\"} ", "timer_bound_s=\"86400\"} ", "timer_bound_s=\"+Inf\"} "};

constexpr size_t kMaxValueBytes = 20 + 1;  // a uint64 and the line feed
// The sidecar appends its self metrics after the per-topic families: with this much room left,
// that append does not copy the whole body to a larger allocation.
constexpr size_t kRoomForCaller = 64 * 1024;

// Assembles lines in a buffer that stays in the cache and hands them to `out` in large appends,
// so that `out` sees few capacity checks and no small copies.
class TextBuffer {
 public:
  explicit TextBuffer(std::string& out) : out_(out) {}

  void append(std::string_view text) {
    if (text.size() > kCapacity - used_) {
      flush();
      if (text.size() > kCapacity) {
        out_.append(text);
        return;
      }
    }
    std::memcpy(buffer_ + used_, text.data(), text.size());
    used_ += text.size();
  }

  void append_value_and_line_feed(uint64_t value) {
    if (kMaxValueBytes > kCapacity - used_) flush();
    char* end = buffer_ + used_;
    if (value < 10) {  // most gauges of most topics
      *end++ = static_cast<char>('0' + value);
    } else {
      end = std::to_chars(end, buffer_ + kCapacity, value).ptr;
    }
    *end++ = '\n';
    used_ = static_cast<size_t>(end - buffer_);
  }

  void flush() {
    out_.append(buffer_, used_);
    used_ = 0;
  }

 private:
  static constexpr size_t kCapacity = 64 * 1024;

  std::string& out_;
  size_t used_ = 0;
  char buffer_[kCapacity];
};

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
  std::string constant_labels;
  if (!labels.cluster.empty()) {
    constant_labels += "cluster=\"" + escape_label_value(labels.cluster) + "\",";
  }
  if (!labels.node_id.empty()) {
    constant_labels += "node_id=\"" + escape_label_value(labels.node_id) + "\",";
  }
  for (int family = 0; family < kFamilyCount; ++family) {
    line_starts_[family] = std::string(kFamilies[family].name) + "{" + constant_labels + "topic=\"";
  }
  broker_wide_snapshot_start_ = std::string(kFamilies[kSnapshot].name) + "{" + constant_labels;
}

size_t TopicFamiliesWriter::series_per_topic(bool snapshot_per_topic) {
  return kFamilyCount - 1 + (snapshot_per_topic ? kSnapshotRanges : 0);
}

void TopicFamiliesWriter::add(const SeriesStore& store) {
  store.for_each([&](TopicKey slot, const TopicSeries& series) {
    topics_.push_back({store.name(slot), series.enqueued, series.dequeued, series.exposed_pending(),
                       series.overdue, series.ranges});
    if (!snapshot_per_topic_) {
      for (int range = 0; range < kSnapshotRanges; ++range) {
        broker_wide_ranges_[range] += series.ranges[range];
      }
    }
  });
}

size_t TopicFamiliesWriter::size_bound() const {
  size_t bound = 0;
  for (const FamilyInfo& family : kFamilies) {
    bound +=
        2 * (sizeof "# HELP  \n" + family.name.size()) + family.type.size() + family.help.size();
  }
  size_t name_bytes = 0;
  for (const TopicValues& topic : topics_) name_bytes += topic.name.size();
  bound += name_bytes * series_per_topic(snapshot_per_topic_);
  for (int family = kPending; family <= kOverdue; ++family) {
    bound += topics_.size() * (line_starts_[family].size() + kTopicLineEnd.size() + kMaxValueBytes);
  }
  for (int range = 0; range < kSnapshotRanges; ++range) {
    bound += snapshot_per_topic_ ? topics_.size() * (line_starts_[kSnapshot].size() +
                                                     kRangeLineEnds[range].size() + kMaxValueBytes)
                                 : broker_wide_snapshot_start_.size() +
                                       kBrokerWideRangeLabels[range].size() + kMaxValueBytes;
  }
  return bound;
}

void TopicFamiliesWriter::finish(std::string& out) {
  out.reserve(out.size() + size_bound() + kRoomForCaller);
  const auto write_family = [&](Family family, auto&& value_of) {
    append_family_header(out, kFamilies[family].name, kFamilies[family].type,
                         kFamilies[family].help);
    TextBuffer text(out);
    for (const TopicValues& topic : topics_) {
      text.append(line_starts_[family]);
      text.append(topic.name);
      text.append(kTopicLineEnd);
      text.append_value_and_line_feed(value_of(topic));
    }
    text.flush();
  };
  write_family(kPending, [](const TopicValues& topic) { return topic.pending; });
  write_family(kEnqueued, [](const TopicValues& topic) { return topic.enqueued; });
  write_family(kDequeued, [](const TopicValues& topic) { return topic.dequeued; });
  write_family(kOverdue, [](const TopicValues& topic) { return topic.overdue; });

  append_family_header(out, kFamilies[kSnapshot].name, kFamilies[kSnapshot].type,
                       kFamilies[kSnapshot].help);
  TextBuffer text(out);
  if (snapshot_per_topic_) {
    for (const TopicValues& topic : topics_) {
      for (int range = 0; range < kSnapshotRanges; ++range) {
        text.append(line_starts_[kSnapshot]);
        text.append(topic.name);
        text.append(kRangeLineEnds[range]);
        text.append_value_and_line_feed(topic.ranges[range]);
      }
    }
  } else {
    for (int range = 0; range < kSnapshotRanges; ++range) {
      text.append(broker_wide_snapshot_start_);
      text.append(kBrokerWideRangeLabels[range]);
      text.append_value_and_line_feed(broker_wide_ranges_[range]);
    }
  }
  text.flush();

  topics_.clear();
  broker_wide_ranges_.fill(0);
}

void append_gzipped(std::string_view text, std::string& out) {
  constexpr size_t kStep = 64 * 1024;
  constexpr size_t kMaxInput = size_t{1} << 30;  // zlib counts in 32 bits
  z_stream stream{};
  // 15 + 16: the largest window, with the gzip header and trailer.
  if (deflateInit2(&stream, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    throw std::bad_alloc();
  }
  const std::unique_ptr<z_stream, int (*)(z_streamp)> end(&stream, deflateEnd);
  size_t consumed = 0;
  int status = Z_OK;
  while (status != Z_STREAM_END) {
    if (stream.avail_in == 0) {
      const size_t piece = std::min(text.size() - consumed, kMaxInput);
      stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data() + consumed));
      stream.avail_in = static_cast<uInt>(piece);
      consumed += piece;
    }
    const size_t used = out.size();
    out.resize(used + kStep);
    stream.next_out = reinterpret_cast<Bytef*>(out.data() + used);
    stream.avail_out = kStep;
    status = deflate(&stream, consumed == text.size() ? Z_FINISH : Z_NO_FLUSH);
    out.resize(used + kStep - stream.avail_out);
    if (status != Z_OK && status != Z_STREAM_END) {
      throw std::runtime_error("gzip of the scrape body failed");
    }
  }
}

}  // namespace timing_sidecar
