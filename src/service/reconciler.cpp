#include "timing_sidecar/reconciler.hpp"

#include <algorithm>
#include <iterator>

#include "timing_sidecar/log.hpp"

namespace timing_sidecar {

namespace {

// A few names for a log line; the metric has the counts.
std::string sample_names(const std::vector<std::string>& names) {
  constexpr size_t kShown = 10;
  std::string text;
  for (size_t index = 0; index < std::min(names.size(), kShown); ++index) {
    if (index > 0) text += ',';
    text += names[index];
  }
  if (names.size() > kShown) text += ",... (" + std::to_string(names.size() - kShown) + " more)";
  return text;
}

}  // namespace

ListReconciler::ListReconciler(Sidecar& sidecar, double max_drop_ratio, std::string source)
    : ListReconciler(sidecar.engine(), sidecar.metrics(), max_drop_ratio, std::move(source)) {
  sidecar_ = &sidecar;
}

ListReconciler ListReconciler::unjournaled(Engine& engine, SelfMetrics& metrics,
                                           double max_drop_ratio, std::string source) {
  return ListReconciler(engine, metrics, max_drop_ratio, std::move(source));
}

ListReconciler::ListReconciler(Engine& engine, SelfMetrics& metrics, double max_drop_ratio,
                               std::string source)
    : engine_(engine),
      metrics_(metrics),
      max_drop_ratio_(max_drop_ratio),
      source_(std::move(source)) {
  // Both outcomes exist from the start at zero, so that rate() and the dashboard see them.
  metrics_.on_list_drops(source_, "dropped", 0);
  metrics_.on_list_drops(source_, "held_back", 0);
}

ListOutcome ListReconciler::apply(const TopicList& list, bool adopt_counts) {
  ListOutcome outcome;
  if (list.topics.empty()) {
    log(LogLevel::kWarn, "ignoring an empty topic list", {{"source", source_}});
    return outcome;
  }
  std::lock_guard lock(engine_.list_mutex());
  InputLog* input_log = sidecar_ == nullptr ? nullptr : sidecar_->input_log();
  if (input_log == nullptr) {
    apply_locked(list, adopt_counts, outcome);
  } else {
    // One journaled input with the drops the valve let through: recovery repeats its effects.
    input_log->log_list(list, [&] { return apply_locked(list, adopt_counts, outcome); });
  }
  return outcome;
}

ListEffects ListReconciler::apply_locked(const TopicList& list, bool adopt_counts,
                                         ListOutcome& outcome) {
  ListAdmission admission = engine_.admit_list(list);
  outcome.created = admission.created;
  outcome.revived = admission.revived;

  std::vector<std::string> candidates = std::move(admission.unlisted);
  std::sort(candidates.begin(), candidates.end());
  std::vector<std::string> to_drop;
  const double ratio = admission.live == 0 ? 0.0
                                           : static_cast<double>(candidates.size()) /
                                                 static_cast<double>(admission.live);
  if (ratio > max_drop_ratio_) {
    // Only what the previous list also left out is confirmed; the rest waits for the next one.
    std::set_intersection(candidates.begin(), candidates.end(), held_back_.begin(),
                          held_back_.end(), std::back_inserter(to_drop));
    std::set<std::string> still_held;
    std::set_difference(candidates.begin(), candidates.end(), to_drop.begin(), to_drop.end(),
                        std::inserter(still_held, still_held.end()));
    std::vector<std::string> newly_held;
    std::set_difference(still_held.begin(), still_held.end(), held_back_.begin(), held_back_.end(),
                        std::back_inserter(newly_held));
    held_back_ = std::move(still_held);
    outcome.held_back = held_back_.size();
    if (!newly_held.empty()) {
      metrics_.on_list_drops(source_, "held_back", newly_held.size());
      log(LogLevel::kWarn,
          "topic list would drop too many topics at once: held back until the "
          "next list confirms",
          {{"source", source_},
           {"drops", std::to_string(candidates.size())},
           {"live", std::to_string(admission.live)},
           {"max_drop_ratio", std::to_string(max_drop_ratio_)},
           {"topics", sample_names(newly_held)}});
    }
  } else {
    to_drop = std::move(candidates);
    held_back_.clear();
  }

  if (!to_drop.empty()) {
    engine_.condemn(to_drop, list.stamp);
    metrics_.on_list_drops(source_, "dropped", to_drop.size());
    log(LogLevel::kInfo, "topics absent from the authoritative list dropped",
        {{"source", source_},
         {"topics", sample_names(to_drop)},
         {"count", std::to_string(to_drop.size())}});
  }
  outcome.dropped = to_drop.size();

  if (adopt_counts) {
    outcome.incomplete = engine_.adopt_broker_counts(list.topics, CountMode::kAdoptAfterGap,
                                                     list.stamp.requested_at_ms);
    if (!outcome.incomplete.empty()) {
      log(LogLevel::kWarn,
          "adopted the broker's pending counts: message-level state incomplete "
          "until these topics' messages are seen again",
          {{"source", source_}, {"topics", sample_names(outcome.incomplete)}});
    }
  }
  return {std::move(to_drop), adopt_counts};
}

}  // namespace timing_sidecar
