// The drill-down's model: a topic's earliest pending messages from the scheduler, and the
// engine's detail of one topic (live, deleted at a revision, unknown).

#include <algorithm>
#include <catch2/catch.hpp>
#include <random>
#include <string>
#include <vector>

#include "support/events.hpp"
#include "timing_sidecar/engine.hpp"
#include "timing_sidecar/scheduler.hpp"

using namespace timing_sidecar;
using timing_sidecar::testing::make_event;

namespace {

constexpr int64_t kStartMs = 1'700'000'000'000;

class NullListener final : public PhaseListener {
 public:
  void on_added(SeriesSlot, Phase) override {}
  void on_moved(SeriesSlot, Phase, Phase) override {}
  void on_removed(SeriesSlot, Phase) override {}
};

std::vector<int64_t> times(const std::vector<ScheduledMessage>& messages) {
  std::vector<int64_t> out;
  for (const ScheduledMessage& message : messages) out.push_back(message.deliver_at_ms);
  return out;
}

}  // namespace

TEST_CASE("scheduler: a topic's earliest messages, split into overdue and upcoming, sorted",
          "[scheduler][drilldown]") {
  SchedulerConfig config;
  config.overdue_grace_ms = 1000;
  Scheduler scheduler(config, kStartMs);
  NullListener listener;
  // Topic 1: 1,000 messages at shuffled times from 50 s ago to 950 s ahead; topic 2 interleaved
  // with earlier times that must never show up in topic 1's lists.
  std::vector<int64_t> offsets;
  for (int64_t i = 0; i < 1000; ++i) offsets.push_back((i - 50) * 1000);
  std::shuffle(offsets.begin(), offsets.end(), std::mt19937(7));
  for (size_t i = 0; i < offsets.size(); ++i) {
    scheduler.enqueue(SeriesSlot(1), "m" + std::to_string(i), kStartMs + offsets[i], kStartMs,
                      listener);
    scheduler.enqueue(SeriesSlot(2), "other" + std::to_string(i), kStartMs - 100'000 + offsets[i],
                      kStartMs, listener);
  }
  // One id of each form the scheduler stores: 32 hex digits, short inline, long out of line.
  const std::string hex = "0123456789ABCDEF0123456789ABCDEF";
  const std::string long_id(100, 'x');
  scheduler.enqueue(SeriesSlot(3), hex, kStartMs - 60'000, kStartMs, listener);
  scheduler.enqueue(SeriesSlot(3), long_id, kStartMs - 30'000, kStartMs, listener);
  scheduler.enqueue(SeriesSlot(3), "short", kStartMs + 30'000, kStartMs, listener);

  const TopicMessages first = scheduler.topic_messages(SeriesSlot(1), 10);
  REQUIRE(first.overdue.size() == 10);
  REQUIRE(first.upcoming.size() == 10);
  // Overdue: 50 s .. 1 s ago (due for the 1 s grace or longer), oldest first.
  CHECK(times(first.overdue) == std::vector<int64_t>{kStartMs - 50'000, kStartMs - 49'000,
                                                     kStartMs - 48'000, kStartMs - 47'000,
                                                     kStartMs - 46'000, kStartMs - 45'000,
                                                     kStartMs - 44'000, kStartMs - 43'000,
                                                     kStartMs - 42'000, kStartMs - 41'000});
  // Upcoming: the one due now (within the grace) first, then the soonest.
  CHECK(times(first.upcoming).front() == kStartMs);
  CHECK(times(first.upcoming).back() == kStartMs + 9000);
  CHECK(std::is_sorted(
      first.upcoming.begin(), first.upcoming.end(),
      [](const auto& a, const auto& b) { return a.deliver_at_ms < b.deliver_at_ms; }));
  for (const ScheduledMessage& message : first.overdue) CHECK(message.id.rfind("m", 0) == 0);

  const TopicMessages all = scheduler.topic_messages(SeriesSlot(1), 10'000);
  CHECK(all.overdue.size() == 50);
  CHECK(all.upcoming.size() == 950);

  const TopicMessages forms = scheduler.topic_messages(SeriesSlot(3), 100);
  REQUIRE(forms.overdue.size() == 2);
  CHECK(forms.overdue[0].id == hex);
  CHECK(forms.overdue[1].id == long_id);
  REQUIRE(forms.upcoming.size() == 1);
  CHECK(forms.upcoming[0].id == "short");

  CHECK(scheduler.topic_messages(SeriesSlot(4), 100).overdue.empty());
  CHECK(scheduler.topic_messages(SeriesSlot(1'000'000), 100).upcoming.empty());
  // Time passing moves messages from one list to the other.
  scheduler.advance(kStartMs + 10'000, listener);
  CHECK(scheduler.topic_messages(SeriesSlot(1), 10'000).overdue.size() == 60);
}

TEST_CASE("engine: the detail of a live, a deleted and an unknown topic", "[engine][drilldown]") {
  ManualClock clock(kStartMs);
  NullEngineObserver observer;
  EngineConfig config;
  config.scheduler.overdue_grace_ms = 1000;
  Engine engine(config, clock, observer);
  engine.apply({make_event(EventType::kTimerEnqueued, "orders", "late", kStartMs - 5000),
                make_event(EventType::kTimerEnqueued, "orders", "soon", kStartMs + 5000),
                make_event(EventType::kTimerEnqueued, "gone", "x", kStartMs + 5000),
                make_event(EventType::kTopicDeleted, "gone", "", 0, 42),
                make_event(EventType::kTimerEnqueued, "gone-unversioned", "x", kStartMs + 5000),
                make_event(EventType::kTopicDeleted, "gone-unversioned")},
               EventSource::kWebhook);
  clock.advance(10);  // the overdue phase is taken at enqueue; the detail's now moves on

  const TopicDetail live = engine.topic_detail("orders", 100);
  REQUIRE(live.status == TopicDetail::Status::kLive);
  CHECK(live.now_ms == kStartMs + 10);
  CHECK(live.summary.name == "orders");
  CHECK(live.summary.pending == 2);
  CHECK(live.summary.overdue == 1);
  CHECK(live.summary.enqueued == 2);
  REQUIRE(live.messages.overdue.size() == 1);
  CHECK(live.messages.overdue[0].id == "late");
  REQUIRE(live.messages.upcoming.size() == 1);
  CHECK(live.messages.upcoming[0].id == "soon");

  const TopicDetail deleted = engine.topic_detail("gone", 100);
  CHECK(deleted.status == TopicDetail::Status::kDeleted);
  CHECK(deleted.deleted_revision == std::optional<int64_t>(42));
  const TopicDetail unversioned = engine.topic_detail("gone-unversioned", 100);
  CHECK(unversioned.status == TopicDetail::Status::kDeleted);
  CHECK_FALSE(unversioned.deleted_revision);
  CHECK(engine.topic_detail("never", 100).status == TopicDetail::Status::kUnknown);
}
