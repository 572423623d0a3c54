#include "timing_sidecar/reload_status.hpp"

#include <algorithm>

namespace timing_sidecar {

ReloadStatus::ReloadStatus(prometheus::Registry& registry, const ConstantLabels& labels,
                           const Clock& clock)
    : clock_(clock),
      successful_(prometheus::BuildGauge()
                      .Name("timing_sidecar_config_last_reload_successful")
                      .Help("1 while the last reload of each reloadable file (web config, webhook "
                            "secret, --config) succeeded; 0 while one keeps its last good state.")
                      .Labels(constant_labels(labels))
                      .Register(registry)
                      .Add({})),
      success_timestamp_(prometheus::BuildGauge()
                             .Name("timing_sidecar_config_last_reload_success_timestamp_seconds")
                             .Help("Unix time of the last successful reload that left every "
                                   "reloadable file in use as it is on disk.")
                             .Labels(constant_labels(labels))
                             .Register(registry)
                             .Add({})) {
  successful_.Set(1);
  success_timestamp_.Set(static_cast<double>(clock_.now_ms()) / 1000.0);
}

void ReloadStatus::record(const std::string& part, bool succeeded) {
  std::lock_guard lock(mutex_);
  parts_[part] = succeeded;
  const bool all_successful = all_successful_locked();
  successful_.Set(all_successful ? 1 : 0);
  if (all_successful) success_timestamp_.Set(static_cast<double>(clock_.now_ms()) / 1000.0);
}

bool ReloadStatus::successful() const {
  std::lock_guard lock(mutex_);
  return all_successful_locked();
}

bool ReloadStatus::all_successful_locked() const {
  return std::all_of(parts_.begin(), parts_.end(), [](const auto& entry) { return entry.second; });
}

}  // namespace timing_sidecar
