#include "timing_sidecar/catalog.hpp"

#include <catch2/catch.hpp>

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
