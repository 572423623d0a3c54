#include "timing_sidecar/series_store.hpp"

namespace timing_sidecar {

SeriesStore::SeriesStore(std::shared_ptr<TopicNames> names) : names_(std::move(names)) {}

TopicKey SeriesStore::find_or_add(std::string_view topic) {
  return find_or_add(names_->intern(topic));
}

std::optional<TopicKey> SeriesStore::find(std::string_view topic) const {
  return find(names_->find(topic));
}

TopicKey SeriesStore::find_or_add(TopicId id) {
  if (id >= topic_slots_.size()) topic_slots_.resize(id + 1, kNoSlot);
  if (topic_slots_[id] != kNoSlot) return topic_slots_[id];
  TopicKey slot;
  if (free_slots_.empty()) {
    slot = static_cast<TopicKey>(slots_.size());
    slots_.emplace_back();
    slot_topics_.push_back(id);
  } else {
    slot = free_slots_.back();
    free_slots_.pop_back();
    slot_topics_[slot] = id;
  }
  topic_slots_[id] = slot;
  ++size_;
  return slot;
}

std::optional<TopicKey> SeriesStore::find(TopicId id) const {
  if (id >= topic_slots_.size() || topic_slots_[id] == kNoSlot) return std::nullopt;
  return topic_slots_[id];
}

void SeriesStore::remove(TopicKey slot) {
  topic_slots_[slot_topics_[slot]] = kNoSlot;
  slot_topics_[slot] = TopicNames::kAbsent;
  slots_[slot] = TopicSeries{};
  free_slots_.push_back(slot);
  --size_;
}

uint32_t& SeriesStore::count_of(TopicSeries& series, Phase phase) {
  if (phase == Phase::kDue) return series.due;
  if (phase == Phase::kOverdue) return series.overdue;
  return series.ranges[static_cast<size_t>(phase)];
}

void SeriesStore::on_added(TopicKey topic, Phase phase) {
  TopicSeries& series = slots_[topic];
  ++series.pending;
  ++count_of(series, phase);
}

void SeriesStore::on_moved(TopicKey topic, Phase from, Phase to) {
  TopicSeries& series = slots_[topic];
  --count_of(series, from);
  ++count_of(series, to);
}

void SeriesStore::on_removed(TopicKey topic, Phase phase) {
  TopicSeries& series = slots_[topic];
  --series.pending;
  --count_of(series, phase);
}

}  // namespace timing_sidecar
