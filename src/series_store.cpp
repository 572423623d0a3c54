#include "timing_sidecar/series_store.hpp"

namespace timing_sidecar {

TopicKey SeriesStore::find_or_add(const std::string& topic) {
  auto [it, inserted] = index_.try_emplace(topic, 0);
  if (!inserted) return it->second;
  TopicKey slot;
  if (free_slots_.empty()) {
    slot = static_cast<TopicKey>(slots_.size());
    slots_.emplace_back();
  } else {
    slot = free_slots_.back();
    free_slots_.pop_back();
    slots_[slot] = TopicSeries{};
  }
  // Node-based map: the key's address is stable for the entry's whole life.
  slots_[slot].name = &it->first;
  it->second = slot;
  return slot;
}

std::optional<TopicKey> SeriesStore::find(const std::string& topic) const {
  auto it = index_.find(topic);
  if (it == index_.end()) return std::nullopt;
  return it->second;
}

void SeriesStore::remove(TopicKey slot) {
  TopicSeries& series = slots_[slot];
  index_.erase(*series.name);
  series = TopicSeries{};
  free_slots_.push_back(slot);
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
