// Durability's ingest and group commit: each input journaled and applied as one step, and the
// fdatasyncs that make it survive a crash of the machine. Recovery and compaction have their own
// files (durability_recovery.cpp, durability_compaction.cpp).

#include "timing_sidecar/durability.hpp"

#include <algorithm>
#include <cstdlib>

#include "durability_metrics.hpp"
#include "timing_sidecar/log.hpp"

namespace timing_sidecar {

namespace {

// After a failed fdatasync the kernel may have dropped the pages it could not write, and a retry
// would report success: only a restart, replaying what is on disk, is safe.
[[noreturn]] void abort_on_sync_failure(const JournalError& error) {
  log(LogLevel::kError, "cannot sync the journal: stopping, to recover from what is on disk",
      {{"error", error.what()}});
  std::abort();
}

}  // namespace

DurabilityConfig durability_config(const Config& config) {
  return {config.state_dir, config.state_sync, config.state_compact_bytes};
}

Durability::Metrics::Metrics(prometheus::Registry& registry, const ConstantLabels& labels)
    : corrupt_records(prometheus::BuildCounter()
                          .Name("timing_sidecar_journal_corrupt_records_total")
                          .Help("Damaged or torn journal records found at recovery; what "
                                "follows the first is not replayed.")
                          .Labels(constant_labels(labels))
                          .Register(registry)
                          .Add({})),
      write_errors(prometheus::BuildCounter()
                       .Name("timing_sidecar_journal_write_errors_total")
                       .Help("Journal and snapshot writes that failed.")
                       .Labels(constant_labels(labels))
                       .Register(registry)
                       .Add({})),
      journal_bytes(prometheus::BuildGauge()
                        .Name("timing_sidecar_journal_bytes")
                        .Help("Journal a recovery would replay after the snapshot.")
                        .Labels(constant_labels(labels))
                        .Register(registry)
                        .Add({})),
      snapshots(prometheus::BuildCounter()
                    .Name("timing_sidecar_snapshots_total")
                    .Help("Snapshots written, each replacing the journal before it.")
                    .Labels(constant_labels(labels))
                    .Register(registry)
                    .Add({})) {}

Durability::Durability(const DurabilityConfig& config, Engine& engine, JournalClock& clock,
                       prometheus::Registry& registry)
    : config_(config),
      directory_(config.dir),
      engine_(engine),
      clock_(clock),
      metrics_(std::make_unique<Metrics>(registry, engine.config().labels)) {}

Durability::~Durability() {
  {
    std::lock_guard lock(background_mutex_);
    stopping_ = true;
  }
  background_wake_.notify_all();
  if (background_.joinable()) background_.join();
  if (journal_) {
    try {
      journal_->sync();
    } catch (const JournalError& error) {
      log(LogLevel::kError, "cannot sync the journal at shutdown", {{"error", error.what()}});
    }
  }
}

ApplyResult Durability::log_events(const std::vector<Event>& events, EventSource source,
                                   const std::optional<FeedPosition>& feed_position,
                                   const std::function<ApplyResult()>& apply) {
  const int64_t at_ms = clock_.now_ms();
  std::string payload;
  encode_events(source, at_ms, feed_position, events, payload);
  uint64_t position;
  ApplyResult result;
  {
    std::lock_guard lock(input_mutex_);
    require_writable_locked();
    append_locked(RecordType::kEvents, payload);
    position = appended_;
    if (feed_position) feed_position_ = feed_position;
    const JournalClock::Pin pin(clock_, at_ms);
    result = apply();
  }
  if (config_.sync == StateSync::kAlways) wait_synced(position);
  return result;
}

void Durability::log_list(const TopicList& list, const std::function<ListEffects()>& apply) {
  // From the list's first effect to its record other inputs wait and this thread's clock is
  // pinned, so that replay repeats the same effects in the same order at the same time.
  std::lock_guard lock(input_mutex_);
  const int64_t at_ms = clock_.now_ms();
  const JournalClock::Pin pin(clock_, at_ms);
  const ListEffects effects = apply();
  std::string payload;
  encode_list(at_ms, list, effects.condemned, effects.adopted_counts, payload);
  try {
    append_locked(RecordType::kList, payload);
  } catch (const JournalError& error) {
    refuse_inputs_until_snapshot_locked();
    log(LogLevel::kError,
        "cannot journal a topic list that took effect: inputs are refused until a snapshot holds "
        "the state",
        {{"error", error.what()}});
  }
}

void Durability::record_feed_position(const FeedPosition& position) {
  std::string payload;
  encode_feed_position(position, payload);
  std::lock_guard lock(input_mutex_);
  require_writable_locked();
  append_locked(RecordType::kFeedPosition, payload);
  feed_position_ = position;
}

void Durability::require_writable_locked() const {
  if (lost_write_generation_) {
    throw JournalError(
        "the journal lost a write and waits for a snapshot to hold the state: retry later");
  }
}

void Durability::refuse_inputs_until_snapshot_locked() {
  lost_write_generation_ = generation_;
  request_compaction();
}

void Durability::append_locked(RecordType type, const std::string& payload) {
  try {
    journal_->append(type, payload);
  } catch (const JournalError&) {
    metrics_->write_errors.Increment();
    // A torn record stays at its end: nothing may follow it until a snapshot replaces it.
    if (journal_->broken()) refuse_inputs_until_snapshot_locked();
    throw;
  }
  const uint64_t bytes = kRecordHeaderBytes + payload.size();
  appended_ += bytes;
  uncompacted_bytes_ += bytes;
  metrics_->journal_bytes.Set(static_cast<double>(uncompacted_bytes_));
  if (uncompacted_bytes_ >= std::max<uint64_t>(config_.compact_bytes, snapshot_bytes_)) {
    request_compaction();
  }
}

void Durability::start_generation_locked(uint64_t generation) {
  auto next = std::make_shared<RecordWriter>(directory_.journal_path(generation),
                                             FileKind::kJournal, generation);
  next->sync();
  sync_directory(directory_.path());
  if (journal_) {
    // Everything in the old generation is on disk before the new one takes a record: the
    // generations then form one prefix of the inputs, whatever a crash leaves.
    try {
      journal_->sync();
    } catch (const JournalError& error) {
      abort_on_sync_failure(error);
    }
    std::lock_guard lock(sync_mutex_);
    synced_position_ = std::max(synced_position_, appended_);
    synced_.notify_all();
  }
  journal_ = std::move(next);
  generation_ = generation;
}

void Durability::sync_appended() {
  uint64_t position;
  {
    std::lock_guard lock(input_mutex_);
    position = appended_;
  }
  wait_synced(position);
}

void Durability::wait_synced(uint64_t position) {
  std::unique_lock lock(sync_mutex_);
  while (synced_position_ < position) {
    if (syncing_) {
      synced_.wait(lock);
      continue;
    }
    // One caller syncs for all: one fdatasync covers every record written before it.
    syncing_ = true;
    lock.unlock();
    std::shared_ptr<RecordWriter> journal;
    uint64_t covered;
    {
      std::lock_guard inputs(input_mutex_);
      journal = journal_;
      covered = appended_;
    }
    try {
      journal->sync();
    } catch (const JournalError& error) {
      abort_on_sync_failure(error);
    }
    lock.lock();
    syncing_ = false;
    synced_position_ = std::max(synced_position_, covered);
    synced_.notify_all();
  }
}

}  // namespace timing_sidecar
