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

  size_t applied = 0;
  size_t fired = 0;
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

// The model: what the README promises, written as plainly as possible.
namespace {

struct ModelTopic {
  bool live = false;
  std::optional<int64_t> created_revision;
  std::optional<int64_t> deleted_revision;
  std::set<std::string> pending;
  uint64_t enqueued = 0;
  uint64_t dequeued = 0;
};

class Model {
 public:
  void apply(const Event& e) {
    const bool known = topics_.count(e.topic) != 0;
    ModelTopic& t = topics_[e.topic];
    const auto older = [](std::optional<int64_t> a, std::optional<int64_t> b, bool or_equal) {
      return a && b && (or_equal ? *a <= *b : *a < *b);
    };
    switch (e.type) {
      case EventType::kTopicCreated:
        if (t.live) return;
        if (known && older(e.revision, t.deleted_revision, true)) return;
        t = ModelTopic{};
        t.live = true;
        t.created_revision = e.revision;
        return;
      case EventType::kTopicDeleted:
        if (known && !t.live && older(e.revision, t.deleted_revision, true)) return;
        if (t.live && older(e.revision, t.created_revision, false)) return;
        t = ModelTopic{};
        t.deleted_revision = e.revision;
        return;
      default:
        break;
    }
    if (known && !t.live) return;
    if (known && older(e.revision, t.created_revision, false)) return;
    t.live = true;
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

 private:
  std::map<std::string, ModelTopic> topics_;
};

}  // namespace

TEST_CASE("engine: after any interleaving the exposed series equal the model", "[engine][model]") {
  const std::vector<std::string> topics = {"t0", "t1", "t2", "t3", "%RETRY%g", "a|b"};
  const std::vector<EventType> types = {EventType::kTopicCreated,  EventType::kTopicDeleted,
                                        EventType::kTimerEnqueued, EventType::kTimerEnqueued,
                                        EventType::kTimerEnqueued, EventType::kTimerDequeued,
                                        EventType::kTimerDequeued, EventType::kTimerCancelled};
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    CAPTURE(seed);
    std::mt19937_64 random(seed);
    Fixture f;
    Model model;
    const bool with_revisions = seed % 2 == 0;
    int64_t revision = 0;
    for (int step = 0; step < 400; ++step) {
      std::vector<Event> batch;
      const int batch_size = 1 + static_cast<int>(random() % 5);
      for (int i = 0; i < batch_size; ++i) {
        Event e = make_event(types[random() % types.size()], topics[random() % topics.size()],
                             "id" + std::to_string(random() % 12),
                             f.clock.now_ms() + static_cast<int64_t>(random() % 200'000) - 20'000);
        if (with_revisions) {
          // Mostly in order, sometimes a late replay of an older revision.
          revision += 1;
          e.revision = random() % 8 == 0 ? std::max<int64_t>(1, revision - 10) : revision;
        }
        batch.push_back(e);
      }
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
