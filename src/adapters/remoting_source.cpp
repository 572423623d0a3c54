#include "remoting_source.hpp"

#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>

#include "timing_sidecar/backoff.hpp"
#include "timing_sidecar/periodic_task.hpp"
#include "timing_sidecar/reconciler.hpp"
#include "timing_sidecar/remoting_client.hpp"

namespace timing_sidecar {

namespace {

constexpr std::chrono::seconds kConnectTimeout{3};
constexpr std::chrono::seconds kReadTimeout{5};

std::string read_secret_key(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream contents;
  if (in) contents << in.rdbuf();
  if (!in) throw std::invalid_argument("--broker.secret-key-file " + path + ": cannot read it");
  std::string key = contents.str();
  while (!key.empty() && (key.back() == '\n' || key.back() == '\r' || key.back() == ' ')) {
    key.pop_back();
  }
  if (key.empty()) throw std::invalid_argument("--broker.secret-key-file " + path + " is empty");
  return key;
}

std::optional<remoting::Credentials> credentials(const Config& config) {
  if (config.broker_access_key.empty()) return std::nullopt;
  return remoting::Credentials{config.broker_access_key,
                               read_secret_key(config.broker_secret_key_file)};
}

ListenAddress require_address(const std::string& text) {
  auto address = parse_listen_address(text);
  if (!address || address->port == 0) {
    throw std::invalid_argument("--broker.remoting-address " + text + ": expected host:port");
  }
  return *address;
}

// The timer's figures from GET_BROKER_RUNTIME_INFO, one gauge each, written once the broker has
// reported the figure and kept at their last value while it does not answer.
class TimerRuntimeGauges {
 public:
  TimerRuntimeGauges(prometheus::Registry& registry, const ConstantLabels& labels) {
    const auto add = [&](const char* name, const char* help) -> prometheus::Family<Gauge>& {
      return prometheus::BuildGauge()
          .Name(name)
          .Help(std::string(help) +
                " From the broker (GET_BROKER_RUNTIME_INFO), polled by "
                "--broker.remoting-address.")
          .Labels(constant_labels(labels))
          .Register(registry);
    };
    families_ = {
        &add("rocketmq_timer_read_behind_seconds",
             "How far the broker's timer wheel reads behind now (timerReadBehind)."),
        &add("rocketmq_timer_offset_behind_messages",
             "Timer log messages the broker's timer has yet to read (timerOffsetBehind)."),
        &add("rocketmq_timer_congested_messages",
             "Messages in the broker's congested timer slots (timerCongestNum)."),
        &add("rocketmq_timer_enqueue_messages_per_second",
             "The broker's own rate of timing messages entering its timer (timerEnqueueTps)."),
        &add("rocketmq_timer_dequeue_messages_per_second",
             "The broker's own rate of timing messages leaving its timer (timerDequeueTps)."),
    };
  }

  void set(const remoting::TimerRuntime& runtime) {
    const std::optional<double> values[] = {
        runtime.read_behind_seconds, runtime.offset_behind_messages, runtime.congested_messages,
        runtime.enqueue_per_second, runtime.dequeue_per_second};
    for (size_t i = 0; i < families_.size(); ++i) {
      if (!values[i]) continue;
      if (gauges_[i] == nullptr) gauges_[i] = &families_[i]->Add({});
      gauges_[i]->Set(*values[i]);
    }
  }

 private:
  using Gauge = prometheus::Gauge;
  std::vector<prometheus::Family<Gauge>*> families_;
  Gauge* gauges_[5] = {};
};

}  // namespace

class RemotingSource::Poller {
 public:
  Poller(const Config& config, Sidecar& sidecar, const Clock& clock, SourceHealth health,
         ListenAddress address)
      : engine_(sidecar.engine()),
        clock_(clock),
        // The feed's revisions and dataVersion.counter are different counters (as for
        // --topics.file): beside the feed, the list is placed in time by its request alone.
        use_counter_(config.broker_url.empty()),
        resync_interval_ms_(config.broker_resync_interval_ms),
        client_(address.host, address.port, kConnectTimeout, kReadTimeout, credentials(config)),
        reconciler_(sidecar, config.reconcile_max_drop_ratio, "remoting"),
        runtime_(sidecar.metrics().registry(), sidecar.engine().config().labels),
        health_(std::move(health)),
        backoff_(std::random_device{}()),
        loop_(
            config.sources_poll_interval_ms, [this] { poll(); }, PeriodicTask::Start::kAtOnce,
            [this] { client_.cancel(); }) {}

  void set_poll_interval_ms(int64_t interval_ms) { loop_.set_interval_ms(interval_ms); }

 private:
  using Reply = std::variant<remoting::Command, SourceError>;

  void poll() {
    const int64_t requested_at_ms = clock_.now_ms();
    Reply topics = client_.call(remoting::kGetAllTopicConfig);
    if (auto* error = std::get_if<SourceError>(&topics)) return fail(*error);
    if (auto error = apply_topics(std::get<remoting::Command>(topics).body, requested_at_ms)) {
      return fail(*error);
    }
    health_.delivered_first_state();  // /readyz waits for the first list only
    // A broker that refuses one of the next two (timers disabled) still gave its list; a
    // connection that failed is given up for this poll.
    std::optional<SourceError> problem;
    Reply timer = client_.call(remoting::kGetTimerMetrics);
    if (auto* error = std::get_if<SourceError>(&timer)) {
      if (error->reason != "broker_error") return fail(*error);
      problem = *error;
    } else {
      problem = read_counts(std::get<remoting::Command>(timer).body);
    }
    if (!counts_.empty()) engine_.adopt_broker_counts(counts_, CountMode::kMirror);
    Reply runtime = client_.call(remoting::kGetBrokerRuntimeInfo);
    if (auto* error = std::get_if<SourceError>(&runtime)) {
      if (error->reason != "broker_error") return fail(*error);
      if (!problem) problem = *error;
    } else {
      auto parsed = remoting::parse_runtime_info(std::get<remoting::Command>(runtime).body);
      if (auto* error = std::get_if<SourceError>(&parsed)) {
        if (!problem) problem = *error;
      } else {
        runtime_.set(std::get<remoting::TimerRuntime>(parsed));
      }
    }
    if (problem) return fail(*problem);
    backoff_.reset();
    health_.succeeded(clock_);
  }

  // An unchanged table (same bytes, so the same dataVersion) is applied again only every
  // --broker.resync-interval, so that a drop the valve held back can be confirmed.
  std::optional<SourceError> apply_topics(const std::string& body, int64_t requested_at_ms) {
    if (body == applied_topics_ && clock_.now_ms() - applied_at_ms_ < resync_interval_ms_) {
      return std::nullopt;
    }
    auto parsed = parse_topics_json(body, requested_at_ms, "GET_ALL_TOPIC_CONFIG's body");
    if (auto* error = std::get_if<SourceError>(&parsed)) return *error;
    ParsedTopics& topics = std::get<ParsedTopics>(parsed);
    if (!use_counter_) topics.list.stamp.revision.reset();
    health_.skipped_invalid_names(topics.invalid_names);
    // The dropped topics' series go now, so that GET /v1/topics agrees with /metrics.
    if (reconciler_.apply(topics.list, false).dropped > 0) engine_.reconcile();
    applied_topics_ = body;
    applied_at_ms_ = clock_.now_ms();
    return std::nullopt;
  }

  std::optional<SourceError> read_counts(const std::string& body) {
    if (body == counted_body_) return std::nullopt;
    auto parsed = parse_timer_metrics(body, "GET_TIMER_METRICS's body");
    if (auto* error = std::get_if<SourceError>(&parsed)) return *error;
    ParsedTopics& metrics = std::get<ParsedTopics>(parsed);
    health_.skipped_invalid_names(metrics.invalid_names);
    counts_ = next_broker_counts(counts_, std::move(metrics.list.topics));
    counted_body_ = body;
    return std::nullopt;
  }

  void fail(const SourceError& error) {
    if (error.reason == "cancelled") return;  // stopping
    if (error.reason == "broker_error" && logged_remarks_.insert(error.message).second) {
      log(LogLevel::kWarn, "the broker refused a remoting request",
          {{"source", "remoting"}, {"error", error.message}});
    }
    health_.failed(error);
    loop_.next_run_in(backoff_.next());
  }

  Engine& engine_;
  const Clock& clock_;
  const bool use_counter_;
  const int64_t resync_interval_ms_;
  remoting::Client client_;
  ListReconciler reconciler_;
  TimerRuntimeGauges runtime_;
  SourceHealth health_;
  Backoff backoff_;
  std::string applied_topics_;
  int64_t applied_at_ms_ = 0;
  std::string counted_body_;
  std::vector<ListedTopic> counts_;
  std::set<std::string> logged_remarks_;
  PeriodicTask loop_;  // last: stopped before the state it polls goes away
};

RemotingSource::RemotingSource(const Config& config, Sidecar& sidecar, const Clock& clock,
                               SourceHealth health)
    : poller_(std::make_unique<Poller>(config, sidecar, clock, std::move(health),
                                       require_address(config.broker_remoting_address))) {}

RemotingSource::~RemotingSource() = default;

void RemotingSource::set_poll_interval_ms(int64_t interval_ms) {
  poller_->set_poll_interval_ms(interval_ms);
}

}  // namespace timing_sidecar
