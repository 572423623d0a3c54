#include "timing_sidecar/sidecar.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <nlohmann/json.hpp>

#include "timing_sidecar/exposition.hpp"
#include "timing_sidecar/log.hpp"
#include "timing_sidecar/rocketmq_files.hpp"

namespace timing_sidecar {

namespace {

bool by_capacity(const std::unique_ptr<std::string>& a, const std::unique_ptr<std::string>& b) {
  return a->capacity() < b->capacity();
}

}  // namespace

EngineConfig engine_config(const Config& config) {
  EngineConfig engine;
  engine.labels = {config.cluster, config.node_id};
  engine.scheduler.precision_ms = config.timer_precision_ms;
  engine.scheduler.max_delay_ms = config.timer_max_delay_ms;
  engine.scheduler.overdue_grace_ms = config.overdue_grace_ms;
  engine.snapshot_per_topic = config.snapshot_per_topic;
  engine.max_topics = static_cast<size_t>(config.max_topics);
  engine.tombstones = {config.tombstone_retention_ms, static_cast<size_t>(config.max_tombstones)};
  if (!config.topics_include.empty() || !config.topics_exclude.empty()) {
    // parse_config has checked both expressions.
    engine.filter = std::get<std::shared_ptr<const TopicFilter>>(
        TopicFilter::make(config.topics_include, config.topics_exclude));
  }
  return engine;
}

EventLimits event_limits(const Config& config, int64_t now_ms) {
  EventLimits limits;
  limits.now_ms = now_ms;
  limits.max_delay_ms = config.timer_max_delay_ms;
  limits.clock_slack_ms = config.timer_precision_ms;
  return limits;
}

Sidecar::Sidecar(const Config& config, const Clock& clock)
    : config_(config),
      clock_(clock),
      metrics_(ConstantLabels{config.cluster, config.node_id},
               static_cast<size_t>(config.max_topics)),
      engine_(engine_config(config), clock, metrics_) {}

HttpReply Sidecar::reject(std::string_view reason, int status, std::string_view message) {
  metrics_.on_rejected(reason);
  rejected_since_summary_.fetch_add(1, std::memory_order_relaxed);
  log(LogLevel::kDebug, "request rejected",
      {{"reason", std::string(reason)}, {"error", std::string(message)}});
  return {status, nlohmann::json{{"error", message}}.dump()};
}

HttpReply Sidecar::ingest(std::string_view body, EventSource source) {
  ParseResult parsed = parse_events(body, event_limits(config_, clock_.now_ms()));
  if (auto* error = std::get_if<EventError>(&parsed)) {
    return reject(error->reason, 400, error->message);
  }
  std::vector<Event>& events = std::get<std::vector<Event>>(parsed);
  const size_t system_events = ignore_system_topics(events);
  ApplyResult result;
  try {
    if (!events.empty()) result = apply(events, source);
  } catch (const JournalError& error) {
    log(LogLevel::kError, "cannot journal an accepted batch: refused", {{"error", error.what()}});
    return {503, nlohmann::json{{"error", "the batch could not be saved: retry later"}}.dump()};
  }
  return {200,
          nlohmann::json{{"accepted", result.accepted}, {"ignored", result.ignored + system_events}}
              .dump()};
}

size_t Sidecar::ignore_system_topics(std::vector<Event>& events) {
  const auto system_events = std::remove_if(events.begin(), events.end(), [](const Event& event) {
    return is_system_topic(event.topic);
  });
  const size_t count = static_cast<size_t>(events.end() - system_events);
  for (size_t i = 0; i < count; ++i) metrics_.on_ignored("system_topic");
  events.erase(system_events, events.end());
  return count;
}

ApplyResult Sidecar::apply(const std::vector<Event>& events, EventSource source,
                           const std::optional<FeedPosition>& feed_position) {
  const auto apply_to_engine = [&] { return engine_.apply(events, source); };
  if (input_log_ == nullptr) return apply_to_engine();
  return input_log_->log_events(events, source, feed_position, apply_to_engine);
}

size_t Sidecar::reconcile(ReconcileTrigger trigger) {
  const size_t dropped = engine_.reconcile();
  metrics_.on_reconciled(trigger, static_cast<double>(clock_.now_ms()) / 1000.0);
  if (dropped > 0) {
    log(LogLevel::kInfo, "reconciler dropped topics that are no longer live",
        {{"topics", std::to_string(dropped)},
         {"trigger", trigger == ReconcileTrigger::kScrape ? "scrape" : "sweep"}});
  }
  return dropped;
}

std::shared_ptr<std::string> ScrapeBuffers::take() {
  std::unique_ptr<std::string> buffer;
  {
    std::lock_guard lock(idle_->mutex);
    auto& buffers = idle_->buffers;
    const auto largest = std::max_element(buffers.begin(), buffers.end(), by_capacity);
    if (largest != buffers.end()) {
      buffer = std::move(*largest);
      buffers.erase(largest);
    }
  }
  if (!buffer) buffer = std::make_unique<std::string>();
  return std::shared_ptr<std::string>(buffer.release(), [idle = idle_](std::string* lent) {
    std::unique_ptr<std::string> returned(lent);
    returned->clear();  // keeps the capacity, and the pages
    std::lock_guard lock(idle->mutex);
    auto& buffers = idle->buffers;
    buffers.push_back(std::move(returned));
    if (buffers.size() > kMaxIdle) {
      // Freed once the lock is released.
      returned = std::move(*std::min_element(buffers.begin(), buffers.end(), by_capacity));
      buffers.erase(std::find(buffers.begin(), buffers.end(), nullptr));
    }
  });
}

ScrapeBody Sidecar::scrape_body(bool gzip) {
  reconcile(ReconcileTrigger::kScrape);
  metrics_.set_engine_stats(engine_.stats());
  std::shared_ptr<std::string> text = scrape_buffers_.take();
  engine_.write_metrics(*text);
  metrics_.write(*text);
  if (!gzip) return text;
  std::shared_ptr<std::string> compressed = scrape_buffers_.take();
  append_gzipped(*text, *compressed);
  return compressed;
}

std::string Sidecar::scrape() {
  return *scrape_body(false);
}

void Sidecar::sweep() {
  reconcile(ReconcileTrigger::kSweep);
  const auto started = std::chrono::steady_clock::now();
  const ForgottenTombstones forgotten = engine_.forget_tombstones();
  if (forgotten.expired + forgotten.evicted > 0) {
    const std::chrono::duration<double, std::milli> took =
        std::chrono::steady_clock::now() - started;
    log(LogLevel::kDebug, "tombstones forgotten",
        {{"expired", std::to_string(forgotten.expired)},
         {"evicted", std::to_string(forgotten.evicted)},
         {"duration_ms", std::to_string(took.count())}});
  }
  if (const size_t evicted = forgotten.evicted) {
    log(LogLevel::kWarn,
        "tombstones evicted before --tombstone.retention to stay within --max-tombstones: a late "
        "event for one of these topics starts a new life",
        {{"tombstones", std::to_string(evicted)},
         {"see", "timing_sidecar_tombstones_evicted_total"}});
  }
  if (const uint64_t rejected = rejected_since_summary_.exchange(0)) {
    log(LogLevel::kWarn, "requests rejected since the last sweep",
        {{"requests", std::to_string(rejected)},
         {"see", "timing_sidecar_events_rejected_total{reason}"}});
  }
}

std::string Sidecar::topics_json() const {
  nlohmann::json topics = nlohmann::json::array();
  for (const TopicSummary& topic : engine_.topics()) {
    topics.push_back({{"name", topic.name},
                      {"pending", topic.pending},
                      {"due", topic.due},
                      {"overdue", topic.overdue},
                      {"enqueued", topic.enqueued},
                      {"dequeued", topic.dequeued}});
  }
  return nlohmann::json{{"topics", std::move(topics)}}.dump();
}

std::variant<TopicDetail, HttpReply> Sidecar::topic_detail(
    std::string_view topic, const std::optional<std::string>& limit) const {
  const auto error = [](int status, const std::string& message) {
    return HttpReply{status, nlohmann::json{{"error", message}}.dump()};
  };
  if (!is_valid_topic_name(topic)) {
    return error(400, "\"" + std::string(topic) + "\" is not a topic name RocketMQ accepts: 1 to " +
                          std::to_string(kMaxTopicNameLength) + " characters of [%|a-zA-Z0-9_-]");
  }
  size_t messages = kDefaultMessageLimit;
  if (limit) {
    const char* end = limit->data() + limit->size();
    const auto parsed = std::from_chars(limit->data(), end, messages);
    if (parsed.ec != std::errc() || parsed.ptr != end || messages < 1 ||
        messages > kMaxMessageLimit) {
      return error(400, "limit \"" + *limit + "\" must be a whole number from 1 to " +
                            std::to_string(kMaxMessageLimit));
    }
  }
  TopicDetail detail = engine_.topic_detail(topic, messages);
  switch (detail.status) {
    case TopicDetail::Status::kLive:
      return detail;
    case TopicDetail::Status::kDeleted:
      return error(404, "topic \"" + std::string(topic) + "\" was deleted" +
                            (detail.deleted_revision
                                 ? " at revision " + std::to_string(*detail.deleted_revision)
                                 : std::string()));
    case TopicDetail::Status::kUnknown:
      break;
  }
  return error(404, "topic \"" + std::string(topic) +
                        "\" is not tracked: never seen, filtered out, or forgotten");
}

HttpReply Sidecar::topic_json(std::string_view topic,
                              const std::optional<std::string>& limit) const {
  std::variant<TopicDetail, HttpReply> answer = topic_detail(topic, limit);
  if (auto* reply = std::get_if<HttpReply>(&answer)) return std::move(*reply);
  const TopicDetail& detail = std::get<TopicDetail>(answer);
  nlohmann::json next = nlohmann::json::array();
  for (const ScheduledMessage& message : detail.messages.upcoming) {
    next.push_back({{"id", message.id}, {"deliverAtMs", message.deliver_at_ms}});
  }
  nlohmann::json overdue = nlohmann::json::array();
  for (const ScheduledMessage& message : detail.messages.overdue) {
    overdue.push_back({{"id", message.id},
                       {"deliverAtMs", message.deliver_at_ms},
                       {"overdueMs", detail.now_ms - message.deliver_at_ms}});
  }
  const TopicSummary& summary = detail.summary;
  return {200, nlohmann::json{{"name", summary.name},
                              {"pending", summary.pending},
                              {"due", summary.due},
                              {"overdue", summary.overdue},
                              {"enqueued", summary.enqueued},
                              {"dequeued", summary.dequeued},
                              {"next", std::move(next)},
                              {"overdueMessages", std::move(overdue)}}
                   .dump()};
}

}  // namespace timing_sidecar
