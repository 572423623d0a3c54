#pragma once

// Which topics are live, which are tombstoned, and at what revisions: the truth the series store
// is reconciled against. Pure rules, no locking (the owner locks), no I/O.

#include <algorithm>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "timing_sidecar/events.hpp"
#include "timing_sidecar/strong_index.hpp"

namespace timing_sidecar {

// A topic name's number within its TopicNames (not its series slot: series_store.hpp).
using TopicId = StrongIndex<struct TopicIdTag>;

// The names of the topics a shard tracks, live or tombstoned, stored once for its catalog and its
// series store. A forgotten tombstone's name is released: its id is reused by the next new name
// and its bytes are reclaimed by compact(). A name's string_view, taken under the owner's lock,
// stays valid after it until the next compact() (a scrape renders the names once it released the
// shard, so the owner compacts only while no scrape renders). Not thread-safe.
class TopicNames {
 public:
  static constexpr TopicId kAbsent{0xFFFF'FFFF};

  TopicNames();
  TopicNames(const TopicNames&) = delete;
  TopicNames& operator=(const TopicNames&) = delete;

  // kAbsent when the name was never interned.
  TopicId find(std::string_view name) const { return find(name, hash_of(name)); }
  // The name's id, interning the name when absent.
  TopicId intern(std::string_view name) { return intern(name, hash_of(name)); }

  // Batches hash each name once, pick its shard with the hash, and look it up with it, a few
  // names after prefetching its slot: the lookup then finds the slot in the cache.
  static uint32_t hash_of(std::string_view name);
  TopicId find(std::string_view name, uint32_t hash) const;
  TopicId intern(std::string_view name, uint32_t hash);
  void prefetch(uint32_t hash) const { __builtin_prefetch(&slots_[home_slot(hash)]); }

  std::string_view name(TopicId id) const { return names_[id.value]; }
  // Names held, released ones left out.
  size_t size() const { return names_.size() - free_ids_.size(); }

  // Forgets the name of `id`; the id goes to the next new name.
  void release(TopicId id);
  // Moves the names into fresh chunks when released names waste more than the live ones use,
  // invalidating every string_view taken before.
  void compact();

 private:
  // An open-addressing table: a name's 32-bit hash picks the slot and rejects almost every
  // other name without reading it; growing needs the hashes only.
  struct Slot {
    uint32_t hash = 0;
    TopicId id = kAbsent;
  };

  size_t home_slot(uint32_t hash) const { return (hash * 0x9E37'79B9u) >> shift_; }
  // The slot holding `name`, or the empty slot where it would go.
  size_t slot_for(std::string_view name, uint32_t hash) const;
  void grow();
  std::string_view store(std::string_view name);

  std::vector<Slot> slots_;
  int shift_ = 0;
  std::vector<std::string_view> names_;  // by id, into chunks_; empty for a released id
  std::vector<TopicId> free_ids_;
  std::vector<std::unique_ptr<char[]>> chunks_;
  char* chunk_next_ = nullptr;  // the free end of the last chunk
  size_t chunk_free_ = 0;
  size_t stored_bytes_ = 0;    // in chunks_, released names included
  size_t released_bytes_ = 0;  // of released names, until compact()
};

// When an authoritative topic list was taken: at a broker revision when the source has one,
// and at the time its request was sent, for topics first seen through events without revisions.
struct ListStamp {
  std::optional<int64_t> revision;
  int64_t requested_at_ms = 0;
};

enum class ListVerdict { kAlreadyLive, kCreated, kRevived, kStillDeleted };

// How long a catalog remembers deleted topics. A tombstone is needed only while a late or stale
// event for the deleted topic can still arrive; past `retention_ms` (0: forever) it is forgotten,
// and beyond `max_tombstones` the oldest go first (evicted).
struct TombstonePolicy {
  int64_t retention_ms = 0;
  size_t max_tombstones = SIZE_MAX;
};

// Tombstones forgotten since the last Catalog::forget_tombstones.
struct ForgottenTombstones {
  size_t expired = 0;
  size_t evicted = 0;
};

enum class Verdict {
  kApply,             // the event takes effect
  kIgnoreTombstoned,  // a timer event for a deleted topic: RocketMQ's late-dequeue bug
  kIgnoreStale,       // its revision is not newer than what the topic already reflects
};

std::string_view ignore_reason(Verdict verdict);  // label value for events_ignored_total

class Catalog {
 public:
  // What the catalog remembers of a topic, in 48 bytes: a sidecar tracks up to a million topics,
  // and three std::optional<int64_t> alone would take as much.
  class Entry {
   public:
    bool live() const { return (flags_ & kLive) != 0; }
    // Revision of the topic.created that began the current life, if it carried one; for a life
    // begun without one after a deletion, the lowest revision it can have begun at (one past the
    // deletion's). Timer events older than it belong to a previous life.
    std::optional<int64_t> created_revision() const {
      return optional(kHasCreatedRevision, created_revision_);
    }
    // Revision of the deletion that tombstoned the topic, if it carried one; for a deletion
    // without one, the highest revision known of the topic before it, which the deletion is
    // newer than (deleted_revision_is_bound()).
    std::optional<int64_t> deleted_revision() const {
      return optional(kHasDeletedRevision, deleted_revision_);
    }
    bool deleted_revision_is_bound() const { return (flags_ & kDeletedRevisionIsBound) != 0; }
    // When the current life was first seen: lists taken earlier must not drop the topic.
    std::optional<int64_t> first_seen_revision() const {
      return optional(kHasFirstSeenRevision, first_seen_revision_);
    }
    int64_t first_seen_ms() const { return first_seen_ms_; }
    int64_t deleted_ms() const { return deleted_ms_; }
    // The last list that named the topic, to find the live topics a list leaves out.
    uint32_t list_epoch() const { return list_epoch_; }

   private:
    friend class Catalog;
    enum Flag : uint8_t {
      kKnown = 1,  // the catalog has seen the topic (its name may be the series store's only)
      kLive = 2,
      kHasCreatedRevision = 4,
      kHasDeletedRevision = 8,
      kHasFirstSeenRevision = 16,
      kDeletedRevisionIsBound = 32,
    };

    std::optional<int64_t> optional(Flag flag, int64_t value) const {
      return (flags_ & flag) != 0 ? std::optional<int64_t>(value) : std::nullopt;
    }
    void set(Flag flag, bool on) { flags_ = on ? flags_ | flag : flags_ & ~flag; }
    void set_revision(Flag flag, int64_t& field, std::optional<int64_t> revision) {
      set(flag, revision.has_value());
      field = revision.value_or(0);
    }

    int64_t created_revision_ = 0;
    int64_t deleted_revision_ = 0;
    int64_t first_seen_revision_ = 0;
    int64_t first_seen_ms_ = 0;
    int64_t deleted_ms_ = 0;
    uint32_t list_epoch_ = 0;
    uint8_t flags_ = 0;
  };

  // A catalog may share its names with the shard's series store.
  explicit Catalog(std::shared_ptr<TopicNames> names = std::make_shared<TopicNames>(),
                   TombstonePolicy policy = {});

  // Decides whether the event applies and records its effect on the topic's life. A timer event
  // for an unknown topic makes it live; only topic.created (or an authoritative list) revives a
  // tombstoned one.
  Verdict admit(const Event& event, int64_t now_ms);
  // The same, for a caller that has interned event.topic in the names it shares with the catalog.
  Verdict admit(TopicId topic, const Event& event, int64_t now_ms);

  // A topic named by a list: unknown topics become live, and a tombstoned one comes back when
  // the list was taken after its deletion. Marks the topic as listed in `epoch`.
  ListVerdict admit_listed(std::string_view topic, const ListStamp& stamp, uint32_t epoch,
                           int64_t now_ms);
  ListVerdict admit_listed(TopicId topic, const ListStamp& stamp, uint32_t epoch, int64_t now_ms);

  // Live topics that the list of `epoch` left out and that were first seen before it was taken:
  // a list must never drop a topic created after it.
  template <typename Visit>
  void for_each_unlisted(uint32_t epoch, const ListStamp& stamp, Visit&& visit) const {
    for (uint32_t id = 0; id < entries_.size(); ++id) {
      const Entry& entry = entries_[id];
      if (entry.live() && entry.list_epoch_ != epoch && seen_before(entry, stamp)) {
        visit(std::string(names_->name(TopicId(id))));
      }
    }
  }

  // Tombstones a live topic that an authoritative list no longer names; false when it was not
  // live.
  bool condemn(std::string_view topic, const ListStamp& stamp, int64_t now_ms);
  bool condemn(TopicId topic, const ListStamp& stamp, int64_t now_ms);

  // An entry as a snapshot saved it (engine_snapshot.cpp).
  struct SavedEntry {
    bool live = false;
    std::optional<int64_t> created_revision;
    std::optional<int64_t> deleted_revision;
    bool deleted_revision_is_bound = false;
    std::optional<int64_t> first_seen_revision;
    int64_t first_seen_ms = 0;
    int64_t deleted_ms = 0;
    uint32_t list_epoch = 0;
  };
  // Sets the topic's entry to what was saved, whatever the catalog held of it.
  void restore(std::string_view topic, const SavedEntry& saved);

  // Forgets the tombstones past the retention and those evicted since the last call: `release`
  // gets the id of each, whose name (shared with the series store) the caller then releases once
  // no series uses it. A tombstone past the retention is already forgotten by any event or list
  // that names its topic (the verdicts never depend on when this runs); this gives the memory
  // back, in time proportional to what it forgets.
  template <typename Release>
  ForgottenTombstones forget_tombstones(int64_t now_ms, Release&& release);

  bool is_live(std::string_view topic) const;
  bool is_live(TopicId topic) const {
    return topic.value < entries_.size() && entries_[topic.value].live();
  }
  const Entry* find(std::string_view topic) const;

  size_t live_count() const { return live_; }
  size_t tombstone_count() const { return known_ - live_; }

  template <typename Visit>
  void for_each(Visit&& visit) const {
    for (uint32_t id = 0; id < entries_.size(); ++id) {
      if ((entries_[id].flags_ & Entry::kKnown) != 0)
        visit(names_->name(TopicId(id)), entries_[id]);
    }
  }

 private:
  // A tombstone's place in the order of deletions, oldest first. A record goes stale when its
  // topic comes back or is deleted again (deleted_ms then differs); stale records are skipped.
  struct DeletionRecord {
    int64_t deleted_ms;
    TopicId topic;
  };

  bool expired(const Entry& entry, int64_t now_ms) const;
  bool is_current(const DeletionRecord& record) const;
  void forget(TopicId topic);
  void forget_if_expired(TopicId topic, int64_t now_ms);
  // Restored tombstones come in id order; deletions_ is sorted again before it is used.
  void sort_deletions();
  void evict_beyond_bound();
  static bool seen_before(const Entry& entry, const ListStamp& stamp);
  static bool taken_after_deletion(const Entry& entry, const ListStamp& stamp);
  Entry& entry_for(TopicId topic, bool* created);
  void end_life(Entry& entry, std::optional<int64_t> revision, int64_t now_ms);
  void begin_life(Entry& entry, EventType type, std::optional<int64_t> revision, int64_t now_ms);

  std::shared_ptr<TopicNames> names_;
  TombstonePolicy policy_;
  std::vector<Entry> entries_;  // by TopicId
  size_t known_ = 0;
  size_t live_ = 0;
  std::deque<DeletionRecord> deletions_;
  bool deletions_sorted_ = true;
  std::vector<TopicId> evicted_;   // forgotten on admission, their names not yet released
  ForgottenTombstones forgotten_;  // since the last forget_tombstones
};

template <typename Release>
ForgottenTombstones Catalog::forget_tombstones(int64_t now_ms, Release&& release) {
  if (!deletions_sorted_) sort_deletions();
  while (!deletions_.empty()) {
    const DeletionRecord record = deletions_.front();
    if (is_current(record)) {
      if (!expired(entries_[record.topic.value], now_ms)) break;
      forget(record.topic);
      ++forgotten_.expired;
      release(record.topic);
    }
    deletions_.pop_front();
  }
  std::sort(evicted_.begin(), evicted_.end());
  evicted_.erase(std::unique(evicted_.begin(), evicted_.end()), evicted_.end());
  for (TopicId topic : evicted_) {
    // Unless an event or a list has named the topic since.
    if ((entries_[topic.value].flags_ & Entry::kKnown) == 0) release(topic);
  }
  evicted_.clear();
  return std::exchange(forgotten_, {});
}

}  // namespace timing_sidecar
