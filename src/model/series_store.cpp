#include "timing_sidecar/series_store.hpp"

namespace timing_sidecar {

SeriesStore::SeriesStore(std::shared_ptr<TopicNames> names) : names_(std::move(names)) {}

SeriesSlot SeriesStore::find_or_add(std::string_view topic) {
  return find_or_add(names_->intern(topic));
}

std::optional<SeriesSlot> SeriesStore::find(std::string_view topic) const {
  return find(names_->find(topic));
}

SeriesSlot SeriesStore::find_or_add(TopicId id) {
  if (id.value >= topic_slots_.size()) topic_slots_.resize(size_t{id.value} + 1, kNoSlot);
  if (topic_slots_[id.value] != kNoSlot) return topic_slots_[id.value];
  SeriesSlot slot;
  if (free_slots_.empty()) {
    slot = SeriesSlot(static_cast<uint32_t>(slots_.size()));
    slots_.emplace_back();
    slot_topics_.push_back(id);
  } else {
    slot = free_slots_.back();
    free_slots_.pop_back();
    slot_topics_[slot.value] = id;
  }
  topic_slots_[id.value] = slot;
  ++size_;
  return slot;
}

std::optional<SeriesSlot> SeriesStore::find(TopicId id) const {
  if (id.value >= topic_slots_.size() || topic_slots_[id.value] == kNoSlot) return std::nullopt;
  return topic_slots_[id.value];
}

void SeriesStore::remove(SeriesSlot slot) {
  topic_slots_[topic_of(slot).value] = kNoSlot;
  slot_topics_[slot.value] = TopicNames::kAbsent;
  slots_[slot.value] = TopicSeries{};
  free_slots_.push_back(slot);
  --size_;
}

uint32_t& SeriesStore::count_of(TopicSeries& series, Phase phase) {
  if (phase == Phase::kDue) return series.due;
  if (phase == Phase::kOverdue) return series.overdue;
  return series.ranges[static_cast<size_t>(phase)];
}

void SeriesStore::on_added(SeriesSlot slot, Phase phase) {
  TopicSeries& series = at(slot);
  ++series.pending;
  ++count_of(series, phase);
}

void SeriesStore::on_moved(SeriesSlot slot, Phase from, Phase to) {
  TopicSeries& series = at(slot);
  --count_of(series, from);
  ++count_of(series, to);
}

void SeriesStore::on_removed(SeriesSlot slot, Phase phase) {
  TopicSeries& series = at(slot);
  --series.pending;
  --count_of(series, phase);
}

}  // namespace timing_sidecar
