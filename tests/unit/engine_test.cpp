#include "timing_sidecar/engine.hpp"

#include <catch2/catch.hpp>
#include <map>
#include <random>
#include <set>

#include "support/events.hpp"
#include "support/metrics_text.hpp"

using namespace timing_sidecar;
using timing_sidecar::testing::make_event;
using timing_sidecar::testing::parse_exposition;

namespace {

constexpr int64_t kStart = 1'800'000'000'000;

class CountingObserver final : public EngineObserver {
 public:
  void on_event(EventSource, EventType) override { ++applied; }
  void on_ignored(std::string_view reason) override { ++ignored[std::string(reason)]; }
  void on_series_removed(std::string_view reason, size_t series) override {
    removed[std::string(reason)] += series;
  }
  void on_delivery_lateness(double seconds) override { lateness.push_back(seconds); }
  void on_timers_fired(size_t timers) override { fired += timers; }
  void on_tombstones_forgotten(const ForgottenTombstones& forgotten) override {
    expired += forgotten.expired;
    evicted += forgotten.evicted;
  }

  size_t applied = 0;
  size_t fired = 0;
  size_t expired = 0;
  size_t evicted = 0;
  std::map<std::string, size_t> ignored;
  std::map<std::string, size_t> removed;
  std::vector<double> lateness;
};

std::string topic_series(const std::string& family, const std::string& topic) {
  return family + "{topic=\"" + topic + "\"}";
}

struct Fixture {
  ManualClock clock{kStart};
  CountingObserver observer;
  Engine engine{EngineConfig{}, clock, observer};

  ApplyResult apply(std::vector<Event> events) {
    return engine.apply(events, EventSource::kWebhook);
  }
  testing::Exposition scrape() {
    engine.reconcile();
    std::string text;
    engine.write_metrics(text);
    return parse_exposition(text);
  }
};

}  // namespace

TEST_CASE("engine: a deletion removes every series of the topic before apply returns", "[engine]") {
  Fixture f;
  f.apply({make_event(EventType::kTopicCreated, "gone"),
           make_event(EventType::kTopicCreated, "kept"),
           make_event(EventType::kTimerEnqueued, "gone", "a", kStart + 60'000),
           make_event(EventType::kTimerEnqueued, "kept", "b", kStart + 60'000)});
  std::string before;
  f.engine.write_metrics(before);
  REQUIRE(parse_exposition(before).count("rocketmq_") == 2 * 13);

  const ApplyResult result = f.apply({make_event(EventType::kTopicDeleted, "gone")});
  CHECK(result.accepted == 1);
  std::string after;
  f.engine.write_metrics(after);  // no reconcile in between: the deletion itself removed them
  const auto parsed = parse_exposition(after);
  CHECK(parsed.count("rocketmq_") == 13);
  CHECK(after.find("\"gone\"") == std::string::npos);
  CHECK(f.observer.removed["deleted"] == 13);
  CHECK(f.engine.stats().timers == 1);

  SECTION("and a late dequeue cannot bring them back") {
    const ApplyResult late = f.apply({make_event(EventType::kTimerDequeued, "gone", "a")});
    CHECK(late.ignored == 1);
    CHECK(f.observer.ignored["tombstoned"] == 1);
    CHECK_FALSE(f.scrape().has(topic_series("rocketmq_timing_messages", "gone")));
  }
}

TEST_CASE("engine: duplicate enqueues are idempotent and unknown dequeues still count",
          "[engine]") {
  Fixture f;
  f.apply({make_event(EventType::kTimerEnqueued, "T", "m1", kStart + 10'000),
           make_event(EventType::kTimerEnqueued, "T", "m1", kStart + 10'000),
           make_event(EventType::kTimerDequeued, "T", "unknown")});
  auto parsed = f.scrape();
  CHECK(parsed.value(topic_series("rocketmq_timing_messages", "T")) == 1);
  CHECK(parsed.value(topic_series("rocketmq_timer_enqueue_total", "T")) == 1);
  CHECK(parsed.value(topic_series("rocketmq_timer_dequeue_total", "T")) == 1);

  f.clock.advance(12'500);
  f.apply({make_event(EventType::kTimerDequeued, "T", "m1")});
  parsed = f.scrape();
  CHECK(parsed.value(topic_series("rocketmq_timing_messages", "T")) == 0);
  CHECK(parsed.value(topic_series("rocketmq_timer_dequeue_total", "T")) == 2);
  REQUIRE(f.observer.lateness.size() == 1);
  CHECK(f.observer.lateness[0] == Approx(2.5));
}

TEST_CASE("engine: the reconciler drops series of topics the catalog no longer holds live",
          "[engine][list]") {
  Fixture f;
  f.clock.set(kStart);
  f.apply({make_event(EventType::kTopicCreated, "a"), make_event(EventType::kTopicCreated, "b"),
           make_event(EventType::kTimerEnqueued, "b", "m", kStart + 5000)});
  f.clock.advance(1000);
  TopicList list{{std::nullopt, f.clock.now_ms()}, {{"a", std::nullopt}}};
  std::lock_guard lock(f.engine.list_mutex());
  ListAdmission admission = f.engine.admit_list(list);
  CHECK(admission.unlisted == std::vector<std::string>{"b"});
  f.engine.condemn(admission.unlisted, list.stamp);
  // Condemned in the catalog; the series go at the next reconcile, before the scrape writes.
  CHECK(f.engine.stats().topics == 2);
  const auto parsed = f.scrape();
  CHECK_FALSE(parsed.has(topic_series("rocketmq_timing_messages", "b")));
  CHECK(parsed.has(topic_series("rocketmq_timing_messages", "a")));
  CHECK(f.observer.removed["reconciled"] == 13);
  CHECK(f.engine.stats().timers == 0);
}

TEST_CASE("engine: adopted broker counts show until the unseen messages are dequeued",
          "[engine][list]") {
  Fixture f;
  f.apply({make_event(EventType::kTimerEnqueued, "T", "seen", kStart + 60'000)});
  const auto incomplete =
      f.engine.adopt_broker_counts({{"T", 3}, {"deleted-elsewhere", 5}}, CountMode::kAdoptAfterGap);
  CHECK(incomplete == std::vector<std::string>{"T"});
  CHECK(f.scrape().value(topic_series("rocketmq_timing_messages", "T")) == 3);
  CHECK(f.engine.stats().incomplete == 1);
  f.apply({make_event(EventType::kTimerDequeued, "T", "unseen-1"),
           make_event(EventType::kTimerCancelled, "T", "unseen-2")});
  CHECK(f.scrape().value(topic_series("rocketmq_timing_messages", "T")) == 1);
  CHECK(f.engine.stats().incomplete == 0);
  CHECK_FALSE(f.scrape().has(topic_series("rocketmq_timing_messages", "deleted-elsewhere")));
}

// The e2e run against RocketMQ found it: the sidecar down while the plugin's feed overflowed, then
// a relist after the gap. Messages the sidecar held were delivered during the gap; kept, they
// stayed pending (overdue) for ever, and the count never came back down to the broker's.
TEST_CASE("engine: after a gap, messages due by the list are the broker's count's to tell",
          "[engine][list]") {
  Fixture f;
  f.clock.set(kStart);
  f.apply({make_event(EventType::kTimerEnqueued, "T", "delivered-in-gap", kStart + 1000),
           make_event(EventType::kTimerEnqueued, "T", "still-pending", kStart + 60'000)});
  // The gap: the first is delivered and two are enqueued, none of it seen; then the relist.
  f.clock.advance(15'000);  // past the overdue grace of the first
  f.engine.advance_timers();
  const auto incomplete =
      f.engine.adopt_broker_counts({{"T", 3}}, CountMode::kAdoptAfterGap, f.clock.now_ms());
  CHECK(incomplete == std::vector<std::string>{"T"});
  auto parsed = f.scrape();
  CHECK(parsed.value(topic_series("rocketmq_timing_messages", "T")) == 3);
  CHECK(parsed.value(topic_series("rocketmq_timing_messages_overdue", "T")) == 0);
  // The two enqueued during the gap are delivered, then the one seen before it.
  f.apply({make_event(EventType::kTimerDequeued, "T", "gap-1"),
           make_event(EventType::kTimerDequeued, "T", "gap-2")});
  CHECK(f.scrape().value(topic_series("rocketmq_timing_messages", "T")) == 1);
  f.clock.advance(60'000);
  f.apply({make_event(EventType::kTimerDequeued, "T", "still-pending")});
  parsed = f.scrape();
  CHECK(parsed.value(topic_series("rocketmq_timing_messages", "T")) == 0);
  CHECK(f.engine.stats().incomplete == 0);
  CHECK(f.engine.stats().timers == 0);
}

TEST_CASE("engine: churned topics leave nothing behind once their tombstones expire",
          "[engine][tombstones]") {
  EngineConfig config;
  config.tombstones = {60'000, SIZE_MAX};
  ManualClock clock{kStart};
  CountingObserver observer;
  Engine engine(config, clock, observer);
  engine.apply({make_event(EventType::kTimerEnqueued, "live", "m", kStart + 3'600'000)},
               EventSource::kWebhook);
  for (int cycle = 0; cycle < 3; ++cycle) {
    CAPTURE(cycle);
    std::vector<Event> churn;
    for (int i = 0; i < 2000; ++i) {
      const std::string topic = "churn-" + std::to_string(cycle) + "-" + std::to_string(i);
      churn.push_back(make_event(EventType::kTimerEnqueued, topic, "a", clock.now_ms() + 5000));
      churn.push_back(make_event(EventType::kTopicDeleted, topic));
    }
    engine.apply(churn, EventSource::kWebhook);
    CHECK(engine.stats().tombstones == 2000);
    CHECK(engine.forget_tombstones().expired == 0);
    // A late event inside the retention is still turned away.
    CHECK(engine
              .apply({make_event(EventType::kTimerDequeued, "churn-" + std::to_string(cycle) + "-7",
                                 "a")},
                     EventSource::kWebhook)
              .ignored == 1);
    clock.advance(60'000);
    CHECK(engine.forget_tombstones().expired == 2000);
    const EngineStats stats = engine.stats();
    CHECK(stats.tombstones == 0);
    CHECK(stats.names == 1);
    CHECK(stats.topics == 1);
    CHECK(stats.pending == 1);
  }
  CHECK(observer.expired == 3 * 2000);
}

// The model: what the README promises, written as plainly as possible.
namespace {

struct ModelTopic {
  bool live = false;
  // Events of the current life carry revisions from here on; lower ones belong to an older life.
  std::optional<int64_t> life_floor;
  std::optional<int64_t> first_revision;  // of the event that began the current life
  // Creations and deletions at or below it are not newer than the deletion of a deleted topic.
  std::optional<int64_t> deleted_revision;
  std::set<std::string> pending;
  uint64_t enqueued = 0;
  uint64_t dequeued = 0;
};

std::optional<int64_t> highest(std::optional<int64_t> a, std::optional<int64_t> b) {
  if (!a) return b;
  if (!b) return a;
  return std::max(*a, *b);
}

class Model {
 public:
  void apply(const Event& e) {
    const bool known = topics_.count(e.topic) != 0;
    ModelTopic& t = topics_[e.topic];
    const auto at_or_below = [](std::optional<int64_t> a, std::optional<int64_t> b) {
      return a && b && *a <= *b;
    };
    const auto below = [](std::optional<int64_t> a, std::optional<int64_t> b) {
      return a && b && *a < *b;
    };
    switch (e.type) {
      case EventType::kTopicCreated:
        if (t.live) return;
        if (known && at_or_below(e.revision, t.deleted_revision)) return ignore("stale_revision");
        {
          // Without a revision, the new life is still known to begin after the deletion.
          const std::optional<int64_t> deleted = t.deleted_revision;
          t = ModelTopic{};
          t.live = true;
          t.first_revision = e.revision;
          t.life_floor = e.revision ? e.revision : deleted ? std::optional(*deleted + 1) : deleted;
        }
        return;
      case EventType::kTopicDeleted:
        if (known && !t.live) {
          if (at_or_below(e.revision, t.deleted_revision)) return ignore("stale_revision");
          // A revisionless report of the deletion adds nothing to what is known of it.
          if (e.revision) t.deleted_revision = e.revision;
          return;
        }
        if (t.live && below(e.revision, t.life_floor)) return ignore("stale_revision");
        {
          // Without a revision, the deletion is newer than every revision known of the topic.
          const std::optional<int64_t> deleted =
              e.revision ? e.revision : highest(t.life_floor, t.first_revision);
          t = ModelTopic{};
          t.deleted_revision = deleted;
        }
        return;
      default:
        break;
    }
    if (known && !t.live) return ignore("tombstoned");
    if (known && below(e.revision, t.life_floor)) return ignore("stale_revision");
    if (!t.live) {
      t.live = true;
      t.first_revision = e.revision;
    }
    if (e.type == EventType::kTimerEnqueued) {
      if (t.pending.insert(e.id).second) ++t.enqueued;
    } else if (e.type == EventType::kTimerDequeued) {
      ++t.dequeued;
      t.pending.erase(e.id);
    } else {
      t.pending.erase(e.id);
    }
  }

  const std::map<std::string, ModelTopic>& topics() const { return topics_; }
  size_t ignored(const std::string& reason) const {
    const auto found = ignored_.find(reason);
    return found == ignored_.end() ? 0 : found->second;
  }

 private:
  void ignore(const char* reason) { ++ignored_[reason]; }

  std::map<std::string, ModelTopic> topics_;
  std::map<std::string, size_t> ignored_;
};

const std::vector<std::string> kModelTopics = {"t0", "t1", "t2", "t3", "%RETRY%g", "a|b"};
const std::vector<EventType> kModelTypes = {EventType::kTopicCreated,  EventType::kTopicDeleted,
                                            EventType::kTimerEnqueued, EventType::kTimerEnqueued,
                                            EventType::kTimerEnqueued, EventType::kTimerDequeued,
                                            EventType::kTimerDequeued, EventType::kTimerCancelled};

Event random_event(std::mt19937_64& random, int64_t now_ms) {
  return make_event(kModelTypes[random() % kModelTypes.size()],
                    kModelTopics[random() % kModelTopics.size()],
                    "id" + std::to_string(random() % 12),
                    now_ms + static_cast<int64_t>(random() % 200'000) - 20'000);
}

// One source: every event with a revision, or none; with revisions, mostly in order and
// sometimes a late replay of an older one.
class OneSource {
 public:
  OneSource(std::mt19937_64& random, bool with_revisions)
      : random_(random), with_revisions_(with_revisions) {}

  Event next(int64_t now_ms) {
    Event e = random_event(random_, now_ms);
    if (with_revisions_) {
      revision_ += 1;
      e.revision = random_() % 8 == 0 ? std::max<int64_t>(1, revision_ - 10) : revision_;
    }
    return e;
  }

 private:
  std::mt19937_64& random_;
  bool with_revisions_;
  int64_t revision_ = 0;
};

// Two sources reporting the same broker changes, as the feed and a revisionless webhook (or
// `timing-sidecar notify` after `mqadmin deleteTopic`) would: the feed sends every change with
// its revision in order and sometimes replays an old one; the webhook sends many of the same
// changes without a revision, a little late and out of order; both repeat deletions and
// creations.
class TwoSources {
 public:
  explicit TwoSources(std::mt19937_64& random) : random_(random) {}

  Event next(int64_t now_ms) {
    if (webhook_.size() > 0 && random_() % 3 == 0) {
      const size_t pick = random_() % std::min<size_t>(webhook_.size(), 4);
      Event e = webhook_[pick];
      webhook_.erase(webhook_.begin() + static_cast<std::ptrdiff_t>(pick));
      e.revision.reset();
      return e;
    }
    if (!history_.empty() && random_() % 6 == 0) {
      return history_[history_.size() - 1 - random_() % std::min<size_t>(history_.size(), 20)];
    }
    Event e = random_event(random_, now_ms);
    e.revision = ++revision_;
    history_.push_back(e);
    const bool topic_change =
        e.type == EventType::kTopicCreated || e.type == EventType::kTopicDeleted;
    if (random_() % (topic_change ? 2 : 5) == 0) webhook_.push_back(e);
    return e;
  }

 private:
  std::mt19937_64& random_;
  int64_t revision_ = 0;
  std::vector<Event> history_;
  std::vector<Event> webhook_;
};

// Feeds `next_event` to the engine and the model in random batches, checking after each batch
// that the exposed series and the ignored counts equal the model's.
template <typename NextEvent>
void check_against_model(std::mt19937_64& random, int steps, NextEvent next_event) {
  Fixture f;
  Model model;
  for (int step = 0; step < steps; ++step) {
    std::vector<Event> batch;
    const int batch_size = 1 + static_cast<int>(random() % 5);
    for (int i = 0; i < batch_size; ++i) batch.push_back(next_event(f.clock.now_ms()));
    for (const Event& e : batch) model.apply(e);
    f.apply(batch);
    f.clock.advance(static_cast<int64_t>(random() % 3000));
    f.engine.advance_timers();

    const auto parsed = f.scrape();
    size_t live = 0;
    for (const auto& [name, t] : model.topics()) {
      CAPTURE(name, step);
      if (!t.live) {
        CHECK_FALSE(parsed.has(topic_series("rocketmq_timing_messages", name)));
        continue;
      }
      ++live;
      CHECK(parsed.value(topic_series("rocketmq_timing_messages", name)) == t.pending.size());
      CHECK(parsed.value(topic_series("rocketmq_timer_enqueue_total", name)) == t.enqueued);
      CHECK(parsed.value(topic_series("rocketmq_timer_dequeue_total", name)) == t.dequeued);
    }
    REQUIRE(parsed.count("rocketmq_timing_messages{") == live);
    for (const char* reason : {"stale_revision", "tombstoned"}) {
      CAPTURE(reason, step);
      REQUIRE(f.observer.ignored[reason] == model.ignored(reason));
    }
  }
}

}  // namespace

TEST_CASE("engine: after any interleaving the exposed series equal the model", "[engine][model]") {
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    DYNAMIC_SECTION("seed " << seed) {
      std::mt19937_64 random(seed);
      OneSource source(random, seed % 2 == 0);
      check_against_model(random, 400, [&](int64_t now_ms) { return source.next(now_ms); });
    }
  }
}

TEST_CASE("engine: revisioned and revisionless sources interleaved equal the model",
          "[engine][model]") {
  for (uint64_t seed = 1; seed <= 300; ++seed) {
    DYNAMIC_SECTION("seed " << seed) {
      std::mt19937_64 random(seed);
      TwoSources sources(random);
      check_against_model(random, 150, [&](int64_t now_ms) { return sources.next(now_ms); });
    }
  }
}

TEST_CASE("engine: snapshot ranges sum to pending minus due at every moment", "[engine][model]") {
  std::mt19937_64 random(7);
  Fixture f;
  for (int step = 0; step < 300; ++step) {
    std::vector<Event> batch;
    for (int i = 0; i < 20; ++i) {
      const std::string topic = "t" + std::to_string(random() % 4);
      const std::string id = "id" + std::to_string(random() % 500);
      const int64_t delay = static_cast<int64_t>(random() % (3LL * 86'400'000)) - 60'000;
      batch.push_back(random() % 4 == 0 ? make_event(EventType::kTimerDequeued, topic, id)
                                        : make_event(EventType::kTimerEnqueued, topic, id,
                                                     f.clock.now_ms() + delay));
    }
    f.apply(batch);
    f.clock.advance(static_cast<int64_t>(random() % 4'000'000));
    f.engine.advance_timers();
    const auto parsed = f.scrape();
    for (const TopicSummary& topic : f.engine.topics()) {
      CAPTURE(topic.name, step);
      double ranges = 0;
      for (const char* bound :
           {"5", "60", "300", "900", "3600", "14400", "28800", "86400", "+Inf"}) {
        ranges += parsed.value("rocketmq_timer_message_snapshot{topic=\"" + topic.name +
                               "\",timer_bound_s=\"" + bound + "\"}");
      }
      CHECK(ranges == topic.pending - topic.due - topic.overdue);
      CHECK(parsed.value(topic_series("rocketmq_timing_messages_overdue", topic.name)) ==
            topic.overdue);
    }
  }
  CHECK(f.observer.fired > 0);
}
