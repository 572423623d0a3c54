#include "file_sources.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <variant>

namespace timing_sidecar {

namespace {

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

}  // namespace

void apply_list(ListReconciler& reconciler, Engine& engine, const TopicList& list) {
  if (reconciler.apply(list, false).dropped > 0) engine.reconcile();
}

bool WatchedFile::poll(bool again, const Apply& apply) {
  auto identity = identify(path_);
  if (auto* error = std::get_if<SourceError>(&identity)) {
    fail(*error);
    return false;
  }
  const FileIdentity& current = std::get<FileIdentity>(identity);
  if (applied_ && current == *applied_ && !failing_ && !again) return false;
  auto contents = read_whole(path_);
  if (auto* error = std::get_if<SourceError>(&contents)) {
    fail(*error);
    return false;
  }
  if (std::optional<SourceError> refused =
          apply(std::get<std::string>(contents), current.modified_ms())) {
    fail(*refused);
    return false;
  }
  applied_ = current;
  applied_at_ms_ = clock_.now_ms();
  failing_ = false;
  health_.succeeded(clock_);
  return true;
}

void WatchedFile::fail(const SourceError& error) {
  failing_ = true;
  health_.failed(error);
}

TopicsFile::TopicsFile(const Config& config, Sidecar& sidecar, const Clock& clock, std::string path,
                       SourceHealth health)
    : engine_(sidecar.engine()),
      clock_(clock),
      use_counter_(config.broker_url.empty()),
      resync_interval_ms_(config.broker_resync_interval_ms),
      reconciler_(sidecar, config.reconcile_max_drop_ratio, "topics_file"),
      file_(std::move(path), clock, std::move(health)) {}

void TopicsFile::poll() {
  const bool resync_due = clock_.now_ms() - file_.applied_at_ms() >= resync_interval_ms_;
  file_.poll(
      resync_due,
      [this](const std::string& contents, int64_t modified_ms) -> std::optional<SourceError> {
        auto parsed = parse_topics_json(contents, modified_ms);
        if (auto* error = std::get_if<SourceError>(&parsed)) return *error;
        ParsedTopics& topics = std::get<ParsedTopics>(parsed);
        if (!use_counter_) topics.list.stamp.revision.reset();
        file_.health().skipped_invalid_names(topics.invalid_names);
        apply_list(reconciler_, engine_, topics.list);
        return std::nullopt;
      });
}

TimerMetricsFile::TimerMetricsFile(const Config& config, Sidecar& sidecar, const Clock& clock,
                                   SourceHealth health)
    : engine_(sidecar.engine()), file_(config.timer_metrics_file, clock, std::move(health)) {}

void TimerMetricsFile::poll() {
  file_.poll(false, [this](const std::string& contents, int64_t) -> std::optional<SourceError> {
    auto parsed = parse_timer_metrics(contents);
    if (auto* error = std::get_if<SourceError>(&parsed)) return *error;
    ParsedTopics& metrics = std::get<ParsedTopics>(parsed);
    file_.health().skipped_invalid_names(metrics.invalid_names);
    counts_ = next_broker_counts(counts_, std::move(metrics.list.topics));
    return std::nullopt;
  });
  if (!counts_.empty()) engine_.adopt_broker_counts(counts_, CountMode::kMirror);
}

}  // namespace timing_sidecar
