#include "timing_sidecar/catalog.hpp"

namespace timing_sidecar {

std::string_view ignore_reason(Verdict verdict) {
  switch (verdict) {
    case Verdict::kIgnoreTombstoned:
      return "tombstoned";
    case Verdict::kIgnoreStale:
      return "stale_revision";
    case Verdict::kApply:
      break;
  }
  return "";
}

namespace {

// True when both revisions are known and `event` is not newer than `reference`.
bool not_newer(const std::optional<int64_t>& event, const std::optional<int64_t>& reference) {
  return event && reference && *event <= *reference;
}

}  // namespace

Catalog::Entry& Catalog::entry_for(const std::string& topic, bool* created) {
  auto [it, inserted] = entries_.try_emplace(topic);
  *created = inserted;
  return it->second;
}

void Catalog::begin_life(Entry& entry, const Event& event, int64_t now_ms) {
  if (!entry.live) ++live_;
  entry.live = true;
  entry.created_revision =
      event.type == EventType::kTopicCreated ? event.revision : std::optional<int64_t>{};
  entry.first_seen_revision = event.revision;
  entry.first_seen_ms = now_ms;
}

void Catalog::end_life(Entry& entry, std::optional<int64_t> revision, int64_t now_ms) {
  if (entry.live) --live_;
  entry.live = false;
  entry.deleted_revision = revision;
  entry.deleted_ms = now_ms;
}

bool Catalog::seen_before(const Entry& entry, const ListStamp& stamp) {
  if (entry.first_seen_revision && stamp.revision) {
    return *entry.first_seen_revision <= *stamp.revision;
  }
  return entry.first_seen_ms < stamp.requested_at_ms;
}

ListVerdict Catalog::admit_listed(const std::string& topic, const ListStamp& stamp, uint32_t epoch,
                                  int64_t now_ms) {
  bool is_new = false;
  Entry& entry = entry_for(topic, &is_new);
  entry.list_epoch = epoch;
  if (entry.live) return ListVerdict::kAlreadyLive;
  if (!is_new) {
    const bool taken_after_deletion = entry.deleted_revision && stamp.revision
                                          ? *stamp.revision > *entry.deleted_revision
                                          : stamp.requested_at_ms > entry.deleted_ms;
    if (!taken_after_deletion) return ListVerdict::kStillDeleted;
  }
  Event listed;
  listed.type = EventType::kTopicCreated;
  listed.revision = stamp.revision;
  begin_life(entry, listed, now_ms);
  return is_new ? ListVerdict::kCreated : ListVerdict::kRevived;
}

void Catalog::condemn(const std::string& topic, const ListStamp& stamp, int64_t now_ms) {
  auto it = entries_.find(topic);
  if (it != entries_.end() && it->second.live) end_life(it->second, stamp.revision, now_ms);
}

Verdict Catalog::admit(const Event& event, int64_t now_ms) {
  bool is_new = false;
  Entry& entry = entry_for(event.topic, &is_new);
  switch (event.type) {
    case EventType::kTopicCreated:
      if (is_new || !entry.live) {
        if (!is_new && not_newer(event.revision, entry.deleted_revision)) {
          return Verdict::kIgnoreStale;
        }
        begin_life(entry, event, now_ms);
      }
      return Verdict::kApply;

    case EventType::kTopicDeleted:
      if (!is_new && !entry.live) {
        if (not_newer(event.revision, entry.deleted_revision)) return Verdict::kIgnoreStale;
        end_life(entry, event.revision, now_ms);
        return Verdict::kApply;
      }
      // A deletion older than the creation that began this life belongs to a previous one.
      if (!is_new && event.revision && entry.created_revision &&
          *event.revision < *entry.created_revision) {
        return Verdict::kIgnoreStale;
      }
      end_life(entry, event.revision, now_ms);
      return Verdict::kApply;

    case EventType::kTimerEnqueued:
    case EventType::kTimerDequeued:
    case EventType::kTimerCancelled:
      if (is_new) {
        begin_life(entry, event, now_ms);
        return Verdict::kApply;
      }
      if (!entry.live) return Verdict::kIgnoreTombstoned;
      if (event.revision && entry.created_revision && *event.revision < *entry.created_revision) {
        return Verdict::kIgnoreStale;
      }
      return Verdict::kApply;
  }
  return Verdict::kApply;
}

bool Catalog::is_live(std::string_view topic) const {
  const Entry* entry = find(topic);
  return entry != nullptr && entry->live;
}

const Catalog::Entry* Catalog::find(std::string_view topic) const {
  auto it = entries_.find(std::string(topic));
  return it == entries_.end() ? nullptr : &it->second;
}

}  // namespace timing_sidecar
