#include "timing_sidecar/sources.hpp"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <sys/stat.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "poll_loop.hpp"
#include "remoting_source.hpp"
#include "source_health.hpp"
#include "timing_sidecar/log.hpp"
#include "timing_sidecar/reconciler.hpp"
#include "timing_sidecar/rocketmq_files.hpp"
#include "timing_sidecar/tailer.hpp"

namespace timing_sidecar {

namespace {

constexpr std::chrono::seconds kDashboardReadTimeout{10};

// Tells a rewritten file from the one already applied: RocketMQ writes a temporary file and
// renames it (a new inode), but an editor or a copy may rewrite in place (same inode).
struct FileIdentity {
  dev_t device = 0;
  ino_t inode = 0;
  off_t size = 0;
  int64_t modified_ns = 0;

  bool operator==(const FileIdentity& other) const {
    return device == other.device && inode == other.inode && size == other.size &&
           modified_ns == other.modified_ns;
  }
  bool operator!=(const FileIdentity& other) const { return !(*this == other); }
  int64_t modified_ms() const { return modified_ns / 1'000'000; }
};

std::variant<FileIdentity, SourceError> identify(const std::string& path) {
  struct stat status {};
  if (stat(path.c_str(), &status) != 0) {
    // RocketMQ deletes the file just before renaming the new one into place: "missing" is
    // usually that instant, and the next poll finds the file again.
    return SourceError{errno == ENOENT ? "missing" : "unreadable",
                       "cannot stat " + path + ": " + std::strerror(errno)};
  }
  return FileIdentity{
      status.st_dev, status.st_ino, status.st_size,
      static_cast<int64_t>(status.st_mtim.tv_sec) * 1'000'000'000 + status.st_mtim.tv_nsec};
}

std::variant<std::string, SourceError> read_whole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream contents;
  if (in) contents << in.rdbuf();
  if (!in || in.bad()) {
    return SourceError{"unreadable", "cannot read " + path + ": " + std::strerror(errno)};
  }
  return contents.str();
}

// The dropped topics' series go now rather than at the next scrape or sweep, so that
// GET /v1/topics agrees with /metrics.
void apply_list(ListReconciler& reconciler, Engine& engine, const TopicList& list) {
  if (reconciler.apply(list, false).dropped > 0) engine.reconcile();
}

}  // namespace

// topics.json, applied when it changes. An unchanged file is applied again every
// --broker.resync-interval: it is still the broker's word, and a list the drop-ratio valve held
// back needs a next list to be confirmed. A file speaks for the moment it was written (its
// mtime), so it never drops a topic first seen after that.
class Sources::TopicsFile {
 public:
  TopicsFile(const Config& config, Sidecar& sidecar, const Clock& clock, std::string path,
             SourceHealth health)
      : engine_(sidecar.engine()),
        clock_(clock),
        path_(std::move(path)),
        // The broker feed's revisions and dataVersion.counter are different counters: beside
        // the feed, the file's list is placed in time by its mtime alone.
        use_counter_(config.broker_url.empty()),
        resync_interval_ms_(config.broker_resync_interval_ms),
        reconciler_(sidecar, config.reconcile_max_drop_ratio, "topics_file"),
        health_(std::move(health)),
        loop_(config.sources_poll_interval_ms, [this] { poll(); }) {}

  void set_poll_interval_ms(int64_t interval_ms) { loop_.set_interval_ms(interval_ms); }

 private:
  void poll() {
    auto identity = identify(path_);
    if (auto* error = std::get_if<SourceError>(&identity)) return fail(*error);
    const FileIdentity& current = std::get<FileIdentity>(identity);
    const bool due = !applied_ || current != *applied_ || failing_ ||
                     clock_.now_ms() - applied_at_ms_ >= resync_interval_ms_;
    if (!due) return;
    auto contents = read_whole(path_);
    if (auto* error = std::get_if<SourceError>(&contents)) return fail(*error);
    auto parsed = parse_topics_json(std::get<std::string>(contents), current.modified_ms());
    if (auto* error = std::get_if<SourceError>(&parsed)) return fail(*error);
    ParsedTopics& topics = std::get<ParsedTopics>(parsed);
    if (!use_counter_) topics.list.stamp.revision.reset();
    health_.skipped_invalid_names(topics.invalid_names);
    apply_list(reconciler_, engine_, topics.list);
    applied_ = current;
    applied_at_ms_ = clock_.now_ms();
    failing_ = false;
    health_.succeeded(clock_);
  }

  void fail(const SourceError& error) {
    failing_ = true;
    health_.failed(error);
  }

  Engine& engine_;
  const Clock& clock_;
  const std::string path_;
  const bool use_counter_;
  const int64_t resync_interval_ms_;
  ListReconciler reconciler_;
  SourceHealth health_;
  std::optional<FileIdentity> applied_;
  int64_t applied_at_ms_ = 0;
  bool failing_ = false;
  PollLoop loop_;  // last: stopped before the state it polls goes away
};

// rocketmq-dashboard's topic list, polled every --sources.poll-interval. Every reply is a fresh
// observation, so the next poll is what confirms a list the drop-ratio valve held back.
class Sources::Dashboard {
 public:
  Dashboard(const Config& config, Sidecar& sidecar, const Clock& clock, SourceHealth health)
      : engine_(sidecar.engine()),
        clock_(clock),
        client_(require_base_url(config.topics_dashboard_url, "--topics.dashboard-url")),
        reconciler_(sidecar, config.reconcile_max_drop_ratio, "dashboard"),
        health_(std::move(health)),
        loop_(
            config.sources_poll_interval_ms, [this] { poll(); }, [this] { client_.cancel(); }) {}

  void set_poll_interval_ms(int64_t interval_ms) { loop_.set_interval_ms(interval_ms); }

 private:
  void poll() {
    const int64_t requested_at_ms = clock_.now_ms();
    const HttpResult result =
        client_.get("/topic/list.query?skipSysProcess=true", kDashboardReadTimeout);
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

  Engine& engine_;
  const Clock& clock_;
  CancellableClient client_;
  ListReconciler reconciler_;
  SourceHealth health_;
  PollLoop loop_;  // last: stopped before the state it polls goes away
};

// timermetrics: the broker's count per topic, mirrored for live topics no message-level event
// was seen for (the engine skips the others). Re-read when it changes, and the last counts are
// applied again every poll, so that a topic a list makes live later gets its count too.
class Sources::TimerMetricsFile {
 public:
  TimerMetricsFile(const Config& config, Sidecar& sidecar, const Clock& clock, SourceHealth health)
      : engine_(sidecar.engine()),
        clock_(clock),
        path_(config.timer_metrics_file),
        health_(std::move(health)),
        loop_(config.sources_poll_interval_ms, [this] { poll(); }) {}

  void set_poll_interval_ms(int64_t interval_ms) { loop_.set_interval_ms(interval_ms); }

 private:
  void poll() {
    read_if_changed();
    if (!counts_.empty()) engine_.adopt_broker_counts(counts_, CountMode::kMirror);
  }

  void read_if_changed() {
    auto identity = identify(path_);
    if (auto* error = std::get_if<SourceError>(&identity)) return fail(*error);
    const FileIdentity& current = std::get<FileIdentity>(identity);
    if (applied_ && current == *applied_ && !failing_) return;
    auto contents = read_whole(path_);
    if (auto* error = std::get_if<SourceError>(&contents)) return fail(*error);
    auto parsed = parse_timer_metrics(std::get<std::string>(contents));
    if (auto* error = std::get_if<SourceError>(&parsed)) return fail(*error);
    ParsedTopics& metrics = std::get<ParsedTopics>(parsed);
    health_.skipped_invalid_names(metrics.invalid_names);

    counts_ = next_broker_counts(counts_, std::move(metrics.list.topics));
    applied_ = current;
    failing_ = false;
    health_.succeeded(clock_);
  }

  void fail(const SourceError& error) {
    failing_ = true;
    health_.failed(error);
  }

  Engine& engine_;
  const Clock& clock_;
  const std::string path_;
  SourceHealth health_;
  std::vector<ListedTopic> counts_;
  std::optional<FileIdentity> applied_;
  bool failing_ = false;
  PollLoop loop_;  // last: stopped before the state it polls goes away
};

Sources::Sources(const Config& config, Sidecar& sidecar, std::function<void()> after_apply)
    : sidecar_(sidecar),
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
    tailer_ = std::make_unique<Tailer>(config, sidecar, clock_, std::move(after_apply),
                                       expect_first_state());
  }
  if (!topics_file.empty()) {
    topics_file_ = std::make_unique<TopicsFile>(
        config, sidecar, clock_, topics_file,
        SourceHealth(*metrics_, "topics_file", topics_file, expect_first_state()));
  }
  if (!config.topics_dashboard_url.empty()) {
    dashboard_ = std::make_unique<Dashboard>(
        config, sidecar, clock_,
        SourceHealth(*metrics_, "dashboard", config.topics_dashboard_url, expect_first_state()));
  }
  if (!config.timer_metrics_file.empty()) {
    timer_metrics_ = std::make_unique<TimerMetricsFile>(
        config, sidecar, clock_,
        SourceHealth(*metrics_, "timer_metrics", config.timer_metrics_file, expect_first_state()));
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
  if (topics_file_) topics_file_->set_poll_interval_ms(interval_ms);
  if (dashboard_) dashboard_->set_poll_interval_ms(interval_ms);
  if (timer_metrics_) timer_metrics_->set_poll_interval_ms(interval_ms);
  if (remoting_) remoting_->set_poll_interval_ms(interval_ms);
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
