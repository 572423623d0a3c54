#pragma once

// What the sidecar learns beside its webhook, as the flags ask, each source on a thread of its
// own and each list through a ListReconciler of its own (usable together):
//   --broker.url             the broker feed (tailer.hpp): events, lists after gaps, resyncs;
//   --topics.file            RocketMQ's store/config/topics.json, re-read when it changes;
//   --topics.dashboard-url   rocketmq-dashboard's topic list, polled;
//   --timer-metrics.file     RocketMQ's store/config/timermetrics: the broker's own pending counts,
//                            exported for live topics no message-level event was seen for;
//   --broker.remoting-address the broker's own protocol (remoting_source.hpp): its topic list,
//                            the same counts, and its timer's figures, polled.
// The timermetrics file keeps the counts of deleted topics (RocketMQ's stale-series bug), so it
// cannot say which topics are live. Given alone (no --topics.file, --topics.dashboard-url,
// --broker.url or --broker.remoting-address), the topics.json beside it, in the same store/config
// directory, is the list.

#include <atomic>
#include <functional>
#include <memory>

#include "timing_sidecar/clock.hpp"
#include "timing_sidecar/config.hpp"
#include "timing_sidecar/sidecar.hpp"

namespace timing_sidecar {

class Tailer;
class BrokerApi;
class RemotingSource;
class TopicsFile;
class TimerMetricsFile;
class DashboardApi;
class DashboardSource;
class PeriodicTask;
struct SourceMetrics;

class Sources {
 public:
  // Starts the sources the config asks for and marks the sidecar ready once each has delivered
  // its first state (at once when none is configured; a Sidecar starts not ready). `after_apply`
  // runs after each batch of events the feed applied; `clock` (which must outlive the sources)
  // stamps their lists and health. Throws std::invalid_argument for a URL that cannot be used.
  Sources(const Config& config, Sidecar& sidecar, const Clock& clock,
          std::function<void()> after_apply);
  // Stops every source promptly, interrupting requests in flight.
  ~Sources();
  Sources(const Sources&) = delete;
  Sources& operator=(const Sources&) = delete;

  // --sources.poll-interval reloaded: each file and the dashboard are next polled this long from
  // now, and this often after.
  void set_poll_interval_ms(int64_t interval_ms);

 private:
  // `poll` at once, then every --sources.poll-interval.
  static std::unique_ptr<PeriodicTask> polled(const Config& config, std::function<void()> poll);
  std::function<void()> expect_first_state();

  Sidecar& sidecar_;
  const Clock& clock_;
  std::unique_ptr<SourceMetrics> metrics_;
  std::atomic<int> awaiting_first_state_{0};
  std::unique_ptr<BrokerApi> broker_api_;
  std::unique_ptr<Tailer> tailer_;  // after broker_api_: stopped before it goes away
  std::unique_ptr<TopicsFile> topics_file_;
  std::unique_ptr<PeriodicTask> topics_file_loop_;  // after topics_file_: stopped before it goes
  std::unique_ptr<DashboardApi> dashboard_api_;
  std::unique_ptr<DashboardSource> dashboard_;
  std::unique_ptr<PeriodicTask> dashboard_loop_;  // after dashboard_ and its API, likewise
  std::unique_ptr<TimerMetricsFile> timer_metrics_;
  std::unique_ptr<PeriodicTask> timer_metrics_loop_;  // after timer_metrics_, likewise
  std::unique_ptr<RemotingSource> remoting_;
};

}  // namespace timing_sidecar
