#include "timing_sidecar/config_reload.hpp"

namespace timing_sidecar {

namespace {

class Comparison {
 public:
  Comparison(const Config& running, const Config& reread) : running_(running), reread_(reread) {}

  template <typename Field>
  void reloadable(const char* flag, Field Config::*field) {
    if (running_.*field != reread_.*field) changes_.applied.emplace_back(flag);
  }
  template <typename Field>
  void fixed(const char* flag, Field Config::*field) {
    if (running_.*field != reread_.*field) changes_.need_restart.emplace_back(flag);
  }

  ConfigChanges result() { return std::move(changes_); }

 private:
  const Config& running_;
  const Config& reread_;
  ConfigChanges changes_;
};

}  // namespace

ConfigChanges compare_configs(const Config& running, const Config& reread) {
  Comparison compare(running, reread);
  compare.reloadable("--log.level", &Config::log_level);
  compare.reloadable("--log.format", &Config::log_format);
  compare.reloadable("--reconcile.interval", &Config::reconcile_interval_ms);
  compare.reloadable("--sources.poll-interval", &Config::sources_poll_interval_ms);

  compare.fixed("--web.listen-address", &Config::web_listen_address);
  compare.fixed("--webhook.listen-address", &Config::webhook_listen_address);
  compare.fixed("--webhook.max-body", &Config::webhook_max_body_bytes);
  compare.fixed("--webhook.secret-file", &Config::webhook_secret_file);
  compare.fixed("--webhook.tolerance", &Config::webhook_tolerance_ms);
  compare.fixed("--web.config.file", &Config::web_config_file);
  compare.fixed("--web.threads", &Config::web_threads);
  compare.fixed("--cluster", &Config::cluster);
  compare.fixed("--node-id", &Config::node_id);
  compare.fixed("--timer.precision", &Config::timer_precision_ms);
  compare.fixed("--timer.max-delay", &Config::timer_max_delay_ms);
  compare.fixed("--overdue.grace", &Config::overdue_grace_ms);
  compare.fixed("--snapshot.per-topic", &Config::snapshot_per_topic);
  compare.fixed("--reconcile.max-drop-ratio", &Config::reconcile_max_drop_ratio);
  compare.fixed("--broker.url", &Config::broker_url);
  compare.fixed("--broker.resync-interval", &Config::broker_resync_interval_ms);
  compare.fixed("--broker.poll-timeout", &Config::broker_poll_timeout_ms);
  compare.fixed("--topics.file", &Config::topics_file);
  compare.fixed("--topics.dashboard-url", &Config::topics_dashboard_url);
  compare.fixed("--timer-metrics.file", &Config::timer_metrics_file);
  compare.fixed("--broker.remoting-address", &Config::broker_remoting_address);
  compare.fixed("--broker.access-key", &Config::broker_access_key);
  compare.fixed("--broker.secret-key-file", &Config::broker_secret_key_file);
  compare.fixed("--max-topics", &Config::max_topics);
  compare.fixed("--topics.include", &Config::topics_include);
  compare.fixed("--topics.exclude", &Config::topics_exclude);
  compare.fixed("--demo", &Config::demo);
  compare.fixed("--state.dir", &Config::state_dir);
  compare.fixed("--state.sync", &Config::state_sync);
  compare.fixed("--state.compact-bytes", &Config::state_compact_bytes);
  return compare.result();
}

}  // namespace timing_sidecar
