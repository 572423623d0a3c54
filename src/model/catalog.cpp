#include "timing_sidecar/catalog.hpp"

#include <algorithm>
#include <cstring>
#include <functional>

namespace timing_sidecar {

namespace {

constexpr size_t kInitialSlots = 16;
constexpr size_t kChunkBytes = 64 * 1024;

}  // namespace

TopicNames::TopicNames() : slots_(kInitialSlots), shift_(32 - __builtin_ctzll(kInitialSlots)) {}

uint32_t TopicNames::hash_of(std::string_view name) {
  const uint64_t hash = std::hash<std::string_view>{}(name);
  return static_cast<uint32_t>(hash ^ (hash >> 32));
}

size_t TopicNames::slot_for(std::string_view name, uint32_t hash) const {
  const size_t mask = slots_.size() - 1;
  for (size_t slot = home_slot(hash);; slot = (slot + 1) & mask) {
    const Slot& candidate = slots_[slot];
    if (candidate.id == kAbsent || (candidate.hash == hash && names_[candidate.id.value] == name)) {
      return slot;
    }
  }
}

TopicId TopicNames::find(std::string_view name, uint32_t hash) const {
  return slots_[slot_for(name, hash)].id;
}

TopicId TopicNames::intern(std::string_view name, uint32_t hash) {
  size_t slot = slot_for(name, hash);
  if (slots_[slot].id != kAbsent) return slots_[slot].id;
  // At most 7/8 full: linear probing stays short.
  if ((names_.size() + 1) * 8 > slots_.size() * 7) {
    grow();
    slot = slot_for(name, hash);
  }
  TopicId id;
  if (free_ids_.empty()) {
    id = TopicId(static_cast<uint32_t>(names_.size()));
    names_.push_back(store(name));
  } else {
    id = free_ids_.back();
    free_ids_.pop_back();
    names_[id.value] = store(name);
  }
  slots_[slot] = {hash, id};
  return id;
}

void TopicNames::release(TopicId id) {
  const std::string_view name = names_[id.value];
  const size_t mask = slots_.size() - 1;
  size_t hole = slot_for(name, hash_of(name));
  // Backward-shift deletion: later names of the probe run move up into the hole, so that every
  // lookup still finds its name before the first empty slot.
  for (size_t next = (hole + 1) & mask; slots_[next].id != kAbsent; next = (next + 1) & mask) {
    const size_t home = home_slot(slots_[next].hash);
    // `next` may move to the hole unless its home lies cyclically in (hole, next].
    const bool home_after_hole =
        hole <= next ? (hole < home && home <= next) : (hole < home || home <= next);
    if (!home_after_hole) {
      slots_[hole] = slots_[next];
      hole = next;
    }
  }
  slots_[hole] = Slot{};
  released_bytes_ += name.size();
  names_[id.value] = {};
  free_ids_.push_back(id);
}

void TopicNames::compact() {
  if (released_bytes_ < kChunkBytes || released_bytes_ * 2 < stored_bytes_) return;
  std::vector<std::unique_ptr<char[]>> old = std::move(chunks_);
  chunks_.clear();
  chunk_next_ = nullptr;
  chunk_free_ = 0;
  stored_bytes_ = 0;
  released_bytes_ = 0;
  for (std::string_view& name : names_) {
    if (!name.empty()) name = store(name);
  }
}

void TopicNames::grow() {
  std::vector<Slot> old = std::move(slots_);
  slots_.assign(old.size() * 2, Slot{});
  --shift_;
  const size_t mask = slots_.size() - 1;
  for (const Slot& entry : old) {
    if (entry.id == kAbsent) continue;
    size_t slot = home_slot(entry.hash);
    while (slots_[slot].id != kAbsent) slot = (slot + 1) & mask;
    slots_[slot] = entry;
  }
}

std::string_view TopicNames::store(std::string_view name) {
  if (name.size() > chunk_free_) {
    // The rest of the last chunk is left unused: names are short, chunks are not.
    const size_t bytes = std::max(kChunkBytes, name.size());
    // Left uninitialised: a page is resident only once names fill it.
    chunks_.emplace_back(new char[bytes]);
    chunk_next_ = chunks_.back().get();
    chunk_free_ = bytes;
  }
  char* stored = chunk_next_;
  std::memcpy(stored, name.data(), name.size());
  chunk_next_ += name.size();
  chunk_free_ -= name.size();
  stored_bytes_ += name.size();
  return {stored, name.size()};
}

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

Catalog::Catalog(std::shared_ptr<TopicNames> names, TombstonePolicy policy)
    : names_(std::move(names)), policy_(policy) {}

bool Catalog::expired(const Entry& entry, int64_t now_ms) const {
  return policy_.retention_ms > 0 && (entry.flags_ & Entry::kKnown) != 0 && !entry.live() &&
         now_ms - entry.deleted_ms_ >= policy_.retention_ms;
}

bool Catalog::is_current(const DeletionRecord& record) const {
  const Entry& entry = entries_[record.topic.value];
  return (entry.flags_ & Entry::kKnown) != 0 && !entry.live() &&
         entry.deleted_ms_ == record.deleted_ms;
}

void Catalog::forget_if_expired(TopicId topic, int64_t now_ms) {
  // Forgotten, as the sweep would have let it be: the topic starts afresh.
  if (topic.value < entries_.size() && expired(entries_[topic.value], now_ms)) {
    forget(topic);
    ++forgotten_.expired;
  }
}

void Catalog::sort_deletions() {
  std::stable_sort(
      deletions_.begin(), deletions_.end(),
      [](const DeletionRecord& a, const DeletionRecord& b) { return a.deleted_ms < b.deleted_ms; });
  deletions_sorted_ = true;
}

void Catalog::forget(TopicId topic) {
  entries_[topic.value] = Entry{};
  --known_;
}

void Catalog::evict_beyond_bound() {
  if (!deletions_sorted_) sort_deletions();
  while (tombstone_count() > policy_.max_tombstones && !deletions_.empty()) {
    const DeletionRecord record = deletions_.front();
    deletions_.pop_front();
    if (!is_current(record)) continue;
    forget(record.topic);
    evicted_.push_back(record.topic);
    ++forgotten_.evicted;
  }
}

void Catalog::restore(std::string_view topic, const SavedEntry& saved) {
  bool created;
  const TopicId id = names_->intern(topic);
  Entry& entry = entry_for(id, &created);
  if (entry.live() != saved.live) live_ += saved.live ? 1 : -1;
  entry.set(Entry::kLive, saved.live);
  entry.set_revision(Entry::kHasCreatedRevision, entry.created_revision_, saved.created_revision);
  entry.set_revision(Entry::kHasDeletedRevision, entry.deleted_revision_, saved.deleted_revision);
  entry.set(Entry::kDeletedRevisionIsBound, saved.deleted_revision_is_bound);
  entry.set_revision(Entry::kHasFirstSeenRevision, entry.first_seen_revision_,
                     saved.first_seen_revision);
  entry.first_seen_ms_ = saved.first_seen_ms;
  entry.deleted_ms_ = saved.deleted_ms;
  entry.list_epoch_ = saved.list_epoch;
  if (!saved.live) {
    deletions_.push_back({saved.deleted_ms, id});
    deletions_sorted_ = false;
  }
}

Catalog::Entry& Catalog::entry_for(TopicId topic, bool* created) {
  if (topic.value >= entries_.size()) entries_.resize(size_t{topic.value} + 1);
  Entry& entry = entries_[topic.value];
  *created = (entry.flags_ & Entry::kKnown) == 0;
  if (*created) {
    entry.set(Entry::kKnown, true);
    ++known_;
  }
  return entry;
}

// Revision knowledge only moves forward: an event without a revision keeps what is known of the
// topic's revisions. Such an event is placed after everything already known of the topic, so a
// life it begins begins after the deletion, and a deletion it reports is newer than every
// revision held for the topic.

void Catalog::begin_life(Entry& entry, EventType type, std::optional<int64_t> revision,
                         int64_t now_ms) {
  std::optional<int64_t> life_floor = type == EventType::kTopicCreated ? revision : std::nullopt;
  if (!revision && type == EventType::kTopicCreated && entry.deleted_revision()) {
    life_floor = *entry.deleted_revision() + 1;
  }
  if (!entry.live()) ++live_;
  entry.set(Entry::kLive, true);
  entry.set_revision(Entry::kHasCreatedRevision, entry.created_revision_, life_floor);
  entry.set_revision(Entry::kHasFirstSeenRevision, entry.first_seen_revision_, revision);
  entry.first_seen_ms_ = now_ms;
}

void Catalog::end_life(Entry& entry, std::optional<int64_t> revision, int64_t now_ms) {
  entry.deleted_ms_ = now_ms;
  if (revision) {
    entry.set_revision(Entry::kHasDeletedRevision, entry.deleted_revision_, revision);
    entry.set(Entry::kDeletedRevisionIsBound, false);
  } else if (entry.live()) {
    std::optional<int64_t> known = entry.deleted_revision();
    for (const std::optional<int64_t>& held :
         {entry.created_revision(), entry.first_seen_revision()}) {
      if (held && (!known || *held > *known)) known = held;
    }
    entry.set_revision(Entry::kHasDeletedRevision, entry.deleted_revision_, known);
    entry.set(Entry::kDeletedRevisionIsBound, known.has_value());
  }
  if (entry.live()) --live_;
  entry.set(Entry::kLive, false);
  deletions_.push_back({now_ms, TopicId(static_cast<uint32_t>(&entry - entries_.data()))});
  // Records of topics revived or deleted again wait for their turn; when they outnumber the
  // tombstones, the stale ones are dropped at once, so records stay bounded by tombstones.
  if (deletions_.size() > 2 * tombstone_count() + 1024) {
    deletions_.erase(
        std::remove_if(deletions_.begin(), deletions_.end(),
                       [&](const DeletionRecord& record) { return !is_current(record); }),
        deletions_.end());
  }
  evict_beyond_bound();
}

bool Catalog::seen_before(const Entry& entry, const ListStamp& stamp) {
  const std::optional<int64_t> first_seen_revision = entry.first_seen_revision();
  if (first_seen_revision && stamp.revision) return *first_seen_revision <= *stamp.revision;
  return entry.first_seen_ms_ < stamp.requested_at_ms;
}

bool Catalog::taken_after_deletion(const Entry& entry, const ListStamp& stamp) {
  const std::optional<int64_t> deleted_revision = entry.deleted_revision();
  if (deleted_revision && stamp.revision) {
    if (*stamp.revision <= *deleted_revision) return false;
    // A bound only says the deletion is newer: a list above it may still predate the deletion.
    if (!entry.deleted_revision_is_bound()) return true;
  }
  return stamp.requested_at_ms > entry.deleted_ms_;
}

ListVerdict Catalog::admit_listed(std::string_view topic, const ListStamp& stamp, uint32_t epoch,
                                  int64_t now_ms) {
  return admit_listed(names_->intern(topic), stamp, epoch, now_ms);
}

ListVerdict Catalog::admit_listed(TopicId topic, const ListStamp& stamp, uint32_t epoch,
                                  int64_t now_ms) {
  bool is_new = false;
  forget_if_expired(topic, now_ms);
  Entry& entry = entry_for(topic, &is_new);
  entry.list_epoch_ = epoch;
  if (entry.live()) return ListVerdict::kAlreadyLive;
  if (!is_new) {
    if (!taken_after_deletion(entry, stamp)) return ListVerdict::kStillDeleted;
  }
  begin_life(entry, EventType::kTopicCreated, stamp.revision, now_ms);
  return is_new ? ListVerdict::kCreated : ListVerdict::kRevived;
}

bool Catalog::condemn(std::string_view topic, const ListStamp& stamp, int64_t now_ms) {
  return condemn(names_->find(topic), stamp, now_ms);
}

bool Catalog::condemn(TopicId topic, const ListStamp& stamp, int64_t now_ms) {
  if (!is_live(topic)) return false;
  end_life(entries_[topic.value], stamp.revision, now_ms);
  return true;
}

Verdict Catalog::admit(const Event& event, int64_t now_ms) {
  return admit(names_->intern(event.topic), event, now_ms);
}

Verdict Catalog::admit(TopicId topic, const Event& event, int64_t now_ms) {
  bool is_new = false;
  forget_if_expired(topic, now_ms);
  Entry& entry = entry_for(topic, &is_new);
  switch (event.type) {
    case EventType::kTopicCreated:
      if (is_new || !entry.live()) {
        if (!is_new && not_newer(event.revision, entry.deleted_revision())) {
          return Verdict::kIgnoreStale;
        }
        begin_life(entry, event.type, event.revision, now_ms);
      }
      return Verdict::kApply;

    case EventType::kTopicDeleted:
      if (!is_new && !entry.live()) {
        if (not_newer(event.revision, entry.deleted_revision())) return Verdict::kIgnoreStale;
        end_life(entry, event.revision, now_ms);
        return Verdict::kApply;
      }
      // A deletion older than the creation that began this life belongs to a previous one.
      if (!is_new && event.revision && entry.created_revision() &&
          *event.revision < *entry.created_revision()) {
        return Verdict::kIgnoreStale;
      }
      end_life(entry, event.revision, now_ms);
      return Verdict::kApply;

    case EventType::kTimerEnqueued:
    case EventType::kTimerDequeued:
    case EventType::kTimerCancelled:
      if (is_new) {
        begin_life(entry, event.type, event.revision, now_ms);
        return Verdict::kApply;
      }
      if (!entry.live()) return Verdict::kIgnoreTombstoned;
      if (event.revision && entry.created_revision() &&
          *event.revision < *entry.created_revision()) {
        return Verdict::kIgnoreStale;
      }
      return Verdict::kApply;
  }
  return Verdict::kApply;
}

bool Catalog::is_live(std::string_view topic) const {
  return is_live(names_->find(topic));
}

const Catalog::Entry* Catalog::find(std::string_view topic) const {
  const TopicId id = names_->find(topic);
  if (id.value >= entries_.size() || (entries_[id.value].flags_ & Entry::kKnown) == 0) {
    return nullptr;
  }
  return &entries_[id.value];
}

}  // namespace timing_sidecar
