#pragma once

// Private to sources.cpp (and its tests): RocketMQ's two files as sources, each one poll() at a
// time on the caller's thread through the injected clock; Sources runs each on a PeriodicTask.

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "source_health.hpp"
#include "timing_sidecar/clock.hpp"
#include "timing_sidecar/config.hpp"
#include "timing_sidecar/reconciler.hpp"
#include "timing_sidecar/rocketmq_files.hpp"
#include "timing_sidecar/sidecar.hpp"

namespace timing_sidecar {

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

// The skeleton both files share: stat the file, read it when it is due, hand it to the source,
// remember what was applied, and report each poll's outcome to the source's health.
class WatchedFile {
 public:
  // Reads `contents` (written at `modified_ms`) into the source's state; a SourceError refuses
  // it, and the last good state stays.
  using Apply =
      std::function<std::optional<SourceError>(const std::string& contents, int64_t modified_ms)>;

  WatchedFile(std::string path, const Clock& clock, SourceHealth health)
      : path_(std::move(path)), clock_(clock), health_(std::move(health)) {}

  // Applies the file when it is due: never applied, changed since, failing at the last poll, or
  // `again`. Returns whether it was applied.
  bool poll(bool again, const Apply& apply);

  // When the file was last applied; 0 before.
  int64_t applied_at_ms() const { return applied_at_ms_; }
  SourceHealth& health() { return health_; }

 private:
  void fail(const SourceError& error);

  const std::string path_;
  const Clock& clock_;
  SourceHealth health_;
  std::optional<FileIdentity> applied_;
  int64_t applied_at_ms_ = 0;
  bool failing_ = false;
};

// topics.json, applied when it changes. An unchanged file is applied again every
// --broker.resync-interval: it is still the broker's word, and a list the drop-ratio valve held
// back needs a next list to be confirmed. A file speaks for the moment it was written (its
// mtime), so it never drops a topic first seen after that.
class TopicsFile {
 public:
  TopicsFile(const Config& config, Sidecar& sidecar, const Clock& clock, std::string path,
             SourceHealth health);
  void poll();

 private:
  Engine& engine_;
  const Clock& clock_;
  // The broker feed's revisions and dataVersion.counter are different counters: beside the
  // feed, the file's list is placed in time by its mtime alone.
  const bool use_counter_;
  const int64_t resync_interval_ms_;
  ListReconciler reconciler_;
  WatchedFile file_;
};

// timermetrics: the broker's count per topic, mirrored for live topics no message-level event
// was seen for (the engine skips the others). Re-read when it changes, and the last counts are
// applied again every poll, so that a topic a list makes live later gets its count too.
class TimerMetricsFile {
 public:
  TimerMetricsFile(const Config& config, Sidecar& sidecar, const Clock& clock, SourceHealth health);
  void poll();

 private:
  Engine& engine_;
  WatchedFile file_;
  std::vector<ListedTopic> counts_;
};

// The dropped topics' series go now rather than at the next scrape or sweep, so that
// GET /v1/topics agrees with /metrics.
void apply_list(ListReconciler& reconciler, Engine& engine, const TopicList& list);

}  // namespace timing_sidecar
