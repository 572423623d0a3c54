#pragma once

// Applies an authoritative topic list (from the broker feed, topics.json or the dashboard):
// listed topics become live, live topics the list leaves out are tombstoned, and their series go
// at the next reconcile. It cannot be fooled by a list taken before a topic was created, and a
// list that would drop too much at once waits for the next list to confirm it.

#include <set>
#include <string>
#include <vector>

#include "timing_sidecar/engine.hpp"
#include "timing_sidecar/input_log.hpp"
#include "timing_sidecar/self_metrics.hpp"
#include "timing_sidecar/sidecar.hpp"

namespace timing_sidecar {

struct ListOutcome {
  size_t created = 0;
  size_t revived = 0;
  size_t dropped = 0;
  size_t held_back = 0;                 // drops waiting for confirmation
  std::vector<std::string> incomplete;  // topics whose count now rests on the broker's
};

class ListReconciler {
 public:
  // Each list is one input of the sidecar's input log, when it has one (Sidecar::input_log()).
  ListReconciler(Sidecar& sidecar, double max_drop_ratio, std::string source);
  // An engine without a sidecar: lists are applied and never journaled. Benchmarks only: a live
  // source built so would lose its lists at a restart, hence a name that says it.
  static ListReconciler unjournaled(Engine& engine, SelfMetrics& metrics, double max_drop_ratio,
                                    std::string source);

  // An empty list changes nothing: a broker that lost its topic table says nothing true.
  // With adopt_counts, each listed "timing" count replaces what events said (after a gap).
  ListOutcome apply(const TopicList& list, bool adopt_counts);

 private:
  // The caller holds the engine's list_mutex().
  ListEffects apply_locked(const TopicList& list, bool adopt_counts, ListOutcome& outcome);

  ListReconciler(Engine& engine, SelfMetrics& metrics, double max_drop_ratio, std::string source);

  const Sidecar* sidecar_ = nullptr;
  Engine& engine_;
  SelfMetrics& metrics_;
  double max_drop_ratio_;
  std::string source_;
  std::set<std::string> held_back_;
};

}  // namespace timing_sidecar
