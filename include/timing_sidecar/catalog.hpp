#pragma once

// Which topics are live, which are tombstoned, and at what revisions: the truth the series store
// is reconciled against. Pure rules, no locking (the owner locks), no I/O.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "timing_sidecar/events.hpp"

namespace timing_sidecar {

// When an authoritative topic list was taken: at a broker revision when the source has one,
// and at the time its request was sent, for topics first seen through events without revisions.
struct ListStamp {
  std::optional<int64_t> revision;
  int64_t requested_at_ms = 0;
};

enum class ListVerdict { kAlreadyLive, kCreated, kRevived, kStillDeleted };

enum class Verdict {
  kApply,             // the event takes effect
  kIgnoreTombstoned,  // a timer event for a deleted topic: RocketMQ's late-dequeue bug
  kIgnoreStale,       // its revision is not newer than what the topic already reflects
};

std::string_view ignore_reason(Verdict verdict);  // label value for events_ignored_total

class Catalog {
 public:
  struct Entry {
    bool live = false;
    // Revision of the topic.created that began the current life, if it carried one. Timer events
    // older than it belong to a previous life.
    std::optional<int64_t> created_revision;
    // Revision of the deletion that tombstoned the topic, if it carried one.
    std::optional<int64_t> deleted_revision;
    // When the current life was first seen: lists taken earlier must not drop the topic.
    std::optional<int64_t> first_seen_revision;
    int64_t first_seen_ms = 0;
    int64_t deleted_ms = 0;
    // The last list that named the topic, to find the live topics a list leaves out.
    uint32_t list_epoch = 0;
  };

  // Decides whether the event applies and records its effect on the topic's life. A timer event
  // for an unknown topic makes it live; only topic.created (or an authoritative list) revives a
  // tombstoned one.
  Verdict admit(const Event& event, int64_t now_ms);

  // A topic named by a list: unknown topics become live, and a tombstoned one comes back when
  // the list was taken after its deletion. Marks the topic as listed in `epoch`.
  ListVerdict admit_listed(const std::string& topic, const ListStamp& stamp, uint32_t epoch,
                           int64_t now_ms);

  // Live topics that the list of `epoch` left out and that were first seen before it was taken:
  // a list must never drop a topic created after it.
  template <typename Visit>
  void for_each_unlisted(uint32_t epoch, const ListStamp& stamp, Visit&& visit) const {
    for (const auto& [name, entry] : entries_) {
      if (entry.live && entry.list_epoch != epoch && seen_before(entry, stamp)) visit(name);
    }
  }

  // Tombstones a live topic that an authoritative list no longer names.
  void condemn(const std::string& topic, const ListStamp& stamp, int64_t now_ms);

  bool is_live(std::string_view topic) const;
  const Entry* find(std::string_view topic) const;

  size_t live_count() const { return live_; }
  size_t tombstone_count() const { return entries_.size() - live_; }

  template <typename Visit>
  void for_each(Visit&& visit) const {
    for (const auto& [name, entry] : entries_) visit(name, entry);
  }

 private:
  static bool seen_before(const Entry& entry, const ListStamp& stamp);
  Entry& entry_for(const std::string& topic, bool* created);
  void end_life(Entry& entry, std::optional<int64_t> revision, int64_t now_ms);
  void begin_life(Entry& entry, const Event& event, int64_t now_ms);

  std::unordered_map<std::string, Entry> entries_;
  size_t live_ = 0;
};

}  // namespace timing_sidecar
