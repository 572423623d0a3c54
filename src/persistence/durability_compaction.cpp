// Durability's compaction: a snapshot written shard by shard while inputs go on, then the
// journals it covers deleted; and the background thread that runs it and, with
// --state.sync=interval, the periodic sync (durability.hpp).

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <thread>
#include <utility>

#include "durability_metrics.hpp"
#include "timing_sidecar/durability.hpp"
#include "timing_sidecar/log.hpp"

namespace timing_sidecar {

namespace {

constexpr std::chrono::seconds kCompactionRetry{5};
constexpr std::chrono::milliseconds kInputsTurn{1};

}  // namespace

void Durability::compact() {
  std::lock_guard compaction(compaction_mutex_);
  const std::string temp_path = directory_.snapshot_temp_path();
  std::error_code ignored;
  std::filesystem::remove(temp_path, ignored);
  uint64_t generation = 0;
  uint64_t covered_bytes = 0;
  uint64_t snapshot_bytes = 0;
  try {
    std::unique_ptr<RecordWriter> snapshot;
    std::optional<FeedPosition> feed_position;
    {
      std::lock_guard lists(engine_.list_mutex());
      std::lock_guard inputs(input_mutex_);
      start_generation_locked(generation_ + 1);
      generation = generation_;
      covered_bytes = std::exchange(uncompacted_bytes_, 0);
      feed_position = feed_position_;
      snapshot = std::make_unique<RecordWriter>(temp_path, FileKind::kSnapshot, generation);
      engine_.export_header(*snapshot);
    }
    // Inputs wait for one shard at a time, not for the whole state. Each shard is written at
    // the offset the new journal has reached: recovery skips, for its topics, what came before.
    for (size_t shard = 0; shard < Engine::shard_count(); ++shard) {
      {
        std::lock_guard inputs(input_mutex_);
        engine_.export_shard(shard, journal_->size(), *snapshot);
      }
      // A mutex does not queue: the inputs its unlock woke would lose the race to the next
      // lock. A pause lets them go first.
      std::this_thread::sleep_for(kInputsTurn);
    }
    if (feed_position) {
      std::string payload;
      encode_feed_position(*feed_position, payload);
      snapshot->append(RecordType::kFeedPosition, payload);
    }
    snapshot->sync();
    snapshot_bytes = snapshot->size();
    snapshot.reset();
    if (::rename(temp_path.c_str(), directory_.snapshot_path().c_str()) != 0) {
      throw JournalError("cannot rename " + temp_path + ": " + std::strerror(errno));
    }
    sync_directory(directory_.path());
  } catch (const std::exception&) {
    metrics_->write_errors.Increment();
    std::filesystem::remove(temp_path, ignored);
    std::lock_guard inputs(input_mutex_);
    uncompacted_bytes_ += covered_bytes;
    throw;
  }
  directory_.remove_journals_before(generation);
  metrics_->snapshots.Increment();
  std::lock_guard inputs(input_mutex_);
  snapshot_bytes_ = snapshot_bytes;
  if (lost_write_generation_ && *lost_write_generation_ < generation) {
    lost_write_generation_.reset();
    log(LogLevel::kInfo, "journal repaired: a snapshot holds the state, inputs are accepted again");
  }
}

void Durability::request_compaction() {
  {
    std::lock_guard lock(background_mutex_);
    compaction_due_ = true;
  }
  background_wake_.notify_all();
}

void Durability::run_background() {
  using Clock = std::chrono::steady_clock;
  Clock::time_point next_sync = Clock::now() + kSyncInterval;
  std::unique_lock lock(background_mutex_);
  while (!stopping_) {
    Clock::time_point wake_at = Clock::now() + std::chrono::hours(1);
    if (config_.sync == StateSync::kInterval) wake_at = next_sync;
    if (compaction_due_) wake_at = std::min(wake_at, compaction_not_before_);
    background_wake_.wait_until(lock, wake_at);
    if (stopping_) break;
    const Clock::time_point now = Clock::now();
    const bool sync_now = config_.sync == StateSync::kInterval && now >= next_sync;
    const bool compact_now = compaction_due_ && now >= compaction_not_before_;
    if (compact_now) compaction_due_ = false;
    lock.unlock();
    if (sync_now) {
      sync_appended();
      next_sync = now + kSyncInterval;
    }
    bool compaction_failed = false;
    if (compact_now) {
      try {
        compact();
      } catch (const std::exception& failure) {
        compaction_failed = true;
        log(LogLevel::kError, "cannot write a snapshot: retrying",
            {{"error", failure.what()},
             {"retry_in", format_duration(kCompactionRetry.count() * 1000)}});
      }
    }
    lock.lock();
    if (compaction_failed) {
      compaction_due_ = true;
      compaction_not_before_ = Clock::now() + kCompactionRetry;
    }
  }
}

}  // namespace timing_sidecar
