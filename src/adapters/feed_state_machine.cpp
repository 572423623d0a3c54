#include <prometheus/counter.h>
#include <prometheus/gauge.h>

#include <algorithm>
#include <array>
#include <map>

#include "timing_sidecar/input_log.hpp"
#include "timing_sidecar/log.hpp"
#include "timing_sidecar/tailer.hpp"

namespace timing_sidecar {

namespace {

constexpr std::array<std::string_view, 7> kErrorReasons = {
    "connect",   "timeout",       "connection_lost",   "http_status",
    "malformed", "invalid_event", "revision_backwards"};
constexpr std::array<std::string_view, 4> kRelistCauses = {"gone", "revision_backwards",
                                                           "invalid_event", "resync"};
constexpr std::string_view kSourceName = "broker";

}  // namespace

struct FeedStateMachine::Metrics {
  Metrics(prometheus::Registry& registry, const ConstantLabels& labels)
      : up(prometheus::BuildGauge()
               .Name("timing_sidecar_feed_up")
               .Help("1 while the last request to the broker's feed succeeded, else 0.")
               .Labels(constant_labels(labels))
               .Register(registry)
               .Add({})),
        revision(prometheus::BuildGauge()
                     .Name("timing_sidecar_feed_revision")
                     .Help("The broker revision up to which the feed has been applied.")
                     .Labels(constant_labels(labels))
                     .Register(registry)
                     .Add({})) {
    auto& error_family = prometheus::BuildCounter()
                             .Name("timing_sidecar_feed_errors_total")
                             .Help("Failed requests to the broker's feed and lists, by reason.")
                             .Labels(constant_labels(labels))
                             .Register(registry);
    for (std::string_view reason : kErrorReasons) {
      errors.emplace(reason, &error_family.Add({{"reason", std::string(reason)}}));
    }
    auto& relist_family = prometheus::BuildCounter()
                              .Name("timing_sidecar_feed_relists_total")
                              .Help(
                                  "Topic lists taken from the broker, by cause: gone (its "
                                  "history no longer reaches back), revision_backwards (it "
                                  "restarted), invalid_event, resync (periodic).")
                              .Labels(constant_labels(labels))
                              .Register(registry);
    for (std::string_view cause : kRelistCauses) {
      relists.emplace(cause, &relist_family.Add({{"cause", std::string(cause)}}));
    }
  }

  prometheus::Gauge& up;
  prometheus::Gauge& revision;
  std::map<std::string_view, prometheus::Counter*> errors;
  std::map<std::string_view, prometheus::Counter*> relists;
};

FeedStateMachine::FeedStateMachine(const Config& config, Sidecar& sidecar, BrokerApi& broker,
                                   const Clock& clock, std::function<void()> after_apply,
                                   std::function<void()> ready, uint64_t backoff_seed)
    : config_(config),
      sidecar_(sidecar),
      broker_(broker),
      clock_(clock),
      after_apply_(std::move(after_apply)),
      ready_(std::move(ready)),
      metrics_(std::make_unique<Metrics>(sidecar.metrics().registry(),
                                         sidecar.engine().config().labels)),
      reconciler_(sidecar, config.reconcile_max_drop_ratio, std::string(kSourceName)),
      backoff_(backoff_seed) {
  // After a restart with --state.dir, the feed goes on from where the recovered state left it:
  // a replay of what the broker appended meanwhile, not a relist that would only adopt counts.
  if (const InputLog* input_log = sidecar_.input_log()) {
    if (const std::optional<FeedPosition> recovered = input_log->recovered_feed_position()) {
      position_ = recovered->revision;
      revision_offset_ = recovered->revision_offset;
      highest_broker_revision_ = recovered->revision;
    }
  }
}

FeedStateMachine::~FeedStateMachine() = default;

std::chrono::milliseconds FeedStateMachine::step() {
  bool progressed;
  if (relist_due_) {
    progressed = relist(*relist_due_);
  } else if (have_state_ && clock_.now_ms() >= next_resync_ms_) {
    progressed = relist(RelistCause::kResync);
  } else {
    progressed = poll();
  }
  return progressed ? std::chrono::milliseconds(0) : backoff_.next();
}

int64_t FeedStateMachine::hold_seconds() const {
  // Catching up, the broker must answer at once; caught up, it holds the poll until events
  // come, but not past the next resync.
  if (!caught_up_) return 0;
  int64_t hold_ms = config_.broker_poll_timeout_ms;
  if (have_state_) hold_ms = std::min(hold_ms, next_resync_ms_ - clock_.now_ms());
  return std::max<int64_t>(1, (hold_ms + 999) / 1000);  // the broker takes whole seconds
}

bool FeedStateMachine::poll() {
  const int64_t hold = hold_seconds();
  const HttpResult result = broker_.watch(position_, std::chrono::seconds(hold));
  if (result.failure == HttpFailure::kCancelled) return true;
  if (result.failure != HttpFailure::kNone) {
    return fail(failure_reason(result.failure), result.error);
  }
  if (result.status == 410) {
    set_up();
    relist_due_ = RelistCause::kGone;
    return true;
  }
  if (result.status != 200) {
    return fail("http_status", "GET /v1/events answered " + std::to_string(result.status) + ": " +
                                   excerpt(result.body));
  }
  auto parsed = parse_feed_reply(result.body, event_limits(config_, clock_.now_ms()));
  if (auto* error = std::get_if<SourceError>(&parsed)) {
    if (error->reason == "invalid_event") return reject_batch(error->message);
    return fail(error->reason, error->message);
  }
  FeedReply& reply = std::get<FeedReply>(parsed);
  set_up();
  invalid_attempts_ = 0;
  if (reply.revision < highest_broker_revision_) {
    metrics_->errors.at("revision_backwards")->Increment();
    relist_due_ = RelistCause::kRevisionBackwards;
    return true;
  }
  highest_broker_revision_ = std::max(highest_broker_revision_, reply.revision);
  // Only events move the position. A reply may have been cut at the broker's batch limit, and
  // its revision may already count events appended while it was being answered: resuming from
  // it could skip them. Revisions without events (silent changes) cost one more short poll.
  const bool caught_up = reply.events.empty() || *reply.events.back().revision >= reply.revision;
  if (!reply.events.empty()) {
    const int64_t reached = std::max(position_, *reply.events.back().revision);
    if (!apply_events(reply.events, reached)) return false;
    position_ = reached;
  }
  caught_up_ = caught_up;
  metrics_->revision.Set(static_cast<double>(position_));
  if (caught_up_) mark_ready();
  return true;
}

bool FeedStateMachine::reject_batch(const std::string& error) {
  // Logged once per bad batch: by fail() when the feed goes down with it, else here.
  if (invalid_attempts_ == 0 && up_ == false) {
    log(LogLevel::kWarn, "invalid event in the broker feed: asking again, then relisting",
        {{"error", error}, {"after", std::to_string(position_)}});
  }
  fail("invalid_event", error);
  if (++invalid_attempts_ < kInvalidBatchAttempts) return false;
  invalid_attempts_ = 0;
  relist_due_ = RelistCause::kInvalidEvent;
  return true;
}

bool FeedStateMachine::apply_events(std::vector<Event>& events, int64_t reached) {
  sidecar_.ignore_system_topics(events);
  // Replaying a batch of system topics only after a crash costs nothing: no need to journal.
  if (events.empty()) return true;
  for (Event& event : events) *event.revision += revision_offset_;
  try {
    sidecar_.apply(events, EventSource::kFeed, FeedPosition{reached, revision_offset_});
  } catch (const JournalError& error) {
    return journal_failed(error);
  }
  if (after_apply_) after_apply_();
  return true;
}

bool FeedStateMachine::journal_failed(const JournalError& error) {
  // Nothing was applied and the position stays: the same batch is asked for again.
  log(LogLevel::kError, "cannot journal the broker feed: retrying with backoff",
      {{"error", error.what()}, {"after", std::to_string(position_)}});
  return false;
}

bool FeedStateMachine::relist(RelistCause cause) {
  const int64_t requested_at_ms = clock_.now_ms();
  const HttpResult result = broker_.list();
  if (result.failure == HttpFailure::kCancelled) return true;
  if (result.failure != HttpFailure::kNone) {
    return fail(failure_reason(result.failure), result.error);
  }
  if (result.status != 200) {
    return fail("http_status", "GET /v1/topics answered " + std::to_string(result.status) + ": " +
                                   excerpt(result.body));
  }
  auto parsed = parse_broker_topics(result.body, requested_at_ms);
  if (auto* error = std::get_if<SourceError>(&parsed)) return fail(error->reason, error->message);
  set_up();
  ParsedTopics& topics = std::get<ParsedTopics>(parsed);
  if (topics.invalid_names > 0 && !warned_invalid_names_) {
    warned_invalid_names_ = true;
    log(LogLevel::kWarn, "the broker lists topic names RocketMQ would refuse: skipped",
        {{"names", std::to_string(topics.invalid_names)}});
  }

  const int64_t broker_revision = *topics.list.stamp.revision;
  if (broker_revision < highest_broker_revision_) {
    if (cause == RelistCause::kResync) {
      metrics_->errors.at("revision_backwards")->Increment();
      cause = RelistCause::kRevisionBackwards;
    }
    // A fresh counter: its revisions must land above every one of the old counter.
    revision_offset_ += highest_broker_revision_ - broker_revision + 1;
  }
  highest_broker_revision_ = broker_revision;
  const bool gap = cause != RelistCause::kResync;
  if (gap) {
    // The events up to the list's revision will never be seen: the list and the broker's
    // counts stand in for them, and the feed goes on from there.
    topics.list.stamp.revision = broker_revision + revision_offset_;
    position_ = broker_revision;
    caught_up_ = false;
  } else {
    // The feed has applied everything up to its position, not yet what came after: the list
    // speaks for that position, so that the topics it adds are not taken for created after the
    // events the feed has yet to apply to them.
    topics.list.stamp.revision = position_ + revision_offset_;
  }
  const ListOutcome outcome = reconciler_.apply(topics.list, gap);
  if (InputLog* input_log = sidecar_.input_log()) {
    try {
      input_log->record_feed_position({position_, revision_offset_});
    } catch (const JournalError& error) {
      return journal_failed(error);
    }
  }
  // The dropped topics' series go now rather than at the next scrape or sweep, so that
  // GET /v1/topics agrees with /metrics.
  if (outcome.dropped > 0) sidecar_.engine().reconcile();
  relist_due_.reset();
  next_resync_ms_ = clock_.now_ms() + config_.broker_resync_interval_ms;
  metrics_->relists.at(cause_name(cause))->Increment();
  metrics_->revision.Set(static_cast<double>(position_));
  const bool changed = outcome.created + outcome.revived + outcome.dropped + outcome.held_back > 0;
  log(gap || changed ? LogLevel::kInfo : LogLevel::kDebug, "listed the broker's topics",
      {{"cause", std::string(cause_name(cause))},
       {"revision", std::to_string(broker_revision)},
       {"topics", std::to_string(topics.list.topics.size())},
       {"created", std::to_string(outcome.created)},
       {"revived", std::to_string(outcome.revived)},
       {"dropped", std::to_string(outcome.dropped)},
       {"held_back", std::to_string(outcome.held_back)},
       {"incomplete", std::to_string(outcome.incomplete.size())}});
  mark_ready();
  return true;
}

bool FeedStateMachine::fail(std::string_view reason, const std::string& error) {
  metrics_->errors.at(reason)->Increment();
  metrics_->up.Set(0);
  if (up_ != false) {
    down_since_ms_ = clock_.now_ms();
    log(LogLevel::kWarn, "broker feed down: retrying with backoff",
        {{"reason", std::string(reason)},
         {"error", error},
         {"url", config_.broker_url},
         {"after", std::to_string(position_)}});
  }
  up_ = false;
  return false;
}

void FeedStateMachine::set_up() {
  metrics_->up.Set(1);
  backoff_.reset();
  if (up_ != true) {
    LogFields fields = {{"url", config_.broker_url}, {"after", std::to_string(position_)}};
    if (up_ == false)
      fields.emplace_back("down_for", format_duration(clock_.now_ms() - down_since_ms_));
    log(LogLevel::kInfo, "broker feed up", fields);
  }
  up_ = true;
}

void FeedStateMachine::mark_ready() {
  if (have_state_) return;
  have_state_ = true;
  next_resync_ms_ = clock_.now_ms() + config_.broker_resync_interval_ms;
  if (ready_) ready_();
}

std::string_view FeedStateMachine::cause_name(RelistCause cause) {
  return kRelistCauses[static_cast<size_t>(cause)];
}

}  // namespace timing_sidecar
