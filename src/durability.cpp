#include "timing_sidecar/durability.hpp"

#include <fcntl.h>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iterator>
#include <map>

#include "timing_sidecar/log.hpp"

namespace timing_sidecar {

namespace {

constexpr std::string_view kJournalPrefix = "journal-";
constexpr std::string_view kJournalSuffix = ".log";
constexpr std::chrono::seconds kCompactionRetry{5};
constexpr std::chrono::milliseconds kInputsTurn{1};

thread_local const JournalClock* pinned_clock = nullptr;
thread_local int64_t pinned_ms = 0;

// Journal files by generation.
std::map<uint64_t, std::string> journals_in(const std::string& dir) {
  std::map<uint64_t, std::string> journals;
  for (const auto& file : std::filesystem::directory_iterator(dir)) {
    const std::string name = file.path().filename().string();
    if (name.size() <= kJournalPrefix.size() + kJournalSuffix.size() ||
        name.compare(0, kJournalPrefix.size(), kJournalPrefix) != 0 ||
        name.compare(name.size() - kJournalSuffix.size(), kJournalSuffix.size(), kJournalSuffix) !=
            0) {
      continue;
    }
    const std::string digits = name.substr(
        kJournalPrefix.size(), name.size() - kJournalPrefix.size() - kJournalSuffix.size());
    if (digits.find_first_not_of("0123456789") != std::string::npos) continue;
    journals.emplace(std::stoull(digits), file.path().string());
  }
  return journals;
}

void remove_journals_before(const std::string& dir, uint64_t generation) {
  for (const auto& [journal_generation, path] : journals_in(dir)) {
    if (journal_generation >= generation) break;
    std::error_code ignored;  // left over, it is skipped and removed again next time
    std::filesystem::remove(path, ignored);
  }
}

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

int64_t JournalClock::now_ms() const {
  return pinned_clock == this ? pinned_ms : base_.now_ms();
}

JournalClock::Pin::Pin(const JournalClock& clock, int64_t at_ms)
    : previous_clock_(pinned_clock), previous_ms_(pinned_ms) {
  pinned_clock = &clock;
  pinned_ms = at_ms;
}

JournalClock::Pin::~Pin() {
  pinned_clock = previous_clock_;
  pinned_ms = previous_ms_;
}

struct Durability::Metrics {
  Metrics(prometheus::Registry& registry, const ConstantLabels& labels)
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

  prometheus::Counter& corrupt_records;
  prometheus::Counter& write_errors;
  prometheus::Gauge& journal_bytes;
  prometheus::Counter& snapshots;
};

Durability::Durability(const DurabilityConfig& config, Engine& engine, JournalClock& clock,
                       prometheus::Registry& registry)
    : config_(config),
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
  if (engine_.durability() == this) engine_.attach_durability(nullptr);
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

std::string Durability::journal_path(uint64_t generation) const {
  char name[64];
  std::snprintf(name, sizeof(name), "%s%020llu%s", kJournalPrefix.data(),
                static_cast<unsigned long long>(generation), kJournalSuffix.data());
  return config_.dir + "/" + name;
}

std::string Durability::snapshot_path() const {
  return config_.dir + "/snapshot";
}

void Durability::lock_directory() {
  const std::string path = config_.dir + "/lock";
  lock_fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_fd_ < 0) throw std::runtime_error("cannot open " + path + ": " + std::strerror(errno));
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    throw std::runtime_error("--state.dir " + config_.dir + " is in use by another process");
  }
}

RecoveryReport Durability::recover() {
  const auto started = std::chrono::steady_clock::now();
  std::error_code error;
  std::filesystem::create_directories(config_.dir, error);
  if (error) throw std::runtime_error("cannot create " + config_.dir + ": " + error.message());
  lock_directory();
  std::filesystem::remove(config_.dir + "/snapshot.tmp", error);

  RecoveryReport report;
  uint64_t first_generation = 1;
  if (std::filesystem::exists(snapshot_path())) {
    load_snapshot(report);
    first_generation = generation_;
  }
  replay_journals(first_generation, report);
  recovered_feed_position_ = feed_position_;

  if (report.damage) {
    metrics_->corrupt_records.Increment();
    log(LogLevel::kWarn, "journal damaged: recovered the inputs before the damage",
        {{"damage", *report.damage}});
    // New records must not follow the damage, where no recovery would reach them: a snapshot
    // of what was recovered replaces every journal.
    compact();
  } else {
    std::lock_guard lock(input_mutex_);
    start_generation_locked(generation_ + 1);
    remove_journals_before(config_.dir, first_generation);
  }
  metrics_->journal_bytes.Set(static_cast<double>(uncompacted_bytes_));
  engine_.attach_durability(this);
  background_ = std::thread([this] { run_background(); });

  const EngineStats stats = engine_.stats();
  report.topics = stats.topics;
  report.tombstones = stats.tombstones;
  report.pending = stats.pending;
  report.feed_position = recovered_feed_position_;
  report.duration = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - started);
  return report;
}

void Durability::load_snapshot(RecoveryReport& report) {
  const std::string path = snapshot_path();
  auto unusable = [&path](const std::string& why) {
    return std::runtime_error("cannot recover from " + path + ": " + why +
                              " (move the directory away to start without the state)");
  };
  const MappedFile file(path);
  RecordReader reader(file.bytes(), FileKind::kSnapshot);
  if (!reader.generation()) throw unusable(reader.damage()->reason);
  try {
    engine_.import_state(reader, [this](std::string_view topic, uint64_t position) {
      covered_until_.emplace(topic, position);
    });
  } catch (const std::exception& failure) {
    throw unusable(failure.what());
  }
  // After the engine's records, where the feed stood.
  while (std::optional<RecordView> record = reader.next()) {
    std::optional<JournalInput> input;
    if (record->type == RecordType::kFeedPosition)
      input = decode_input(record->type, record->payload);
    if (!input) throw unusable("unexpected record at byte " + std::to_string(record->offset));
    feed_position_ = std::get<FeedPosition>(*input);
  }
  if (const auto& damage = reader.damage()) {
    throw unusable(damage->reason + " at byte " + std::to_string(damage->offset));
  }
  report.snapshot_loaded = true;
  snapshot_bytes_ = file.bytes().size();
  generation_ = *reader.generation();
}

void Durability::replay_journals(uint64_t first_generation, RecoveryReport& report) {
  const std::map<uint64_t, std::string> journals = journals_in(config_.dir);
  if (!report.snapshot_loaded && !journals.empty() && journals.begin()->first != 1) {
    throw std::runtime_error("cannot recover from " + config_.dir + ": the journal begins at " +
                             journals.begin()->second +
                             " but the snapshot before it is missing (move the directory away "
                             "to start without the state)");
  }
  // New journals go after every one on disk, replayed or not.
  generation_ = std::max(first_generation - 1, journals.empty() ? 0 : journals.rbegin()->first);
  uint64_t expected = first_generation;
  for (const auto& [generation, path] : journals) {
    if (generation < first_generation) continue;  // the snapshot holds it
    if (generation != expected) {
      report.damage = path + ": generation " + std::to_string(expected) + " before it is missing";
      break;
    }
    ++expected;
    const MappedFile file(path);
    RecordReader reader(file.bytes(), FileKind::kJournal);
    uncompacted_bytes_ += file.bytes().size();
    if (reader.generation() && *reader.generation() != generation) {
      report.damage =
          path + " at byte 0: its header names generation " + std::to_string(*reader.generation());
      break;
    }
    while (std::optional<RecordView> record = reader.next()) {
      const std::optional<JournalInput> input = decode_input(record->type, record->payload);
      if (!input) {
        reader.reject(*record, "a record that cannot be decoded");
        break;
      }
      try {
        replay(*input, record->offset);
      } catch (const std::exception& failure) {
        // Applying it live failed the same way, after the record was written.
        log(LogLevel::kWarn, "a journaled input failed again when replayed",
            {{"journal", path},
             {"offset", std::to_string(record->offset)},
             {"error", failure.what()}});
      }
      ++report.journal_records;
    }
    covered_until_.clear();  // the snapshot covers part of its first generation only
    if (const auto& damage = reader.damage()) {
      report.damage = path + " at byte " + std::to_string(damage->offset) + ": " + damage->reason;
      break;
    }
  }
  covered_until_.clear();
}

void Durability::replay(const JournalInput& input, uint64_t offset) {
  // A topic whose shard the snapshot wrote after this record was applied already reflects it.
  auto fresh = [this, offset](const std::string& topic) {
    const auto covered = covered_until_.find(topic);
    return covered == covered_until_.end() || offset >= covered->second;
  };
  if (const auto* batch = std::get_if<EventsInput>(&input)) {
    const JournalClock::Pin pin(clock_, batch->applied_at_ms);
    if (covered_until_.empty()) {
      engine_.apply(batch->events, batch->source);
    } else {
      std::vector<Event> events;
      std::copy_if(batch->events.begin(), batch->events.end(), std::back_inserter(events),
                   [&](const Event& event) { return fresh(event.topic); });
      engine_.apply(events, batch->source);
    }
    if (batch->feed_position) feed_position_ = batch->feed_position;
  } else if (const auto* listed = std::get_if<ListInput>(&input)) {
    const JournalClock::Pin pin(clock_, listed->applied_at_ms);
    TopicList list{listed->list.stamp, {}};
    std::copy_if(listed->list.topics.begin(), listed->list.topics.end(),
                 std::back_inserter(list.topics),
                 [&](const ListedTopic& topic) { return fresh(topic.name); });
    std::vector<std::string> condemned;
    std::copy_if(listed->condemned.begin(), listed->condemned.end(), std::back_inserter(condemned),
                 fresh);
    std::lock_guard lock(engine_.list_mutex());
    engine_.admit_list(list);  // numbers the list as it was numbered live, whatever it names
    engine_.condemn(condemned, list.stamp);
    if (listed->adopted_counts) {
      engine_.adopt_broker_counts(list.topics, CountMode::kAdoptAfterGap,
                                  list.stamp.requested_at_ms);
    }
    // Live, the condemned topics' series went at the next scrape or sweep; at once here, so
    // that a topic revived later starts from zero, as it did after that scrape.
    if (!condemned.empty()) engine_.reconcile();
  } else {
    feed_position_ = std::get<FeedPosition>(input);
  }
}

ApplyResult Durability::apply(const std::vector<Event>& events, EventSource source,
                              const std::optional<FeedPosition>& feed_position) {
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
    result = engine_.apply(events, source);
  }
  if (config_.sync == StateSync::kAlways) wait_synced(position);
  return result;
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

void Durability::append_locked(RecordType type, const std::string& payload) {
  try {
    journal_->append(type, payload);
  } catch (const JournalError&) {
    metrics_->write_errors.Increment();
    if (journal_->broken()) {
      // A torn record stays at its end: nothing may follow it until a snapshot replaces it.
      lost_write_generation_ = generation_;
      request_compaction();
    }
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
  auto next =
      std::make_shared<RecordWriter>(journal_path(generation), FileKind::kJournal, generation);
  next->sync();
  sync_directory(config_.dir);
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

void Durability::compact() {
  std::lock_guard compaction(compaction_mutex_);
  const std::string temp_path = config_.dir + "/snapshot.tmp";
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
    if (::rename(temp_path.c_str(), snapshot_path().c_str()) != 0) {
      throw JournalError("cannot rename " + temp_path + ": " + std::strerror(errno));
    }
    sync_directory(config_.dir);
  } catch (const std::exception&) {
    metrics_->write_errors.Increment();
    std::filesystem::remove(temp_path, ignored);
    std::lock_guard inputs(input_mutex_);
    uncompacted_bytes_ += covered_bytes;
    throw;
  }
  remove_journals_before(config_.dir, generation);
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

ListJournalScope::ListJournalScope(Durability* durability) : durability_(durability) {
  if (durability_ == nullptr) return;
  lock_ = std::unique_lock(durability_->input_mutex_);
  at_ms_ = durability_->clock_.now_ms();
  pin_.emplace(durability_->clock_, at_ms_);
}

void ListJournalScope::commit(const TopicList& list, const std::vector<std::string>& condemned,
                              bool adopted_counts) {
  if (durability_ == nullptr) return;
  std::string payload;
  encode_list(at_ms_, list, condemned, adopted_counts, payload);
  try {
    durability_->append_locked(RecordType::kList, payload);
  } catch (const JournalError& error) {
    durability_->lost_write_generation_ = durability_->generation_;
    durability_->request_compaction();
    log(LogLevel::kError,
        "cannot journal a topic list that took effect: inputs are refused until a snapshot holds "
        "the state",
        {{"error", error.what()}});
  }
}

}  // namespace timing_sidecar
