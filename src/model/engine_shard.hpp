// Private to the engine's translation units (engine.cpp, engine_snapshot.cpp, engine_views.cpp):
// one shard's state, all of it guarded by its mutex.
#pragma once

#include <memory>
#include <mutex>

#include "timing_sidecar/catalog.hpp"
#include "timing_sidecar/engine.hpp"
#include "timing_sidecar/scheduler.hpp"
#include "timing_sidecar/series_store.hpp"

namespace timing_sidecar {

struct Engine::Shard {
  Shard(const SchedulerConfig& config, TombstonePolicy tombstones, int64_t now_ms)
      : catalog(names, tombstones), scheduler(config, now_ms) {}

  mutable std::mutex mutex;
  std::shared_ptr<TopicNames> names = std::make_shared<TopicNames>();
  Catalog catalog;
  SeriesStore store{names};
  Scheduler scheduler;
  // Deletions drop their series at once; only a list's condemnations leave series of topics
  // that are no longer live: reconcile() drops these, without walking every topic.
  std::vector<TopicId> condemned;
};

}  // namespace timing_sidecar
