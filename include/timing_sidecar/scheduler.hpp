#pragma once

// The delay scheduler: every pending timing message of one shard of topics, kept in a
// hierarchical timing wheel. It knows nothing of HTTP or Prometheus: it reports each change of a
// message's phase to a PhaseListener, and the caller turns those into series values.
// Not thread-safe: the owner serialises calls (one scheduler per shard, under the shard's lock).

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "timing_sidecar/defaults.hpp"
#include "timing_sidecar/strong_index.hpp"

namespace timing_sidecar {

// RocketMQ's timer_bound_s bounds. A pending message whose time to delivery d (seconds) satisfies
// bound[i-1] < d <= bound[i] is in range i; d > 86400 is range 8 ("+Inf").
inline constexpr std::array<int64_t, 8> kSnapshotBoundsSeconds = {5,    60,    300,   900,
                                                                  3600, 14400, 28800, 86400};
inline constexpr int kSnapshotRanges = 9;

// Where a pending message stands. Ranges 0..8 are "not yet due"; kDue is due (delivery time
// reached, not yet dequeued); kOverdue is due for longer than the overdue grace.
enum class Phase : uint8_t { kDue = kSnapshotRanges, kOverdue = kSnapshotRanges + 1 };
inline constexpr Phase range_phase(int range) {
  return static_cast<Phase>(range);
}
inline constexpr bool is_range(Phase p) {
  return static_cast<int>(p) < kSnapshotRanges;
}

// The series slot the caller gives each topic of the shard (series_store.hpp): the scheduler
// keys a topic's messages by it. Not the topic's id in its TopicNames (catalog.hpp).
using SeriesSlot = StrongIndex<struct SeriesSlotTag>;

class PhaseListener {
 public:
  virtual ~PhaseListener() = default;
  // A message entered its first phase (enqueue).
  virtual void on_added(SeriesSlot slot, Phase phase) = 0;
  // A message moved from one phase to another as time passed.
  virtual void on_moved(SeriesSlot slot, Phase from, Phase to) = 0;
  // A message left (dequeued or cancelled) while in `phase`.
  virtual void on_removed(SeriesSlot slot, Phase phase) = 0;
};

// One pending message of a topic, as the drill-down shows it.
struct ScheduledMessage {
  std::string id;
  int64_t deliver_at_ms = 0;
};

// The earliest pending messages of one topic, split by phase, each list ascending by delivery
// time (ties by id) and at most the limit asked for.
struct TopicMessages {
  std::vector<ScheduledMessage> upcoming;  // not yet overdue: due ones first, then the soonest
  std::vector<ScheduledMessage> overdue;   // overdue, oldest first
};

struct SchedulerConfig {
  int64_t precision_ms = kDefaultTimerPrecisionMs;  // wheel tick
  int64_t max_delay_ms = kDefaultTimerMaxDelayMs;
  int64_t overdue_grace_ms = kDefaultOverdueGraceMs;
};

class Scheduler {
 public:
  Scheduler(const SchedulerConfig& config, int64_t now_ms);
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  enum class EnqueueOutcome { kAdded, kDuplicate };
  // A duplicate (same topic and id already pending) changes nothing. A delivery time already
  // past is due at once. Calls listener.on_added for a new message.
  EnqueueOutcome enqueue(SeriesSlot slot, std::string_view id, int64_t deliver_at_ms,
                         int64_t now_ms, PhaseListener& listener);

  // Dequeue or cancel: returns the message's delivery time, or nullopt when no such message is
  // pending. Calls listener.on_removed.
  std::optional<int64_t> remove(SeriesSlot slot, std::string_view id, PhaseListener& listener);

  // Forgets every pending message of a topic, in time proportional to their number, and gives
  // their memory back for reuse. No listener calls: the caller drops the topic's series whole.
  size_t remove_topic(SeriesSlot slot);

  // Forgets the topic's messages due by `deliver_by_ms` (delivery time at or before it), with
  // listener.on_removed for each, and returns how many: for a topic whose deliveries were missed
  // (Engine::adopt_broker_counts after a gap), in time proportional to its messages.
  size_t remove_due_by(SeriesSlot slot, int64_t deliver_by_ms, PhaseListener& listener);

  // Fires every timer due at now_ms: each message crosses into its current phase (possibly
  // skipping ranges when the call comes late). Returns the number of timers fired.
  size_t advance(int64_t now_ms, PhaseListener& listener);

  // When advance() next has work to do; nullopt when nothing is pending that can still move.
  std::optional<int64_t> next_wakeup_ms() const;

  // The `limit` earliest messages of each kind of one topic. Walks that topic's own list only,
  // keeping the best `limit` in a bounded heap: O(n log limit) for its n messages, with nothing
  // added to enqueue or remove, which run millions of times for each time this is asked.
  TopicMessages topic_messages(SeriesSlot slot, size_t limit) const;

  size_t pending() const;       // messages held
  size_t timers() const;        // timers armed (overdue messages hold none)
  size_t memory_bytes() const;  // bytes held by the scheduler's own structures

  // Every pending message with its id as it was enqueued, in no particular order: for saving the
  // state (durability.hpp).
  void for_each_pending(const std::function<void(SeriesSlot slot, std::string_view id,
                                                 int64_t deliver_at_ms)>& visit) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace timing_sidecar
