#pragma once

// State that survives a crash (--state.dir): a journal of every accepted input, in the order the
// inputs were applied, and a snapshot of the engine that the journal continues.
//
// The directory holds:
//   snapshot                     the engine's state when journal generation G began (G is in
//                                the snapshot's header); absent until the first compaction
//   journal-<generation>.log     the inputs applied since, in generations G, G+1, ...
//   snapshot.tmp                 a compaction in progress; removed at recovery
//   lock                         locked while a sidecar uses the directory
//
// Ingest (input_log.hpp): an input is appended to the journal and applied as one step under one
// mutex, so the journal's order is the order of application, and under a clock pinned to the time
// journaled with it. With --state.sync=always the caller then waits for an fdatasync covering its
// record (concurrent callers share one); with interval a thread syncs every kSyncInterval. Either
// way the record was written before the reply, so a crash of the process alone loses nothing.
//
// Recovery: load the snapshot, replay the journal generations after it through the same engine
// calls with the clock pinned to each record's time, stop at the first damaged record (logged,
// counted in timing_sidecar_journal_corrupt_records_total), then journal into a new generation.
// The timer driver then moves messages whose time ranges changed while the sidecar was down.
//
// Compaction (past --state.compact-bytes of journal, or the last snapshot's size if larger):
//   1. with inputs held off: fdatasync journal G, create journal G+1 (fsynced, with the
//      directory), start snapshot.tmp (its header names G+1) with the engine-wide state;
//   2. shard by shard, inputs held off for that shard only: write the shard, headed by the
//      offset journal G+1 has reached; inputs go on into G+1 in between;
//   3. fdatasync snapshot.tmp, rename it to snapshot, fsync the directory;
//   4. delete the journals before G+1.
// Recovery replays G+1 for each topic from its shard's offset on, all later generations whole.
// A crash before the rename leaves the old snapshot and every journal after it, G+1 included
// (G was synced before G+1 took any record, so the generations form one prefix). A crash after
// it leaves the new snapshot, which names G+1 as its first journal: older ones are skipped and
// deleted. A snapshot is never visible before it is complete and on disk.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "timing_sidecar/config.hpp"
#include "timing_sidecar/engine.hpp"
#include "timing_sidecar/input_log.hpp"
#include "timing_sidecar/journal.hpp"
#include "timing_sidecar/journal_clock.hpp"
#include "timing_sidecar/state_directory.hpp"

namespace prometheus {
class Registry;
}

namespace timing_sidecar {

inline constexpr std::chrono::seconds kSyncInterval{1};

struct DurabilityConfig {
  std::string dir;
  StateSync sync = StateSync::kAlways;
  int64_t compact_bytes = int64_t{64} << 20;
};

DurabilityConfig durability_config(const Config& config);

struct RecoveryReport {
  bool snapshot_loaded = false;
  uint64_t journal_records = 0;  // replayed after the snapshot
  size_t topics = 0;
  size_t tombstones = 0;
  size_t pending = 0;
  // Where the valid journal ended before its end, and why: "<file> at byte <n>: <reason>".
  std::optional<std::string> damage;
  std::optional<FeedPosition> feed_position;
  std::chrono::milliseconds duration{0};
};

// The sidecar's input log on disk. Source files by room: durability.cpp (ingest and group
// commit), durability_recovery.cpp, durability_compaction.cpp.
class Durability final : public InputLog {
 public:
  // Nothing is read or written before recover().
  Durability(const DurabilityConfig& config, Engine& engine, JournalClock& clock,
             prometheus::Registry& registry);
  // Syncs the journal: a clean shutdown loses nothing whatever --state.sync says. Every input
  // source must have stopped.
  ~Durability() override;
  Durability(const Durability&) = delete;
  Durability& operator=(const Durability&) = delete;

  // Brings the engine back to the state of the directory. Call once, before any input, then
  // attach the log to the sidecar (Sidecar::attach_input_log). A damaged journal is recovered up
  // to the damage; a snapshot that cannot be read, a directory in use by another process or an
  // unusable directory throw std::runtime_error.
  RecoveryReport recover();

  // The input log (input_log.hpp). log_events and record_feed_position also throw JournalError,
  // having applied nothing, while the journal, having lost a write, waits for a snapshot to hold
  // the state.
  ApplyResult log_events(const std::vector<Event>& events, EventSource source,
                         const std::optional<FeedPosition>& feed_position,
                         const std::function<ApplyResult()>& apply) override;
  void log_list(const TopicList& list, const std::function<ListEffects()>& apply) override;
  void record_feed_position(const FeedPosition& position) override;
  std::optional<FeedPosition> recovered_feed_position() const override {
    return recovered_feed_position_;
  }

  // Writes a snapshot and drops the journal it covers. Throws when it cannot (JournalError for
  // I/O): the previous snapshot and the journals after it stay as they were.
  void compact();

 private:
  struct Metrics;

  void load_snapshot(RecoveryReport& report);
  void replay_journals(uint64_t first_generation, RecoveryReport& report);
  void replay(const JournalInput& input, uint64_t offset);

  // The caller holds input_mutex_.
  void append_locked(RecordType type, const std::string& payload);
  void start_generation_locked(uint64_t generation);
  void require_writable_locked() const;
  // After a write that failed past repair: inputs wait for a snapshot of a later generation.
  void refuse_inputs_until_snapshot_locked();

  // Returns once everything appended before the call is synced.
  void sync_appended();
  void wait_synced(uint64_t position);
  void request_compaction();
  void run_background();

  const DurabilityConfig config_;
  StateDirectory directory_;
  Engine& engine_;
  JournalClock& clock_;
  std::unique_ptr<Metrics> metrics_;
  std::optional<FeedPosition> recovered_feed_position_;
  // While the snapshot's first journal generation is replayed: each topic the snapshot holds, and
  // the offset in that journal from which on its records are not yet reflected.
  std::unordered_map<std::string, uint64_t> covered_until_;

  // One input at a time, so that the journal's order is the order of application. Taken after
  // the engine's list_mutex() when both are needed; guards the members up to sync_mutex_.
  std::mutex input_mutex_;
  std::shared_ptr<RecordWriter> journal_;  // shared with a sync in flight
  uint64_t generation_ = 0;                // the newest journal generation on disk
  uint64_t appended_ = 0;                  // bytes journaled by this process: a position
  uint64_t uncompacted_bytes_ = 0;         // in the journals a recovery would replay
  uint64_t snapshot_bytes_ = 0;
  std::optional<FeedPosition> feed_position_;
  // The latest generation that lacks an input the engine has (a write failed after the input
  // took effect) or ends in a torn record: inputs are refused until a snapshot of a later
  // generation holds the engine's state.
  std::optional<uint64_t> lost_write_generation_;

  std::mutex sync_mutex_;
  std::condition_variable synced_;
  uint64_t synced_position_ = 0;
  bool syncing_ = false;

  std::mutex compaction_mutex_;  // one compaction at a time

  std::mutex background_mutex_;
  std::condition_variable background_wake_;
  bool compaction_due_ = false;
  std::chrono::steady_clock::time_point compaction_not_before_;
  bool stopping_ = false;
  std::thread background_;
};

}  // namespace timing_sidecar
