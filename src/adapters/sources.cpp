#include "timing_sidecar/sources.hpp"

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "dashboard_source.hpp"
#include "file_sources.hpp"
#include "remoting_source.hpp"
#include "source_health.hpp"
#include "timing_sidecar/http_client.hpp"
#include "timing_sidecar/log.hpp"
#include "timing_sidecar/periodic_task.hpp"
#include "timing_sidecar/reconciler.hpp"
#include "timing_sidecar/rocketmq_files.hpp"
#include "timing_sidecar/tailer.hpp"

namespace timing_sidecar {

Sources::Sources(const Config& config, Sidecar& sidecar, const Clock& clock,
                 std::function<void()> after_apply)
    : sidecar_(sidecar),
      clock_(clock),
      metrics_(std::make_unique<SourceMetrics>(sidecar.metrics().registry(),
                                               sidecar.engine().config().labels)) {
  // Refused before any source starts.
  if (!config.broker_url.empty()) require_base_url(config.broker_url, "--broker.url");
  if (!config.topics_dashboard_url.empty()) {
    require_base_url(config.topics_dashboard_url, "--topics.dashboard-url");
  }
  std::string topics_file = config.topics_file;
  const bool other_list = !config.topics_dashboard_url.empty() || !config.broker_url.empty() ||
                          !config.broker_remoting_address.empty();
  if (!config.timer_metrics_file.empty() && topics_file.empty() && !other_list) {
    topics_file =
        (std::filesystem::path(config.timer_metrics_file).parent_path() / "topics.json").string();
    log(LogLevel::kInfo,
        "--timer-metrics.file without a topic list source: the topics.json beside it says "
        "which topics are live",
        {{"topics_file", topics_file}});
  }
  if (topics_file.empty() && !other_list) {
    sidecar_.set_ready(true);  // the webhook alone: nothing to wait for
    return;
  }

  // Held until every source is constructed, so that a fast one cannot make the sidecar ready
  // while another has yet to start.
  awaiting_first_state_ = 1;
  if (!config.broker_url.empty()) {
    broker_api_ =
        std::make_unique<HttpBrokerApi>(require_base_url(config.broker_url, "--broker.url"));
    tailer_ = std::make_unique<Tailer>(config, sidecar, *broker_api_, clock_,
                                       std::move(after_apply), expect_first_state());
  }
  if (!topics_file.empty()) {
    topics_file_ = std::make_unique<TopicsFile>(
        config, sidecar, clock_, topics_file,
        SourceHealth(*metrics_, "topics_file", topics_file, expect_first_state()));
    topics_file_loop_ = polled(config, [file = topics_file_.get()] { file->poll(); });
  }
  if (!config.topics_dashboard_url.empty()) {
    dashboard_api_ = std::make_unique<HttpDashboardApi>(
        require_base_url(config.topics_dashboard_url, "--topics.dashboard-url"));
    dashboard_ = std::make_unique<DashboardSource>(
        config, sidecar, *dashboard_api_, clock_,
        SourceHealth(*metrics_, "dashboard", config.topics_dashboard_url, expect_first_state()));
    dashboard_loop_ = std::make_unique<PeriodicTask>(
        config.sources_poll_interval_ms, [source = dashboard_.get()] { source->poll(); },
        PeriodicTask::Start::kAtOnce, [api = dashboard_api_.get()] { api->cancel(); });
  }
  if (!config.timer_metrics_file.empty()) {
    timer_metrics_ = std::make_unique<TimerMetricsFile>(
        config, sidecar, clock_,
        SourceHealth(*metrics_, "timer_metrics", config.timer_metrics_file, expect_first_state()));
    timer_metrics_loop_ = polled(config, [file = timer_metrics_.get()] { file->poll(); });
  }
  if (!config.broker_remoting_address.empty()) {
    remoting_ = std::make_unique<RemotingSource>(
        config, sidecar, clock_,
        SourceHealth(*metrics_, "remoting", config.broker_remoting_address, expect_first_state()));
  }
  if (awaiting_first_state_.fetch_sub(1) == 1) sidecar_.set_ready(true);
}

Sources::~Sources() = default;

void Sources::set_poll_interval_ms(int64_t interval_ms) {
  if (topics_file_loop_) topics_file_loop_->set_interval_ms(interval_ms);
  if (dashboard_loop_) dashboard_loop_->set_interval_ms(interval_ms);
  if (timer_metrics_loop_) timer_metrics_loop_->set_interval_ms(interval_ms);
  if (remoting_) remoting_->set_poll_interval_ms(interval_ms);
}

std::unique_ptr<PeriodicTask> Sources::polled(const Config& config, std::function<void()> poll) {
  return std::make_unique<PeriodicTask>(config.sources_poll_interval_ms, std::move(poll),
                                        PeriodicTask::Start::kAtOnce);
}

std::function<void()> Sources::expect_first_state() {
  awaiting_first_state_.fetch_add(1);
  auto delivered = std::make_shared<std::atomic<bool>>(false);
  return [this, delivered] {
    if (!delivered->exchange(true) && awaiting_first_state_.fetch_sub(1) == 1) {
      sidecar_.set_ready(true);
    }
  };
}

}  // namespace timing_sidecar
