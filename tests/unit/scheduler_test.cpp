#include "timing_sidecar/scheduler.hpp"

#include <algorithm>
#include <array>
#include <catch2/catch.hpp>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

using namespace timing_sidecar;

namespace {

constexpr int64_t kStartMs = 1'700'000'000'000;  // on a second boundary
constexpr int64_t kSecondMs = 1000;
constexpr int64_t kDayMs = 86'400 * kSecondMs;
constexpr int kPhaseCount = kSnapshotRanges + 2;

int phase_index(Phase phase) {
  return static_cast<int>(phase);
}

struct Move {
  SeriesSlot slot;
  Phase from;
  Phase to;
  int64_t at_ms;
};

// Keeps per-topic per-phase counts the way the sidecar's series do, and logs every call.
class RecordingListener : public PhaseListener {
 public:
  int64_t now_ms = 0;  // stamped on each move; tests set it before advance()
  std::vector<Move> moves;
  std::vector<std::pair<SeriesSlot, Phase>> added;
  std::vector<std::pair<SeriesSlot, Phase>> removed;
  std::map<SeriesSlot, std::array<int64_t, kPhaseCount>> counts;

  void on_added(SeriesSlot slot, Phase phase) override {
    added.emplace_back(slot, phase);
    ++counts[slot][phase_index(phase)];
  }
  void on_moved(SeriesSlot slot, Phase from, Phase to) override {
    moves.push_back({slot, from, to, now_ms});
    --counts[slot][phase_index(from)];
    ++counts[slot][phase_index(to)];
  }
  void on_removed(SeriesSlot slot, Phase phase) override {
    removed.emplace_back(slot, phase);
    --counts[slot][phase_index(phase)];
  }
  size_t calls() const { return moves.size() + added.size() + removed.size(); }
};

SchedulerConfig config_with(int64_t precision_ms, int64_t grace_ms) {
  SchedulerConfig config;
  config.precision_ms = precision_ms;
  config.overdue_grace_ms = grace_ms;
  return config;
}

std::string hex_id(uint64_t seed, bool upper = true) {
  std::mt19937_64 random(seed);
  const char* digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  std::string id(32, '0');
  for (char& c : id) c = digits[random() % 16];
  return id;
}

size_t advance_to(Scheduler& scheduler, RecordingListener& listener, int64_t now_ms) {
  listener.now_ms = now_ms;
  return scheduler.advance(now_ms, listener);
}

}  // namespace

TEST_CASE("scheduler: a message two days out moves through every range on time", "[scheduler]") {
  const SchedulerConfig config;
  Scheduler scheduler(config, kStartMs);
  RecordingListener listener;
  // Off the tick grid, so every boundary needs rounding up to the next tick.
  const int64_t deliver_at = kStartMs + 2 * kDayMs + 300;
  REQUIRE(scheduler.enqueue(SeriesSlot(7), hex_id(1), deliver_at, kStartMs, listener) ==
          Scheduler::EnqueueOutcome::kAdded);
  REQUIRE(listener.added ==
          std::vector<std::pair<SeriesSlot, Phase>>{{SeriesSlot(7), range_phase(8)}});

  size_t fired = 0;
  for (int64_t now = kStartMs; now <= deliver_at + config.overdue_grace_ms + 5 * kSecondMs;
       now += config.precision_ms) {
    fired += advance_to(scheduler, listener, now);
  }

  std::vector<std::pair<Phase, int64_t>> expected;  // phase entered, and when
  for (int range = 7; range >= 0; --range) {
    expected.emplace_back(range_phase(range), deliver_at - kSnapshotBoundsSeconds[range] * 1000);
  }
  expected.emplace_back(Phase::kDue, deliver_at);
  expected.emplace_back(Phase::kOverdue, deliver_at + config.overdue_grace_ms);

  REQUIRE(listener.moves.size() == expected.size());
  REQUIRE(fired == expected.size());
  Phase previous = range_phase(8);
  for (size_t i = 0; i < expected.size(); ++i) {
    INFO("move " << i);
    const Move& move = listener.moves[i];
    CHECK(move.slot == SeriesSlot(7));
    CHECK(move.from == previous);
    CHECK(move.to == expected[i].first);
    CHECK(move.at_ms >= expected[i].second);
    CHECK(move.at_ms < expected[i].second + config.precision_ms);
    previous = move.to;
  }
  CHECK(scheduler.pending() == 1);
  CHECK(scheduler.timers() == 0);
}

TEST_CASE("scheduler: a late advance moves a message straight to its current phase",
          "[scheduler]") {
  Scheduler scheduler(SchedulerConfig{}, kStartMs);
  RecordingListener listener;
  const int64_t deliver_at = kStartMs + 2 * kDayMs;
  scheduler.enqueue(SeriesSlot(1), hex_id(2), deliver_at, kStartMs, listener);

  CHECK(advance_to(scheduler, listener, deliver_at - 100 * kSecondMs) == 1);
  REQUIRE(listener.moves.size() == 1);
  CHECK(listener.moves[0].from == range_phase(8));
  CHECK(listener.moves[0].to == range_phase(2));

  CHECK(advance_to(scheduler, listener, deliver_at + kDayMs) == 1);
  REQUIRE(listener.moves.size() == 2);
  CHECK(listener.moves[1].from == range_phase(2));
  CHECK(listener.moves[1].to == Phase::kOverdue);
}

TEST_CASE("scheduler: a due message turns overdue only after the grace", "[scheduler]") {
  const SchedulerConfig config = config_with(1000, 10'000);
  Scheduler scheduler(config, kStartMs);
  RecordingListener listener;
  const int64_t deliver_at = kStartMs + 3 * kSecondMs;
  scheduler.enqueue(SeriesSlot(1), "order-1", deliver_at, kStartMs, listener);
  CHECK(listener.added.back().second == range_phase(0));

  advance_to(scheduler, listener, deliver_at);
  REQUIRE(listener.moves.size() == 1);
  CHECK(listener.moves[0].to == Phase::kDue);

  CHECK(advance_to(scheduler, listener, deliver_at + config.overdue_grace_ms - 1000) == 0);
  CHECK(listener.moves.size() == 1);

  CHECK(advance_to(scheduler, listener, deliver_at + config.overdue_grace_ms) == 1);
  REQUIRE(listener.moves.size() == 2);
  CHECK(listener.moves[1].from == Phase::kDue);
  CHECK(listener.moves[1].to == Phase::kOverdue);

  // Overdue is final: the message holds no timer and nothing wakes the driver for it.
  CHECK(scheduler.pending() == 1);
  CHECK(scheduler.timers() == 0);
  CHECK_FALSE(scheduler.next_wakeup_ms().has_value());
  CHECK(advance_to(scheduler, listener, deliver_at + 30 * kDayMs) == 0);

  CHECK(scheduler.remove(SeriesSlot(1), "order-1", listener) == deliver_at);
  CHECK(listener.removed ==
        std::vector<std::pair<SeriesSlot, Phase>>{{SeriesSlot(1), Phase::kOverdue}});
}

TEST_CASE("scheduler: remove cancels the timer and reports the phase it left", "[scheduler]") {
  Scheduler scheduler(SchedulerConfig{}, kStartMs);
  RecordingListener listener;
  scheduler.enqueue(SeriesSlot(1), hex_id(10), kStartMs + 10 * kSecondMs, kStartMs, listener);
  scheduler.enqueue(SeriesSlot(1), hex_id(11), kStartMs + 2 * 3600 * kSecondMs, kStartMs, listener);
  scheduler.enqueue(SeriesSlot(2), hex_id(12), kStartMs + 20 * kSecondMs, kStartMs, listener);
  REQUIRE(scheduler.timers() == 3);

  CHECK(scheduler.remove(SeriesSlot(1), hex_id(11), listener) == kStartMs + 2 * 3600 * kSecondMs);
  CHECK(listener.removed ==
        std::vector<std::pair<SeriesSlot, Phase>>{{SeriesSlot(1), range_phase(5)}});
  CHECK(scheduler.pending() == 2);
  CHECK(scheduler.timers() == 2);

  const size_t calls = listener.calls();
  CHECK_FALSE(scheduler.remove(SeriesSlot(1), hex_id(11), listener).has_value());  // already gone
  CHECK_FALSE(
      scheduler.remove(SeriesSlot(1), hex_id(12), listener).has_value());  // other topic's id
  CHECK_FALSE(scheduler.remove(SeriesSlot(1), "never-enqueued", listener).has_value());
  CHECK_FALSE(scheduler.remove(SeriesSlot(1), "", listener).has_value());
  CHECK(listener.calls() == calls);

  // The cancelled message never moves; the others still do, once each for a late advance.
  advance_to(scheduler, listener, kStartMs + 3 * 3600 * kSecondMs);
  CHECK(listener.moves.size() == 2);
  CHECK(listener.counts[SeriesSlot(1)][phase_index(Phase::kOverdue)] == 1);
  CHECK(listener.counts[SeriesSlot(2)][phase_index(Phase::kOverdue)] == 1);
}

TEST_CASE("scheduler: remove_topic forgets a topic whole and its records are reused",
          "[scheduler]") {
  Scheduler scheduler(SchedulerConfig{}, kStartMs);
  RecordingListener listener;
  for (uint64_t i = 0; i < 1000; ++i) {
    scheduler.enqueue(SeriesSlot(1), hex_id(i), kStartMs + static_cast<int64_t>(i) * kSecondMs + 1,
                      kStartMs, listener);
  }
  for (uint64_t i = 0; i < 10; ++i) {
    scheduler.enqueue(SeriesSlot(2), hex_id(5000 + i), kStartMs + 3600 * kSecondMs, kStartMs,
                      listener);
  }
  scheduler.enqueue(SeriesSlot(3), "lone", kStartMs + kDayMs, kStartMs, listener);
  const size_t memory_before = scheduler.memory_bytes();
  const size_t calls = listener.calls();

  CHECK(scheduler.remove_topic(SeriesSlot(1)) == 1000);
  CHECK(listener.calls() == calls);
  CHECK(scheduler.pending() == 11);
  CHECK(scheduler.timers() == 11);
  CHECK(scheduler.remove_topic(SeriesSlot(1)) == 0);
  CHECK(scheduler.remove_topic(SeriesSlot(99)) == 0);
  CHECK_FALSE(scheduler.remove(SeriesSlot(1), hex_id(5), listener).has_value());

  // The same ids are new again, and fill the freed records instead of growing the slab.
  for (uint64_t i = 0; i < 1000; ++i) {
    CHECK(scheduler.enqueue(SeriesSlot(1), hex_id(i), kStartMs + 5 * kSecondMs, kStartMs,
                            listener) == Scheduler::EnqueueOutcome::kAdded);
  }
  CHECK(scheduler.memory_bytes() <= memory_before);
  CHECK(scheduler.pending() == 1011);

  // Only live timers fire, once each for a late advance: the 1000 new ones turn overdue, and
  // topic 2's, delivered right then, due.
  listener.moves.clear();
  CHECK(advance_to(scheduler, listener, kStartMs + 3600 * kSecondMs) == 1000 + 10);
  CHECK(std::count_if(listener.moves.begin(), listener.moves.end(), [](const Move& move) {
          return move.slot == SeriesSlot(1) && move.to == Phase::kOverdue;
        }) == 1000);
  CHECK(std::count_if(listener.moves.begin(), listener.moves.end(), [](const Move& move) {
          return move.slot == SeriesSlot(2) && move.to == Phase::kDue;
        }) == 10);
}

TEST_CASE("scheduler: a duplicate enqueue changes nothing", "[scheduler]") {
  Scheduler scheduler(SchedulerConfig{}, kStartMs);
  RecordingListener listener;
  const std::string id = hex_id(3);
  REQUIRE(scheduler.enqueue(SeriesSlot(1), id, kStartMs + kDayMs, kStartMs, listener) ==
          Scheduler::EnqueueOutcome::kAdded);
  CHECK(scheduler.enqueue(SeriesSlot(1), id, kStartMs + 5 * kSecondMs, kStartMs, listener) ==
        Scheduler::EnqueueOutcome::kDuplicate);
  CHECK(listener.calls() == 1);
  CHECK(scheduler.pending() == 1);

  // The same id is a different message in another topic, and so is its lowercase spelling.
  CHECK(scheduler.enqueue(SeriesSlot(2), id, kStartMs + kDayMs, kStartMs, listener) ==
        Scheduler::EnqueueOutcome::kAdded);
  std::string lower = id;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](char c) { return static_cast<char>(std::tolower(c)); });
  REQUIRE(lower != id);
  CHECK(scheduler.enqueue(SeriesSlot(1), lower, kStartMs + kDayMs, kStartMs, listener) ==
        Scheduler::EnqueueOutcome::kAdded);
  CHECK(scheduler.pending() == 3);
  CHECK(scheduler.remove(SeriesSlot(1), id, listener) ==
        kStartMs + kDayMs);  // the first delivery time
}

TEST_CASE("scheduler: deliveries in the past are due or overdue at once", "[scheduler]") {
  const SchedulerConfig config = config_with(1000, 10'000);
  Scheduler scheduler(config, kStartMs);
  RecordingListener listener;
  const auto phase_of_new = [&](const std::string& id, int64_t deliver_at) {
    scheduler.enqueue(SeriesSlot(1), id, deliver_at, kStartMs, listener);
    return listener.added.back().second;
  };
  CHECK(phase_of_new("now", kStartMs) == Phase::kDue);
  CHECK(phase_of_new("just-past", kStartMs - 1) == Phase::kDue);
  CHECK(phase_of_new("in-grace", kStartMs - config.overdue_grace_ms + 1) == Phase::kDue);
  CHECK(phase_of_new("grace-over", kStartMs - config.overdue_grace_ms) == Phase::kOverdue);
  CHECK(phase_of_new("long-ago", std::numeric_limits<int64_t>::min()) == Phase::kOverdue);
  CHECK(phase_of_new("next-ms", kStartMs + 1) == range_phase(0));
  CHECK(phase_of_new("at-bound", kStartMs + 5 * kSecondMs) == range_phase(0));
  CHECK(phase_of_new("past-bound", kStartMs + 5 * kSecondMs + 1) == range_phase(1));
  CHECK(phase_of_new("end-of-time", std::numeric_limits<int64_t>::max()) == range_phase(8));
  CHECK(scheduler.timers() == 7);

  // Each turns overdue once its own grace ends, at the first tick at or after it.
  advance_to(scheduler, listener, kStartMs + config.overdue_grace_ms - 1000);
  CHECK(listener.counts[SeriesSlot(1)][phase_index(Phase::kOverdue)] == 3);  // + in-grace
  CHECK(listener.counts[SeriesSlot(1)][phase_index(Phase::kDue)] ==
        5);  // + next-ms, at-bound, past-bound
  advance_to(scheduler, listener, kStartMs + config.overdue_grace_ms);
  CHECK(listener.counts[SeriesSlot(1)][phase_index(Phase::kOverdue)] == 5);  // + now, just-past
  advance_to(scheduler, listener, kStartMs + config.overdue_grace_ms + 5 * kSecondMs + 1);
  CHECK(listener.counts[SeriesSlot(1)][phase_index(Phase::kOverdue)] == 7);  // + next-ms, at-bound
  CHECK(listener.counts[SeriesSlot(1)][phase_index(range_phase(8))] == 1);   // end-of-time
}

TEST_CASE("scheduler: ids of any length from 1 to 128 bytes are kept apart", "[scheduler]") {
  Scheduler scheduler(SchedulerConfig{}, kStartMs);
  RecordingListener listener;
  std::string upper_hex = hex_id(4);
  std::string lower_hex = hex_id(4, false);
  std::string mixed_hex = upper_hex;
  mixed_hex[0] = 'a';
  mixed_hex[1] = 'B';
  const std::vector<std::string> ids = {
      "x",
      std::string(1, '\0'),
      std::string(2, '\0'),
      std::string(15, 'q'),
      std::string(16, 'q'),
      std::string(17, 'q'),
      upper_hex.substr(0, 31),
      upper_hex.substr(0, 16),
      "G" + upper_hex.substr(1),  // 32 bytes, not hex
      upper_hex,
      lower_hex,
      mixed_hex,
      std::string(32, '7'),  // digits only: one id, whichever case it is read in
      // Hex in one half only; 'g' and 'G' would decode alike if the other half were trusted.
      upper_hex.substr(0, 16) + std::string(16, 'g'),
      upper_hex.substr(0, 16) + std::string(16, 'G'),
      lower_hex.substr(0, 16) + std::string(16, 'g'),
      lower_hex.substr(0, 16) + std::string(16, 'G'),
      std::string(16, 'G') + upper_hex.substr(16),
      std::string(16, 'g') + upper_hex.substr(16),
      std::string(31, 'A') + "\xC1",  // 'A' + 128: not a digit, though its low bits say so
      upper_hex + "0",
      std::string(127, 'z'),
      std::string(128, 'z'),
      std::string(127, 'z') + "y",
  };
  for (size_t i = 0; i < ids.size(); ++i) {
    INFO("id " << i << " of length " << ids[i].size());
    CHECK(scheduler.enqueue(SeriesSlot(1), ids[i], kStartMs + static_cast<int64_t>(i) + 1, kStartMs,
                            listener) == Scheduler::EnqueueOutcome::kAdded);
  }
  CHECK(scheduler.pending() == ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    INFO("id " << i << " of length " << ids[i].size());
    CHECK(scheduler.enqueue(SeriesSlot(1), ids[i], kStartMs, kStartMs, listener) ==
          Scheduler::EnqueueOutcome::kDuplicate);
  }
  CHECK_THROWS_AS(scheduler.enqueue(SeriesSlot(1), "", kStartMs, kStartMs, listener),
                  std::invalid_argument);
  CHECK_THROWS_AS(
      scheduler.enqueue(SeriesSlot(1), std::string(129, 'z'), kStartMs, kStartMs, listener),
      std::invalid_argument);

  // Removing in reverse also frees the out-of-line ids; a new long id reuses their storage.
  for (size_t i = ids.size(); i-- > 0;) {
    INFO("id " << i << " of length " << ids[i].size());
    CHECK(scheduler.remove(SeriesSlot(1), ids[i], listener) ==
          kStartMs + static_cast<int64_t>(i) + 1);
  }
  CHECK(scheduler.pending() == 0);
  const std::string another_long(100, 'k');
  CHECK(scheduler.enqueue(SeriesSlot(1), another_long, kStartMs + 1, kStartMs, listener) ==
        Scheduler::EnqueueOutcome::kAdded);
  CHECK_FALSE(scheduler.remove(SeriesSlot(1), std::string(128, 'z'), listener).has_value());
  CHECK(scheduler.remove(SeriesSlot(1), another_long, listener) == kStartMs + 1);
}

TEST_CASE("scheduler: for_each_pending gives back every id as it was enqueued", "[scheduler]") {
  Scheduler scheduler(SchedulerConfig{}, kStartMs);
  RecordingListener listener;
  std::map<std::pair<SeriesSlot, std::string>, int64_t> expected;
  const std::vector<std::string> ids = {hex_id(8),
                                        hex_id(9, false),
                                        std::string(32, '5'),
                                        "a",
                                        std::string(16, '\0'),
                                        "G" + hex_id(10).substr(1),
                                        std::string(128, 'x')};
  for (size_t i = 0; i < ids.size(); ++i) {
    const SeriesSlot topic = SeriesSlot(static_cast<uint32_t>(i % 3));
    const int64_t deliver_at = kStartMs + static_cast<int64_t>(i) * kDayMs;
    scheduler.enqueue(topic, ids[i], deliver_at, kStartMs, listener);
    expected[{topic, ids[i]}] = deliver_at;
  }
  scheduler.remove(SeriesSlot(0), ids[0], listener);
  expected.erase({SeriesSlot(0), ids[0]});

  std::map<std::pair<SeriesSlot, std::string>, int64_t> visited;
  scheduler.for_each_pending([&](SeriesSlot topic, std::string_view id, int64_t deliver_at) {
    CHECK(visited.emplace(std::make_pair(topic, std::string(id)), deliver_at).second);
  });
  CHECK(visited == expected);
}

TEST_CASE("scheduler: next_wakeup_ms jumps over empty time", "[scheduler]") {
  Scheduler scheduler(SchedulerConfig{}, kStartMs);
  RecordingListener listener;
  CHECK_FALSE(scheduler.next_wakeup_ms().has_value());

  const int64_t deliver_at = kStartMs + 2 * kDayMs + 500;
  const int64_t first_change = deliver_at - kDayMs;
  scheduler.enqueue(SeriesSlot(1), hex_id(5), deliver_at, kStartMs, listener);

  // Sleeping until each wakeup reaches the first move in a few calls, not one per tick.
  int wakeups = 0;
  while (listener.moves.empty()) {
    const std::optional<int64_t> wakeup = scheduler.next_wakeup_ms();
    REQUIRE(wakeup.has_value());
    REQUIRE(*wakeup > listener.now_ms);
    REQUIRE(*wakeup <= first_change + 1000);
    advance_to(scheduler, listener, *wakeup);
    REQUIRE(++wakeups <= 12);
  }
  CHECK(listener.moves[0].at_ms >= first_change);
  CHECK(listener.moves[0].at_ms < first_change + 1000);

  // A timer a few ticks ahead is on the lowest level: its wakeup is exact.
  scheduler.enqueue(SeriesSlot(1), hex_id(6), listener.now_ms + 3 * kSecondMs, listener.now_ms,
                    listener);
  CHECK(scheduler.next_wakeup_ms() == listener.now_ms + 3 * kSecondMs);
  CHECK(advance_to(scheduler, listener, listener.now_ms + 2 * kSecondMs) == 0);
}

TEST_CASE("scheduler: deliveries beyond the maximum delay still move on time", "[scheduler]") {
  const SchedulerConfig config;
  Scheduler scheduler(config, kStartMs);
  RecordingListener listener;
  const int64_t deliver_at = kStartMs + 400 * kDayMs + 123;
  scheduler.enqueue(SeriesSlot(1), hex_id(7), deliver_at, kStartMs, listener);

  int wakeups = 0;
  while (std::optional<int64_t> wakeup = scheduler.next_wakeup_ms()) {
    advance_to(scheduler, listener, *wakeup);
    REQUIRE(++wakeups <= 200);
  }
  REQUIRE(listener.moves.size() == 10);
  CHECK(listener.moves[0].to == range_phase(7));
  CHECK(listener.moves[0].at_ms >= deliver_at - kDayMs);
  CHECK(listener.moves[0].at_ms < deliver_at - kDayMs + config.precision_ms);
  CHECK(listener.moves.back().to == Phase::kOverdue);
}

TEST_CASE("scheduler: time inside the scheduler never runs back", "[scheduler]") {
  Scheduler scheduler(SchedulerConfig{}, kStartMs);
  RecordingListener listener;
  advance_to(scheduler, listener, kStartMs + kDayMs);
  CHECK(advance_to(scheduler, listener, kStartMs) == 0);

  // A caller clock a day behind: the message is judged at the wheel's time, so it is due,
  // not five seconds early, and its timer cannot land behind the wheel.
  scheduler.enqueue(SeriesSlot(1), "late-clock", kStartMs + kDayMs - 1, kStartMs, listener);
  CHECK(listener.added.back().second == Phase::kDue);
  CHECK(*scheduler.next_wakeup_ms() > kStartMs + kDayMs);
}

TEST_CASE("scheduler: a bad configuration is refused", "[scheduler]") {
  CHECK_THROWS_AS(Scheduler(config_with(0, 10'000), kStartMs), std::invalid_argument);
  CHECK_THROWS_AS(Scheduler(config_with(1000, -1), kStartMs), std::invalid_argument);
}

TEST_CASE("scheduler: memory stays under 64 bytes per pending message", "[scheduler]") {
  Scheduler scheduler(SchedulerConfig{}, kStartMs);
  RecordingListener listener;
  constexpr int kMessages = 900'000;
  std::mt19937_64 random(42);
  std::string id(32, '0');
  for (int i = 0; i < kMessages; ++i) {
    for (char& c : id) c = "0123456789ABCDEF"[random() % 16];
    scheduler.enqueue(SeriesSlot(static_cast<uint32_t>(i % 16)), id,
                      kStartMs + static_cast<int64_t>(random() % (3 * kDayMs)), kStartMs, listener);
  }
  REQUIRE(scheduler.pending() == kMessages);
  const double bytes_per_message = static_cast<double>(scheduler.memory_bytes()) / kMessages;
  INFO("bytes per pending message: " << bytes_per_message);
  CHECK(bytes_per_message <= 64.0);
  CHECK(bytes_per_message >= 48.0);  // a record alone is 48 bytes: the accounting is real
}

namespace {

__extension__ using Int128 = __int128;

// The phase straight from the definition, independent of the scheduler's arithmetic.
Phase model_phase(int64_t deliver_at, Int128 now, int64_t grace_ms) {
  const Int128 to_delivery_ms = deliver_at - now;
  if (to_delivery_ms <= 0) return -to_delivery_ms >= grace_ms ? Phase::kOverdue : Phase::kDue;
  for (int range = 0; range < 8; ++range) {
    if (to_delivery_ms <= Int128{kSnapshotBoundsSeconds[range]} * 1000) return range_phase(range);
  }
  return range_phase(8);
}

// The first instant after `now` at which the message is in another phase. Phases change only
// where the time to delivery crosses a bound, 0 or -grace, so trying those instants suffices.
std::optional<Int128> model_next_change(int64_t deliver_at, int64_t now, int64_t grace_ms) {
  const Phase phase = model_phase(deliver_at, now, grace_ms);
  std::optional<Int128> earliest;
  std::vector<Int128> candidates = {Int128{deliver_at}, Int128{deliver_at} + grace_ms};
  for (int64_t bound_s : kSnapshotBoundsSeconds) candidates.push_back(deliver_at - bound_s * 1000);
  for (Int128 candidate : candidates) {
    if (candidate <= now || model_phase(deliver_at, candidate, grace_ms) == phase) continue;
    if (!earliest || candidate < *earliest) earliest = candidate;
  }
  return earliest;
}

std::string random_id(std::mt19937_64& random) {
  const uint64_t pick = random() % 1000;  // a small pool, so duplicates and re-adds happen
  switch (pick % 5) {
    case 0:
      return hex_id(pick, false);
    case 1:
      return "short-" + std::to_string(pick);
    case 2:
      return std::string(40 + pick % 80, 'L') + std::to_string(pick);
    default:
      return hex_id(pick);
  }
}

int64_t random_delivery(std::mt19937_64& random, int64_t now) {
  const uint64_t kind = random() % 100;
  if (kind == 0) return std::numeric_limits<int64_t>::max() - static_cast<int64_t>(random() % 1000);
  if (kind == 1) return std::numeric_limits<int64_t>::min() + static_cast<int64_t>(random() % 1000);
  if (kind < 5) return now + static_cast<int64_t>(random() % (3650 * kDayMs));
  if (kind < 40) return now + static_cast<int64_t>(random() % 120'000) - 20'000;
  return now + static_cast<int64_t>(random() % (5 * kDayMs)) - kDayMs;
}

int64_t random_jump(std::mt19937_64& random, int64_t precision_ms) {
  const uint64_t kind = random() % 10;
  const int64_t ticks = kind < 6 ? static_cast<int64_t>(random() % 6)
                        : kind < 9
                            ? static_cast<int64_t>(random() % (2 * 3600 * 1000 / precision_ms))
                            : static_cast<int64_t>(random() % (4 * kDayMs / precision_ms));
  return ticks * precision_ms;
}

}  // namespace

TEST_CASE("scheduler: random operations agree with a brute-force model", "[scheduler]") {
  const auto [precision_ms, grace_ms] = GENERATE(table<int64_t, int64_t>({
      {1000, 10'000},
      {7, 0},
      {250, 3'000},
  }));
  INFO("precision " << precision_ms << " ms, grace " << grace_ms << " ms");
  const SchedulerConfig config = config_with(precision_ms, grace_ms);
  const int64_t start = kStartMs / precision_ms * precision_ms;  // tick boundaries compare exactly
  Scheduler scheduler(config, start);
  RecordingListener listener;
  std::map<std::pair<SeriesSlot, std::string>, int64_t> model;  // message -> delivery time
  std::mt19937_64 random(precision_ms);
  constexpr uint32_t kTopics = 5;
  int64_t now = start;
  int64_t latest_enqueue = start;

  for (int step = 0; step < 20'000; ++step) {
    const uint64_t operation = random() % 1000;
    const SeriesSlot topic = SeriesSlot(static_cast<uint32_t>(random() % kTopics));
    if (operation < 500) {
      const std::string id = random_id(random);
      const int64_t deliver_at = random_delivery(random, now);
      // Enqueues may come at any time before the next tick.
      const int64_t enqueue_now = now + static_cast<int64_t>(random() % precision_ms);
      latest_enqueue = std::max(latest_enqueue, enqueue_now);
      const bool is_new = model.emplace(std::make_pair(topic, id), deliver_at).second;
      CHECK(scheduler.enqueue(topic, id, deliver_at, enqueue_now, listener) ==
            (is_new ? Scheduler::EnqueueOutcome::kAdded : Scheduler::EnqueueOutcome::kDuplicate));
    } else if (operation < 700) {
      const std::string id = random_id(random);
      const auto found = model.find({topic, id});
      const std::optional<int64_t> expected =
          found == model.end() ? std::nullopt : std::optional<int64_t>(found->second);
      CHECK(scheduler.remove(topic, id, listener) == expected);
      if (found != model.end()) model.erase(found);
    } else if (operation < 705) {
      size_t expected = 0;
      for (auto it = model.begin(); it != model.end();) {
        if (it->first.first == topic) {
          it = model.erase(it);
          ++expected;
        } else {
          ++it;
        }
      }
      CHECK(scheduler.remove_topic(topic) == expected);
      listener.counts.erase(topic);  // the caller drops the topic's series whole
    } else {
      // To a tick boundary no earlier than any enqueue: then every phase is exactly known.
      now += random_jump(random, precision_ms);
      if (now < latest_enqueue) now += precision_ms;
      advance_to(scheduler, listener, now);

      std::map<SeriesSlot, std::array<int64_t, kPhaseCount>> expected_counts;
      size_t expected_timers = 0;
      std::optional<Int128> earliest_change;
      for (const auto& [key, deliver_at] : model) {
        const Phase phase = model_phase(deliver_at, now, grace_ms);
        ++expected_counts[key.first][phase_index(phase)];
        if (phase == Phase::kOverdue) continue;
        ++expected_timers;
        const std::optional<Int128> change = model_next_change(deliver_at, now, grace_ms);
        REQUIRE(change.has_value());
        if (!earliest_change || *change < *earliest_change) earliest_change = *change;
      }
      for (uint32_t t = 0; t < kTopics; ++t) {
        INFO("step " << step << ", topic " << t << ", now " << now);
        CHECK(listener.counts[SeriesSlot(t)] == expected_counts[SeriesSlot(t)]);
      }
      CHECK(scheduler.pending() == model.size());
      CHECK(scheduler.timers() == expected_timers);
      // The driver may wake early (a slot of a higher level) but never after the next change.
      const std::optional<int64_t> wakeup = scheduler.next_wakeup_ms();
      CHECK(wakeup.has_value() == earliest_change.has_value());
      if (wakeup && earliest_change) {
        // The tick the change is seen at, as a time; the scheduler saturates at the int64 end.
        const Int128 ticks_after_start =
            (*earliest_change - start + precision_ms - 1) / precision_ms;
        const Int128 seen_at = std::min<Int128>(start + ticks_after_start * precision_ms,
                                                std::numeric_limits<int64_t>::max());
        CHECK(*wakeup > now);
        CHECK(*wakeup <= seen_at);
      }
    }
  }
}
