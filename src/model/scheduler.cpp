#include "timing_sidecar/scheduler.hpp"

#include <algorithm>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "id_index.hpp"
#include "pending_record.hpp"
#include "record_slab.hpp"
#include "timing_sidecar/timing_wheel.hpp"

namespace timing_sidecar {

namespace {

int64_t saturating_add(int64_t a, int64_t b) {
  int64_t sum;
  if (!__builtin_add_overflow(a, b, &sum)) return sum;
  return b > 0 ? std::numeric_limits<int64_t>::max() : std::numeric_limits<int64_t>::min();
}

}  // namespace

struct Scheduler::Impl {
  Impl(const SchedulerConfig& config, int64_t now_ms)
      : config(config),
        origin_ms(now_ms - euclid_mod(now_ms, config.precision_ms)),
        last_now_ms(now_ms) {}

  static int64_t euclid_mod(int64_t value, int64_t divisor) {
    const int64_t remainder = value % divisor;
    return remainder < 0 ? remainder + divisor : remainder;
  }

  Phase phase_at(int64_t deliver_at_ms, int64_t now_ms) const {
    if (now_ms >= saturating_add(deliver_at_ms, config.overdue_grace_ms)) return Phase::kOverdue;
    if (now_ms >= deliver_at_ms) return Phase::kDue;
    const uint64_t to_delivery_ms =
        static_cast<uint64_t>(deliver_at_ms) - static_cast<uint64_t>(now_ms);
    // Counting the bounds passed, without branches: deliveries are random, branches would miss.
    int range = 0;
#pragma GCC unroll 8
    for (int64_t bound_s : kSnapshotBoundsSeconds) {
      range += to_delivery_ms > static_cast<uint64_t>(bound_s) * 1000;
    }
    return range_phase(range);
  }

  // When the record enters its next phase; overdue is the last one.
  int64_t next_change_ms(const Record& record) const {
    assert(record.phase != Phase::kOverdue);
    if (record.phase == Phase::kDue) {
      return saturating_add(record.deliver_at_ms, config.overdue_grace_ms);
    }
    const int range = static_cast<int>(record.phase);
    if (range == 0) return record.deliver_at_ms;
    return record.deliver_at_ms - kSnapshotBoundsSeconds[range - 1] * 1000;
  }

  // The first tick at or after `time_ms`, which lies after origin_ms.
  uint64_t tick_at_or_after(int64_t time_ms) const {
    const uint64_t since_origin = static_cast<uint64_t>(time_ms) - static_cast<uint64_t>(origin_ms);
    const uint64_t precision = static_cast<uint64_t>(config.precision_ms);
    return since_origin / precision + (since_origin % precision != 0);
  }

  void arm(uint32_t index) {
    const Record& record = records[index];
    if (record.phase == Phase::kOverdue) return;
    wheel.insert(index, tick_at_or_after(next_change_ms(record)));
  }

  uint64_t hash_of(uint32_t topic, const EncodedId& id) const {
    return id.form == kOutOfLine ? hash_out_of_line_id(topic, id.text)
                                 : hash_inline_id(topic, id.form, id.bytes);
  }

  uint64_t hash_of(const Record& record) const {
    return record.id_form == kOutOfLine ? hash_out_of_line_id(record.topic, long_id(record))
                                        : hash_inline_id(record.topic, record.id_form, record.id);
  }

  IdIndex::Entry find(uint64_t hash, uint32_t topic, const EncodedId& id) const {
    return index.find(hash, [&](uint32_t candidate) {
      const Record& record = records[candidate];
      if (record.topic != topic || record.id_form != id.form) return false;
      return id.form == kOutOfLine ? long_id(record) == id.text : record.id == id.bytes;
    });
  }

  // Grows (or, after many removals, shrinks) the index with room for half as many again.
  void make_room_in_index() {
    index.reset(index.size() + index.size() / 2 + 1);
    // Slab order reads the records sequentially. Each insert lands in a random group, so the
    // groups are prefetched a few records ahead to keep several misses in flight.
    constexpr size_t kAhead = 16;
    std::array<std::pair<uint64_t, uint32_t>, kAhead> in_flight;
    size_t seen = 0;
    records.for_each_live([&](uint32_t position, const Record& record) {
      std::pair<uint64_t, uint32_t>& entry = in_flight[seen++ % kAhead];
      if (seen > kAhead) index.insert(entry.first, entry.second);
      entry = {hash_of(record), position};
      index.prefetch(entry.first);
    });
    for (size_t left = std::min(seen, kAhead); left > 0; --left) {
      const std::pair<uint64_t, uint32_t>& entry = in_flight[(seen - left) % kAhead];
      index.insert(entry.first, entry.second);
    }
  }

  // Long ids live in their own allocation, length-prefixed; the record keeps the store index.
  std::string_view long_id(const Record& record) const {
    uint32_t store_index;
    std::memcpy(&store_index, record.id.data(), sizeof(store_index));
    const char* stored = long_ids[store_index].get();
    return {stored + 1, static_cast<uint8_t>(stored[0])};
  }

  void store_long_id(Record& record, std::string_view text) {
    uint32_t store_index;
    if (free_long_ids.empty()) {
      store_index = static_cast<uint32_t>(long_ids.size());
      long_ids.emplace_back();
    } else {
      store_index = free_long_ids.back();
      free_long_ids.pop_back();
    }
    std::unique_ptr<char[]>& stored = long_ids[store_index];
    stored.reset(new char[text.size() + 1]);
    stored[0] = static_cast<char>(text.size());
    std::memcpy(stored.get() + 1, text.data(), text.size());
    long_id_bytes += text.size() + 1;
    std::memcpy(record.id.data(), &store_index, sizeof(store_index));
  }

  void release(uint32_t position) {
    Record& record = records[position];
    if (record.id_form == kOutOfLine) {
      uint32_t store_index;
      std::memcpy(&store_index, record.id.data(), sizeof(store_index));
      long_id_bytes -= long_id(record).size() + 1;
      long_ids[store_index].reset();
      free_long_ids.push_back(store_index);
    }
    records.release(position);
  }

  void link_topic(uint32_t position) {
    Record& record = records[position];
    if (record.topic >= topic_heads.size()) topic_heads.resize(size_t{record.topic} + 1, kNoNode);
    uint32_t& head = topic_heads[record.topic];
    record.topic_prev = kNoNode;
    record.topic_next = head;
    if (head != kNoNode) records[head].topic_prev = position;
    head = position;
  }

  void unlink_topic(uint32_t position) {
    const Record& record = records[position];
    if (record.topic_next != kNoNode) records[record.topic_next].topic_prev = record.topic_prev;
    if (record.topic_prev != kNoNode) {
      records[record.topic_prev].topic_next = record.topic_next;
    } else {
      topic_heads[record.topic] = record.topic_next;
    }
  }

  SchedulerConfig config;
  int64_t origin_ms;    // tick 0 of the wheel, on a precision boundary
  int64_t last_now_ms;  // latest time advance() was called with; time never runs back
  RecordSlab records;
  IdIndex index;
  TimingWheel<RecordSlab> wheel{records};
  std::vector<uint32_t> topic_heads;  // by SeriesSlot; first record of each topic's list
  std::vector<std::unique_ptr<char[]>> long_ids;
  std::vector<uint32_t> free_long_ids;
  size_t long_id_bytes = 0;
};

Scheduler::Scheduler(const SchedulerConfig& config, int64_t now_ms) {
  if (config.precision_ms < 1) throw std::invalid_argument("scheduler precision must be >= 1 ms");
  if (config.overdue_grace_ms < 0) throw std::invalid_argument("overdue grace must be >= 0");
  impl_ = std::make_unique<Impl>(config, now_ms);
}

Scheduler::~Scheduler() = default;

Scheduler::EnqueueOutcome Scheduler::enqueue(SeriesSlot slot, std::string_view id,
                                             int64_t deliver_at_ms, int64_t now_ms,
                                             PhaseListener& listener) {
  const uint32_t topic = slot.value;
  if (id.empty() || id.size() > kMaxIdLength) {
    throw std::invalid_argument("message id must be 1 to 128 bytes");
  }
  Impl& impl = *impl_;
  const EncodedId encoded = encode_id(id);
  const uint64_t hash = impl.hash_of(topic, encoded);
  if (impl.find(hash, topic, encoded).position != kNoNode) return EnqueueOutcome::kDuplicate;
  if (!impl.index.has_room()) impl.make_room_in_index();

  const uint32_t position = impl.records.allocate();
  Record& record = impl.records[position];
  record.deliver_at_ms = deliver_at_ms;
  record.topic = topic;
  record.id_form = encoded.form;
  if (encoded.form == kOutOfLine) {
    impl.store_long_id(record, encoded.text);
  } else {
    record.id = encoded.bytes;
  }
  record.timer = WheelHook{kNoNode, kNoNode};
  // A caller clock behind the last advance() must not put a timer before the wheel's tick.
  record.phase = impl.phase_at(deliver_at_ms, std::max(now_ms, impl.last_now_ms));
  impl.index.insert(hash, position);
  impl.link_topic(position);
  impl.arm(position);
  listener.on_added(slot, record.phase);
  return EnqueueOutcome::kAdded;
}

std::optional<int64_t> Scheduler::remove(SeriesSlot slot, std::string_view id,
                                         PhaseListener& listener) {
  const uint32_t topic = slot.value;
  if (id.empty() || id.size() > kMaxIdLength) return std::nullopt;
  Impl& impl = *impl_;
  const EncodedId encoded = encode_id(id);
  const uint64_t hash = impl.hash_of(topic, encoded);
  const IdIndex::Entry entry = impl.find(hash, topic, encoded);
  const uint32_t position = entry.position;
  if (position == kNoNode) return std::nullopt;

  const Record& record = impl.records[position];
  const int64_t deliver_at_ms = record.deliver_at_ms;
  const Phase phase = record.phase;
  if (phase != Phase::kOverdue) impl.wheel.remove(position);
  impl.index.erase(entry);
  impl.unlink_topic(position);
  impl.release(position);
  listener.on_removed(slot, phase);
  return deliver_at_ms;
}

size_t Scheduler::remove_topic(SeriesSlot slot) {
  const uint32_t topic = slot.value;
  Impl& impl = *impl_;
  if (topic >= impl.topic_heads.size()) return 0;
  size_t removed = 0;
  for (uint32_t position = impl.topic_heads[topic]; position != kNoNode; ++removed) {
    const Record& record = impl.records[position];
    const uint32_t next = record.topic_next;
    if (next != kNoNode) __builtin_prefetch(&impl.records[next]);
    if (record.phase != Phase::kOverdue) impl.wheel.remove(position);
    impl.index.erase(
        impl.index.find(impl.hash_of(record), [&](uint32_t held) { return held == position; }));
    impl.release(position);
    position = next;
  }
  impl.topic_heads[topic] = kNoNode;
  return removed;
}

size_t Scheduler::remove_due_by(SeriesSlot slot, int64_t deliver_by_ms, PhaseListener& listener) {
  const uint32_t topic = slot.value;
  Impl& impl = *impl_;
  if (topic >= impl.topic_heads.size()) return 0;
  size_t removed = 0;
  for (uint32_t position = impl.topic_heads[topic]; position != kNoNode;) {
    const Record& record = impl.records[position];
    const uint32_t next = record.topic_next;
    if (record.deliver_at_ms <= deliver_by_ms) {
      const Phase phase = record.phase;
      if (phase != Phase::kOverdue) impl.wheel.remove(position);
      impl.index.erase(
          impl.index.find(impl.hash_of(record), [&](uint32_t held) { return held == position; }));
      impl.unlink_topic(position);
      impl.release(position);
      listener.on_removed(slot, phase);
      ++removed;
    }
    position = next;
  }
  return removed;
}

size_t Scheduler::advance(int64_t now_ms, PhaseListener& listener) {
  Impl& impl = *impl_;
  if (now_ms <= impl.last_now_ms) return 0;
  impl.last_now_ms = now_ms;
  const uint64_t to_tick = (static_cast<uint64_t>(now_ms) - static_cast<uint64_t>(impl.origin_ms)) /
                           static_cast<uint64_t>(impl.config.precision_ms);
  return impl.wheel.advance(
      to_tick,
      [&](uint32_t position) {
        return impl.tick_at_or_after(impl.next_change_ms(impl.records[position]));
      },
      [&](uint32_t position) {
        Record& record = impl.records[position];
        const Phase from = record.phase;
        record.phase = impl.phase_at(record.deliver_at_ms, now_ms);
        // The timer fired at or after its deadline, so the phase did change.
        assert(record.phase != from);
        listener.on_moved(SeriesSlot(record.topic), from, record.phase);
        impl.arm(position);
      });
}

std::optional<int64_t> Scheduler::next_wakeup_ms() const {
  const std::optional<uint64_t> tick = impl_->wheel.next_tick();
  if (!tick) return std::nullopt;
  int64_t since_origin_ms;
  int64_t wakeup_ms;
  if (__builtin_mul_overflow(*tick, impl_->config.precision_ms, &since_origin_ms) ||
      __builtin_add_overflow(impl_->origin_ms, since_origin_ms, &wakeup_ms)) {
    return std::numeric_limits<int64_t>::max();
  }
  return wakeup_ms;
}

size_t Scheduler::pending() const {
  return impl_->index.size();
}

size_t Scheduler::timers() const {
  return impl_->wheel.size();
}

size_t Scheduler::memory_bytes() const {
  const Impl& impl = *impl_;
  return sizeof(Impl) + impl.records.memory_bytes() + impl.index.memory_bytes() +
         impl.topic_heads.capacity() * sizeof(uint32_t) +
         impl.long_ids.capacity() * sizeof(impl.long_ids[0]) + impl.long_id_bytes +
         impl.free_long_ids.capacity() * sizeof(uint32_t);
}

void Scheduler::for_each_pending(
    const std::function<void(SeriesSlot, std::string_view, int64_t)>& visit) const {
  const Impl& impl = *impl_;
  impl.records.for_each_live([&](uint32_t, const Record& record) {
    char hex[kHexIdLength];
    const std::string_view long_id = record.id_form == kOutOfLine ? impl.long_id(record) : "";
    visit(SeriesSlot(record.topic), id_text(record, long_id, hex), record.deliver_at_ms);
  });
}

TopicMessages Scheduler::topic_messages(SeriesSlot slot, size_t limit) const {
  const uint32_t topic = slot.value;
  const Impl& impl = *impl_;
  TopicMessages messages;
  if (topic >= impl.topic_heads.size() || limit == 0) return messages;
  // Max-heaps of (delivery time, id) holding the `limit` earliest seen so far.
  struct Candidate {
    int64_t deliver_at_ms;
    std::string id;
    bool operator<(const Candidate& other) const {
      return deliver_at_ms != other.deliver_at_ms ? deliver_at_ms < other.deliver_at_ms
                                                  : id < other.id;
    }
  };
  std::vector<Candidate> upcoming;
  std::vector<Candidate> overdue;
  for (uint32_t position = impl.topic_heads[topic]; position != kNoNode;) {
    const Record& record = impl.records[position];
    position = record.topic_next;
    if (position != kNoNode) __builtin_prefetch(&impl.records[position]);
    std::vector<Candidate>& heap = record.phase == Phase::kOverdue ? overdue : upcoming;
    // Most records lose to the heap's worst on their time alone, before their id is decoded.
    if (heap.size() == limit && record.deliver_at_ms > heap.front().deliver_at_ms) continue;
    char hex[kHexIdLength];
    const std::string_view long_id = record.id_form == kOutOfLine ? impl.long_id(record) : "";
    Candidate candidate{record.deliver_at_ms, std::string(id_text(record, long_id, hex))};
    if (heap.size() == limit) {
      if (!(candidate < heap.front())) continue;
      std::pop_heap(heap.begin(), heap.end());
      heap.back() = std::move(candidate);
    } else {
      heap.push_back(std::move(candidate));
    }
    std::push_heap(heap.begin(), heap.end());
  }
  const auto sorted = [](std::vector<Candidate>& heap) {
    std::sort_heap(heap.begin(), heap.end());
    std::vector<ScheduledMessage> list;
    list.reserve(heap.size());
    for (Candidate& candidate : heap) {
      list.push_back({std::move(candidate.id), candidate.deliver_at_ms});
    }
    return list;
  };
  messages.upcoming = sorted(upcoming);
  messages.overdue = sorted(overdue);
  return messages;
}

}  // namespace timing_sidecar
