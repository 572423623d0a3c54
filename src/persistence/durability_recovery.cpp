// Durability's recovery: the snapshot, then the journal generations after it, replayed through
// the same engine calls as live, with the clock pinned to each record's time (durability.hpp).

#include <algorithm>
#include <filesystem>
#include <iterator>
#include <map>

#include "durability_metrics.hpp"
#include "timing_sidecar/durability.hpp"
#include "timing_sidecar/log.hpp"

namespace timing_sidecar {

RecoveryReport Durability::recover() {
  const auto started = std::chrono::steady_clock::now();
  directory_.lock();
  std::error_code ignored;
  std::filesystem::remove(directory_.snapshot_temp_path(), ignored);

  RecoveryReport report;
  uint64_t first_generation = 1;
  if (std::filesystem::exists(directory_.snapshot_path())) {
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
    directory_.remove_journals_before(first_generation);
  }
  metrics_->journal_bytes.Set(static_cast<double>(uncompacted_bytes_));
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
  const std::string path = directory_.snapshot_path();
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
  const std::map<uint64_t, std::string> journals = directory_.journals();
  if (!report.snapshot_loaded && !journals.empty() && journals.begin()->first != 1) {
    throw std::runtime_error("cannot recover from " + directory_.path() +
                             ": the journal begins at " + journals.begin()->second +
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

}  // namespace timing_sidecar
