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

// What follows the topic's name up to the value.
constexpr std::string_view kTopicLineEnd = "\"} ";
constexpr std::array<std::string_view, kSnapshotRanges> kRangeLineEnds = {
    "\",timer_bound_s=\"5\"} ",     "\",timer_bound_s=\"60\"} ",    "\",timer_bound_s=\"300\"} ",
    "\",timer_bound_s=\"900\"} ",   "\",timer_bound_s=\"3600\"} ",  "\",timer_bound_s=\"14400\"} ",
    "\",timer_bound_s=\"28800\"} ", "\",timer_bound_s=\"86400\"} ", "\",timer_bound_s=\"+Inf\"} "};
// The lines of a family summed over the topics, after the constant labels.
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
  for (size_t family = 0; family < kFamilyCount; ++family) {
    broker_wide_starts_[family] = std::string(kTopicFamilies[family].name) + "{" + constant_labels;
    line_starts_[family] = broker_wide_starts_[family] + "topic=\"";
  }
}

size_t TopicFamiliesWriter::series_per_topic(bool snapshot_per_topic) {
  size_t series = 0;
  for (const TopicFamily& family : kTopicFamilies) {
    if (family.labels == TopicLabels::kTopic) {
      series += 1;
    } else if (snapshot_per_topic) {
      series += kSnapshotRanges;
    }
  }
  return series;
}

void TopicFamiliesWriter::add(const SeriesStore& store) {
  store.for_each([&](SeriesSlot slot, const TopicSeries& series) {
    topics_.push_back({store.name(slot), series});
  });
}

size_t TopicFamiliesWriter::size_bound() const {
  size_t name_bytes = 0;
  for (const TopicValues& topic : topics_) name_bytes += topic.name.size();
  size_t bound = name_bytes * series_per_topic(snapshot_per_topic_);
  for (size_t index = 0; index < kFamilyCount; ++index) {
    const TopicFamily& family = kTopicFamilies[index];
    bound +=
        2 * (sizeof "# HELP  \n" + family.name.size()) + family.type.size() + family.help.size();
    const size_t line_start = line_starts_[index].size();
    if (family.labels == TopicLabels::kTopic) {
      bound += topics_.size() * (line_start + kTopicLineEnd.size() + kMaxValueBytes);
      continue;
    }
    for (int range = 0; range < kSnapshotRanges; ++range) {
      bound += snapshot_per_topic_
                   ? topics_.size() * (line_start + kRangeLineEnds[range].size() + kMaxValueBytes)
                   : broker_wide_starts_[index].size() + kBrokerWideRangeLabels[range].size() +
                         kMaxValueBytes;
    }
  }
  return bound;
}

// One instance per family, so that its value is read without an indirect call per series.
template <size_t kFamily>
void TopicFamiliesWriter::write_family(std::string& out) const {
  constexpr TopicFamily family = kTopicFamilies[kFamily];
  append_family_header(out, family.name, family.type, family.help);
  TextBuffer text(out);
  const std::string& line_start = line_starts_[kFamily];
  if constexpr (family.labels == TopicLabels::kTopic) {
    for (const TopicValues& topic : topics_) {
      text.append(line_start);
      text.append(topic.name);
      text.append(kTopicLineEnd);
      text.append_value_and_line_feed(family.value(topic.series, 0));
    }
  } else if (snapshot_per_topic_) {
    for (const TopicValues& topic : topics_) {
      for (int range = 0; range < kSnapshotRanges; ++range) {
        text.append(line_start);
        text.append(topic.name);
        text.append(kRangeLineEnds[range]);
        text.append_value_and_line_feed(family.value(topic.series, range));
      }
    }
  } else {
    std::array<uint64_t, kSnapshotRanges> sums{};
    for (const TopicValues& topic : topics_) {
      for (int range = 0; range < kSnapshotRanges; ++range) {
        sums[range] += family.value(topic.series, range);
      }
    }
    for (int range = 0; range < kSnapshotRanges; ++range) {
      text.append(broker_wide_starts_[kFamily]);
      text.append(kBrokerWideRangeLabels[range]);
      text.append_value_and_line_feed(sums[range]);
    }
  }
  text.flush();
}

void TopicFamiliesWriter::finish(std::string& out) {
  out.reserve(out.size() + size_bound() + kRoomForCaller);
  write_families(out, std::make_index_sequence<kFamilyCount>());
  topics_.clear();
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
