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
        entry.deleted_revision = event.revision;
        return Verdict::kApply;
      }
      // A deletion older than the creation that began this life belongs to a previous one.
      if (!is_new && event.revision && entry.created_revision &&
          *event.revision < *entry.created_revision) {
        return Verdict::kIgnoreStale;
      }
      if (entry.live) --live_;
      entry.live = false;
      entry.deleted_revision = event.revision;
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
