#include "timing_sidecar/catalog.hpp"

#include <catch2/catch.hpp>
#include <map>
#include <random>
#include <set>

using namespace timing_sidecar;

namespace {

Event event(EventType type, const std::string& topic, std::optional<int64_t> revision = {}) {
  Event e;
  e.type = type;
  e.topic = topic;
  e.id = "00000000000000000000000000000001";
  e.deliver_at_ms = 1'800'000'000'000;
  e.revision = revision;
  return e;
}

constexpr int64_t kNow = 1'800'000'000'000;

}  // namespace

TEST_CASE("catalog: a timer event makes an unknown topic live", "[catalog]") {
  Catalog catalog;
  CHECK(catalog.admit(event(EventType::kTimerEnqueued, "T"), kNow) == Verdict::kApply);
  CHECK(catalog.is_live("T"));
  CHECK(catalog.live_count() == 1);
}

TEST_CASE("catalog: without revisions a deleted topic returns only through topic.created",
          "[catalog]") {
  Catalog catalog;
  catalog.admit(event(EventType::kTopicCreated, "T"), kNow);
  CHECK(catalog.admit(event(EventType::kTopicDeleted, "T"), kNow) == Verdict::kApply);
  CHECK_FALSE(catalog.is_live("T"));
  CHECK(catalog.tombstone_count() == 1);
  // RocketMQ's remaining bug: a late dequeue of a deleted topic must not re-create it.
  CHECK(catalog.admit(event(EventType::kTimerDequeued, "T"), kNow) == Verdict::kIgnoreTombstoned);
  CHECK(catalog.admit(event(EventType::kTimerEnqueued, "T"), kNow) == Verdict::kIgnoreTombstoned);
  CHECK_FALSE(catalog.is_live("T"));
  CHECK(catalog.admit(event(EventType::kTopicCreated, "T"), kNow) == Verdict::kApply);
  CHECK(catalog.is_live("T"));
}

TEST_CASE("catalog: revisions order deletions and re-creations", "[catalog]") {
  Catalog catalog;
  catalog.admit(event(EventType::kTopicCreated, "T", 1), kNow);
  REQUIRE(catalog.admit(event(EventType::kTopicDeleted, "T", 10), kNow) == Verdict::kApply);

  SECTION("events at or below the deletion's revision are stale or tombstoned") {
    CHECK(catalog.admit(event(EventType::kTopicCreated, "T", 10), kNow) == Verdict::kIgnoreStale);
    CHECK(catalog.admit(event(EventType::kTopicCreated, "T", 5), kNow) == Verdict::kIgnoreStale);
    CHECK(catalog.admit(event(EventType::kTimerEnqueued, "T", 9), kNow) ==
          Verdict::kIgnoreTombstoned);
    CHECK(catalog.admit(event(EventType::kTopicDeleted, "T", 8), kNow) == Verdict::kIgnoreStale);
    CHECK_FALSE(catalog.is_live("T"));
  }
  SECTION("a timer event newer than the deletion still does not revive the topic") {
    CHECK(catalog.admit(event(EventType::kTimerDequeued, "T", 11), kNow) ==
          Verdict::kIgnoreTombstoned);
    CHECK_FALSE(catalog.is_live("T"));
  }
  SECTION("a newer topic.created starts a new life; events of the old one are stale") {
    CHECK(catalog.admit(event(EventType::kTopicCreated, "T", 12), kNow) == Verdict::kApply);
    CHECK(catalog.is_live("T"));
    CHECK(catalog.admit(event(EventType::kTimerEnqueued, "T", 11), kNow) == Verdict::kIgnoreStale);
    CHECK(catalog.admit(event(EventType::kTopicDeleted, "T", 11), kNow) == Verdict::kIgnoreStale);
    CHECK(catalog.admit(event(EventType::kTimerEnqueued, "T", 13), kNow) == Verdict::kApply);
    CHECK(catalog.is_live("T"));
  }
}

TEST_CASE("catalog: an event without a revision never erases one the catalog holds", "[catalog]") {
  Catalog catalog;
  catalog.admit(event(EventType::kTopicCreated, "T", 1500), kNow);

  SECTION("a deletion reported again without a revision keeps the deletion's revision") {
    REQUIRE(catalog.admit(event(EventType::kTopicDeleted, "T", 1559), kNow) == Verdict::kApply);
    CHECK(catalog.admit(event(EventType::kTopicDeleted, "T"), kNow) == Verdict::kApply);
    CHECK(catalog.find("T")->deleted_revision() == 1559);
    CHECK(catalog.admit(event(EventType::kTopicCreated, "T", 1558), kNow) == Verdict::kIgnoreStale);
    CHECK_FALSE(catalog.is_live("T"));
  }
  SECTION("the same two deletions the other way round") {
    REQUIRE(catalog.admit(event(EventType::kTopicDeleted, "T"), kNow) == Verdict::kApply);
    CHECK(catalog.admit(event(EventType::kTopicDeleted, "T", 1559), kNow) == Verdict::kApply);
    CHECK(catalog.admit(event(EventType::kTopicCreated, "T", 1558), kNow) == Verdict::kIgnoreStale);
    CHECK_FALSE(catalog.is_live("T"));
  }
  SECTION("a deletion without a revision is newer than every revision known of the topic") {
    REQUIRE(catalog.admit(event(EventType::kTopicDeleted, "T"), kNow) == Verdict::kApply);
    CHECK(catalog.find("T")->deleted_revision() == 1500);
    CHECK(catalog.find("T")->deleted_revision_is_bound());
    CHECK(catalog.admit(event(EventType::kTopicCreated, "T", 1500), kNow) == Verdict::kIgnoreStale);
    CHECK(catalog.admit(event(EventType::kTopicCreated, "T", 1501), kNow) == Verdict::kApply);
  }
  SECTION("a bound lets only lists below it be judged by revision") {
    REQUIRE(catalog.admit(event(EventType::kTopicDeleted, "T"), kNow) == Verdict::kApply);
    // At or below the bound: taken before the deletion.
    CHECK(catalog.admit_listed("T", {1500, kNow + 1000}, 1, kNow) == ListVerdict::kStillDeleted);
    // Above it the list may still predate the deletion: judged by when it was requested.
    CHECK(catalog.admit_listed("T", {1600, kNow - 1000}, 2, kNow) == ListVerdict::kStillDeleted);
    CHECK(catalog.admit_listed("T", {1600, kNow + 1000}, 3, kNow) == ListVerdict::kRevived);
  }
  SECTION("a life begun without a revision begins after the deletion") {
    REQUIRE(catalog.admit(event(EventType::kTopicDeleted, "T", 1559), kNow) == Verdict::kApply);
    REQUIRE(catalog.admit(event(EventType::kTopicCreated, "T"), kNow) == Verdict::kApply);
    CHECK(catalog.find("T")->created_revision() == 1560);
    // The old life's late events and a replay of its deletion are stale, not the new life's.
    CHECK(catalog.admit(event(EventType::kTimerEnqueued, "T", 1520), kNow) ==
          Verdict::kIgnoreStale);
    CHECK(catalog.admit(event(EventType::kTopicDeleted, "T", 1559), kNow) == Verdict::kIgnoreStale);
    CHECK(catalog.is_live("T"));
    CHECK(catalog.admit(event(EventType::kTimerEnqueued, "T", 1561), kNow) == Verdict::kApply);
  }
}

TEST_CASE("catalog: a deletion seen before the topic tombstones it", "[catalog]") {
  Catalog catalog;
  CHECK(catalog.admit(event(EventType::kTopicDeleted, "T", 4), kNow) == Verdict::kApply);
  CHECK(catalog.admit(event(EventType::kTimerEnqueued, "T", 3), kNow) ==
        Verdict::kIgnoreTombstoned);
  CHECK(catalog.live_count() == 0);
  CHECK(catalog.tombstone_count() == 1);
}

TEST_CASE("catalog: a list creates and revives only what it may", "[catalog][list]") {
  Catalog catalog;
  catalog.admit(event(EventType::kTopicCreated, "old", 5), kNow);
  catalog.admit(event(EventType::kTopicDeleted, "old", 7), kNow);

  SECTION("a list taken before the deletion cannot revive the topic") {
    CHECK(catalog.admit_listed("old", {6, kNow}, 1, kNow) == ListVerdict::kStillDeleted);
    CHECK_FALSE(catalog.is_live("old"));
  }
  SECTION("a list taken after the deletion revives it") {
    CHECK(catalog.admit_listed("old", {8, kNow}, 1, kNow) == ListVerdict::kRevived);
    CHECK(catalog.is_live("old"));
  }
  SECTION("an unknown listed topic is created") {
    CHECK(catalog.admit_listed("new", {8, kNow}, 1, kNow) == ListVerdict::kCreated);
    CHECK(catalog.admit_listed("new", {9, kNow}, 2, kNow) == ListVerdict::kAlreadyLive);
  }
}

TEST_CASE("catalog: a list never drops a topic first seen after it was taken", "[catalog][list]") {
  Catalog catalog;
  catalog.admit(event(EventType::kTopicCreated, "listed", 1), kNow);
  catalog.admit(event(EventType::kTopicCreated, "before", 2), kNow);
  catalog.admit(event(EventType::kTopicCreated, "after", 6), kNow);
  // No revision: judged by time against when the list request was sent.
  catalog.admit(event(EventType::kTimerEnqueued, "unrevisioned-early"), kNow - 1000);
  catalog.admit(event(EventType::kTimerEnqueued, "unrevisioned-late"), kNow + 1000);

  const ListStamp stamp{5, kNow};
  catalog.admit_listed("listed", stamp, 1, kNow);
  std::vector<std::string> unlisted;
  catalog.for_each_unlisted(1, stamp, [&](const std::string& name) { unlisted.push_back(name); });
  std::sort(unlisted.begin(), unlisted.end());
  CHECK(unlisted == std::vector<std::string>{"before", "unrevisioned-early"});

  catalog.condemn("before", stamp, kNow);
  CHECK_FALSE(catalog.is_live("before"));
  CHECK(catalog.admit(event(EventType::kTimerEnqueued, "before", 5), kNow) ==
        Verdict::kIgnoreTombstoned);
}

TEST_CASE("catalog: a restored entry is the saved one and keeps its rules", "[catalog]") {
  Catalog catalog;
  catalog.admit(event(EventType::kTopicCreated, "Live", 3), kNow);
  Catalog::SavedEntry tombstone;
  tombstone.live = false;
  tombstone.created_revision = 5;
  tombstone.deleted_revision = 9;
  tombstone.deleted_revision_is_bound = true;
  tombstone.first_seen_revision = 5;
  tombstone.first_seen_ms = kNow - 10;
  tombstone.deleted_ms = kNow - 5;
  tombstone.list_epoch = 4;
  catalog.restore("Gone", tombstone);
  // Restoring over a live entry sets it, and the counts follow.
  catalog.restore("Live", tombstone);

  CHECK(catalog.live_count() == 0);
  CHECK(catalog.tombstone_count() == 2);
  const Catalog::Entry* gone = catalog.find("Gone");
  REQUIRE(gone != nullptr);
  CHECK_FALSE(gone->live());
  CHECK(gone->created_revision() == 5);
  CHECK(gone->deleted_revision() == 9);
  CHECK(gone->deleted_revision_is_bound());
  CHECK(gone->first_seen_revision() == 5);
  CHECK(gone->first_seen_ms() == kNow - 10);
  CHECK(gone->deleted_ms() == kNow - 5);
  CHECK(gone->list_epoch() == 4);
  // The tombstone holds as if it had been reached by events.
  CHECK(catalog.admit(event(EventType::kTimerEnqueued, "Gone", 12), kNow) ==
        Verdict::kIgnoreTombstoned);
  CHECK(catalog.admit(event(EventType::kTopicCreated, "Gone", 8), kNow) == Verdict::kIgnoreStale);
  CHECK(catalog.admit(event(EventType::kTopicCreated, "Gone", 10), kNow) == Verdict::kApply);
  CHECK(catalog.live_count() == 1);
}

TEST_CASE("catalog: a tombstone holds within the retention and is forgotten after it",
          "[catalog][tombstones]") {
  constexpr int64_t kRetention = 60'000;
  auto names = std::make_shared<TopicNames>();
  Catalog catalog(names, {kRetention, SIZE_MAX});
  catalog.admit(event(EventType::kTopicCreated, "T", 5), kNow);
  REQUIRE(catalog.admit(event(EventType::kTopicDeleted, "T", 7), kNow) == Verdict::kApply);
  std::vector<TopicId> released;
  const auto release = [&](TopicId topic) { released.push_back(topic); };

  SECTION("inside the retention a late event is ignored and nothing is forgotten") {
    CHECK(catalog.admit(event(EventType::kTimerDequeued, "T"), kNow + kRetention - 1) ==
          Verdict::kIgnoreTombstoned);
    CHECK(catalog.admit(event(EventType::kTopicCreated, "T", 6), kNow + kRetention - 1) ==
          Verdict::kIgnoreStale);
    const ForgottenTombstones forgotten = catalog.forget_tombstones(kNow + kRetention - 1, release);
    CHECK(forgotten.expired == 0);
    CHECK(released.empty());
    CHECK(catalog.tombstone_count() == 1);
  }
  SECTION("after it the sweep forgets the tombstone and releases its name") {
    const ForgottenTombstones forgotten = catalog.forget_tombstones(kNow + kRetention, release);
    CHECK(forgotten.expired == 1);
    CHECK(released == std::vector<TopicId>{names->find("T")});
    CHECK(catalog.tombstone_count() == 0);
    CHECK(catalog.find("T") == nullptr);
  }
  SECTION("after it, even before a sweep, a late event starts a new life") {
    CHECK(catalog.admit(event(EventType::kTimerDequeued, "T"), kNow + kRetention) ==
          Verdict::kApply);
    CHECK(catalog.is_live("T"));
    // Forgotten at admission: counted once, and its name stays with the new life.
    const ForgottenTombstones forgotten = catalog.forget_tombstones(kNow + kRetention, release);
    CHECK(forgotten.expired == 1);
    CHECK(released.empty());
  }
  SECTION("a deletion reported again restarts the retention") {
    catalog.admit(event(EventType::kTopicDeleted, "T"), kNow + 30'000);
    CHECK(catalog.forget_tombstones(kNow + kRetention, release).expired == 0);
    CHECK(catalog.admit(event(EventType::kTimerDequeued, "T"), kNow + kRetention) ==
          Verdict::kIgnoreTombstoned);
    CHECK(catalog.forget_tombstones(kNow + 30'000 + kRetention, release).expired == 1);
  }
  SECTION("a topic revived in the meantime is not forgotten") {
    catalog.admit(event(EventType::kTopicCreated, "T", 9), kNow + 1);
    CHECK(catalog.forget_tombstones(kNow + 10 * kRetention, release).expired == 0);
    CHECK(catalog.is_live("T"));
  }
}

TEST_CASE("catalog: beyond max_tombstones the oldest tombstones are evicted first",
          "[catalog][tombstones]") {
  auto names = std::make_shared<TopicNames>();
  Catalog catalog(names, {3'600'000, 3});
  for (int i = 0; i < 5; ++i) {
    const std::string topic = "T" + std::to_string(i);
    catalog.admit(event(EventType::kTopicCreated, topic), kNow + i);
    catalog.admit(event(EventType::kTopicDeleted, topic), kNow + i);
  }
  CHECK(catalog.tombstone_count() == 3);
  CHECK(catalog.find("T0") == nullptr);
  CHECK(catalog.find("T1") == nullptr);
  CHECK(catalog.find("T2") != nullptr);
  // An evicted topic's late event starts a new life: the cost of the bound.
  CHECK(catalog.admit(event(EventType::kTimerDequeued, "T0"), kNow + 10) == Verdict::kApply);
  CHECK(catalog.admit(event(EventType::kTimerDequeued, "T4"), kNow + 10) ==
        Verdict::kIgnoreTombstoned);
  std::vector<TopicId> released;
  const ForgottenTombstones forgotten =
      catalog.forget_tombstones(kNow + 10, [&](TopicId topic) { released.push_back(topic); });
  CHECK(forgotten.evicted == 2);
  CHECK(forgotten.expired == 0);
  // T0 lives again under its name: only T1's is released.
  CHECK(released == std::vector<TopicId>{names->find("T1")});
}

TEST_CASE("catalog: tombstones restored from a snapshot expire in deletion order",
          "[catalog][tombstones]") {
  Catalog catalog(std::make_shared<TopicNames>(), {1000, SIZE_MAX});
  for (const auto& [topic, deleted_ms] :
       std::vector<std::pair<std::string, int64_t>>{{"late", kNow + 500}, {"early", kNow}}) {
    Catalog::SavedEntry saved;
    saved.deleted_ms = deleted_ms;
    catalog.restore(topic, saved);
  }
  CHECK(catalog.forget_tombstones(kNow + 1000, [](TopicId) {}).expired == 1);
  CHECK(catalog.find("early") == nullptr);
  CHECK(catalog.find("late") != nullptr);
}

TEST_CASE("topic names: released names free their ids and bytes, the rest stay found",
          "[catalog][tombstones]") {
  std::mt19937_64 random(11);
  TopicNames names;
  std::map<std::string, TopicId> model;
  for (int step = 0; step < 200'000; ++step) {
    const std::string name =
        "topic-" + std::to_string(random() % 5000) + std::string(random() % 40, 'x');
    if (random() % 3 != 0) {
      const TopicId id = names.intern(name);
      const auto [found, added] = model.emplace(name, id);
      REQUIRE(found->second == id);
    } else if (const auto found = model.find(name); found != model.end()) {
      names.release(found->second);
      model.erase(found);
    }
    if (step % 20'000 == 0) names.compact();
  }
  names.compact();
  CHECK(names.size() == model.size());
  std::set<TopicId> ids;
  for (const auto& [name, id] : model) {
    CHECK(names.find(name) == id);
    CHECK(names.name(id) == name);
    ids.insert(id);
  }
  CHECK(ids.size() == model.size());
  CHECK(names.find("topic-never") == TopicNames::kAbsent);
}
