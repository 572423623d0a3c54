#include "dashboard_source.hpp"

#include <string>
#include <variant>

#include "file_sources.hpp"
#include "timing_sidecar/rocketmq_files.hpp"

namespace timing_sidecar {

DashboardSource::DashboardSource(const Config& config, Sidecar& sidecar, DashboardApi& api,
                                 const Clock& clock, SourceHealth health)
    : engine_(sidecar.engine()),
      api_(api),
      clock_(clock),
      reconciler_(sidecar, config.reconcile_max_drop_ratio, "dashboard"),
      health_(std::move(health)) {}

void DashboardSource::poll() {
  const int64_t requested_at_ms = clock_.now_ms();
  const HttpResult result = api_.topic_list();
  if (result.failure == HttpFailure::kCancelled) return;
  if (result.failure != HttpFailure::kNone) {
    return health_.failed({std::string(failure_reason(result.failure)), result.error});
  }
  if (result.status != 200) {
    return health_.failed(
        {"http_status", "GET /topic/list.query answered " + std::to_string(result.status)});
  }
  auto parsed = parse_dashboard_topic_list(result.body, requested_at_ms);
  if (auto* error = std::get_if<SourceError>(&parsed)) return health_.failed(*error);
  ParsedTopics& topics = std::get<ParsedTopics>(parsed);
  health_.skipped_invalid_names(topics.invalid_names);
  apply_list(reconciler_, engine_, topics.list);
  health_.succeeded(clock_);
}

}  // namespace timing_sidecar
