#pragma once

// The sidecar's state: topics split over shards by name hash, each shard holding its catalog,
// its series store and its scheduler under one lock. A batch locks each shard it touches once;
// a scrape locks one shard at a time, so neither waits on the other for long.

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "timing_sidecar/catalog.hpp"
#include "timing_sidecar/clock.hpp"
#include "timing_sidecar/events.hpp"
#include "timing_sidecar/exposition.hpp"
#include "timing_sidecar/scheduler.hpp"
#include "timing_sidecar/series_store.hpp"
#include "timing_sidecar/topic_filter.hpp"

namespace timing_sidecar {

// What the engine reports to its self metrics; the engine itself knows no Prometheus types.
class EngineObserver {
 public:
  virtual ~EngineObserver() = default;
  virtual void on_event(EventSource source, EventType type) = 0;
  virtual void on_ignored(std::string_view reason) = 0;
  virtual void on_series_removed(std::string_view reason, size_t series) = 0;
  virtual void on_delivery_lateness(double seconds) = 0;
  virtual void on_timers_fired(size_t timers) = 0;
  virtual void on_tombstones_forgotten(const ForgottenTombstones& forgotten) = 0;
};

// An observer that keeps nothing: for benchmarks and tests that drive an engine without self
// metrics. A real type, so that a hook added to EngineObserver is added here once.
class NullEngineObserver final : public EngineObserver {
 public:
  void on_event(EventSource, EventType) override {}
  void on_ignored(std::string_view) override {}
  void on_series_removed(std::string_view, size_t) override {}
  void on_delivery_lateness(double) override {}
  void on_timers_fired(size_t) override {}
  void on_tombstones_forgotten(const ForgottenTombstones&) override {}
};

struct EngineConfig {
  ConstantLabels labels;
  SchedulerConfig scheduler;
  bool snapshot_per_topic = true;
  size_t max_topics = 1'000'000;
  // max_tombstones is kept per shard, as its share of the whole.
  TombstonePolicy tombstones;
  // Topics it refuses are never tracked (nullptr: every topic is). Fixed for the engine's life:
  // a name held by a shard has passed it.
  std::shared_ptr<const TopicFilter> filter;
};

// An authoritative list of the broker's topics, with RocketMQ's own pending count where the
// source gives one.
struct ListedTopic {
  std::string name;
  std::optional<int64_t> timing;
};

struct TopicList {
  ListStamp stamp;
  std::vector<ListedTopic> topics;
};

struct ListAdmission {
  size_t created = 0;
  size_t revived = 0;
  size_t live = 0;                    // live topics after admission
  std::vector<std::string> unlisted;  // live, left out by the list, seen before it: drop candidates
};

// kAdoptAfterGap: the broker's count replaces what events said (after a relist caused by a gap).
// kMirror: the broker's count is exported for topics no message-level event was seen for.
enum class CountMode { kAdoptAfterGap, kMirror };

struct ApplyResult {
  size_t accepted = 0;
  size_t ignored = 0;
};

struct TopicSummary {
  std::string name;
  uint32_t pending = 0;
  uint32_t due = 0;
  uint32_t overdue = 0;
  uint64_t enqueued = 0;
  uint64_t dequeued = 0;
};

// One topic as the drill-down shows it.
struct TopicDetail {
  enum class Status { kLive, kDeleted, kUnknown };
  Status status = Status::kUnknown;
  std::optional<int64_t> deleted_revision;  // kDeleted, when the deletion carried one
  int64_t now_ms = 0;                       // the engine's clock when the detail was taken
  TopicSummary summary;                     // kLive
  TopicMessages messages;                   // kLive
};

struct EngineStats {
  size_t topics = 0;
  size_t tombstones = 0;
  size_t timers = 0;
  size_t pending = 0;
  size_t incomplete = 0;  // topics whose pending count rests partly on the broker's own count
  size_t names = 0;       // topic names held: live topics and tombstones
};

// The snapshot's records (record_codec.hpp).
class RecordReader;
class RecordSink;

class Engine {
 public:
  Engine(const EngineConfig& config, const Clock& clock, EngineObserver& observer);
  ~Engine();

  // Applies events in order per topic. Deletions have removed their series when this returns.
  ApplyResult apply(const std::vector<Event>& events, EventSource source);

  // Fires due timers of every shard at the clock's now.
  size_t advance_timers();
  std::optional<int64_t> next_wakeup_ms() const;

  // Lists are applied one at a time (admit_list, then condemn the drops the caller accepts).
  std::mutex& list_mutex() { return list_mutex_; }
  ListAdmission admit_list(const TopicList& list);
  // Tombstones topics an authoritative list no longer names; their series go at the next
  // reconcile, within the scrape that follows at the latest.
  void condemn(const std::vector<std::string>& topics, const ListStamp& stamp);
  // Returns the topics whose message-level state is now incomplete. After a gap
  // (kAdoptAfterGap), `listed_at_ms` is when the list was asked for: the messages held as due by
  // then were delivered unseen during the gap, or are late at the broker, whose count then holds
  // them; either way they are forgotten, so that they neither stay pending forever nor outweigh
  // the messages only the broker's count knows of. Mirroring (kMirror) does not use it.
  std::vector<std::string> adopt_broker_counts(const std::vector<ListedTopic>& counts,
                                               CountMode mode, int64_t listed_at_ms = 0);

  // Drops the series of every topic the catalog does not hold live. Returns topics dropped.
  size_t reconcile();
  // Gives back what tombstones past the retention or evicted beyond the bound still hold (their
  // catalog entries and names), in time proportional to what it forgets. Reports and returns
  // what was forgotten since the last call.
  ForgottenTombstones forget_tombstones();

  // Appends the per-topic families in the text format.
  void write_metrics(std::string& out) const;

  std::vector<TopicSummary> topics() const;
  // One topic, with at most `limit` messages of each kind; locks only the topic's shard and reads
  // only that topic's messages.
  TopicDetail topic_detail(std::string_view name, size_t limit) const;
  EngineStats stats() const;
  const EngineConfig& config() const { return config_; }

  // The engine as a snapshot's records (src/model/engine_snapshot.cpp): the engine-wide state first
  // (the caller holds list_mutex()), then every shard, each under its lock, headed by `position`:
  // what the caller knows of the inputs the shard reflects. The caller keeps inputs out while a
  // shard is written.
  static constexpr size_t shard_count() { return kShardCount; }
  void export_header(RecordSink& out) const;
  void export_shard(size_t index, uint64_t position, RecordSink& out) const;
  // Reads what the export wrote into an engine nothing else uses yet, telling `restored` each
  // topic and the position of the shard it came with. Pending messages take their phases at the
  // clock's now; topics the filter refuses are left out. Throws std::runtime_error on records it
  // cannot use.
  void import_state(RecordReader& in,
                    const std::function<void(std::string_view topic, uint64_t position)>& restored);

 private:
  struct Shard;
  static constexpr size_t kShardCount = 16;

  Shard& shard_for(std::string_view topic) const;
  // False, counted as ignored, for a topic the filter refuses and no shard holds yet.
  bool admitted(const Shard& shard, std::string_view topic, uint32_t topic_hash) const;
  // Adds the series a deletion removed to `removed_series`, reported once per batch.
  bool apply_one(Shard& shard, const Event& event, uint32_t topic_hash, EventSource source,
                 int64_t now_ms, size_t& removed_series);
  SeriesSlot add_series(Shard& shard, TopicId topic);
  // Returns the series removed.
  size_t drop_topic(Shard& shard, SeriesSlot slot);
  // Drops the series of the shard's condemned topics; returns the topics dropped.
  size_t drop_condemned(Shard& shard, size_t& removed_series);

  EngineConfig config_;
  const Clock& clock_;
  EngineObserver& observer_;
  std::array<std::unique_ptr<Shard>, kShardCount> shards_;

  std::atomic<size_t> topic_count_{0};
  std::mutex list_mutex_;
  uint32_t list_epoch_ = 0;  // guarded by list_mutex_
  // One scrape renders at a time, with a writer that keeps its memory from scrape to scrape:
  // fresh pages cost more than the rendering itself.
  mutable std::mutex writer_mutex_;
  mutable TopicFamiliesWriter writer_;
};

}  // namespace timing_sidecar
