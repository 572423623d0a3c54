#include "timing_sidecar/durability.hpp"

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <thread>

#include "integration/process.hpp"
#include "support/events.hpp"
#include "support/metrics_text.hpp"
#include "timing_sidecar/reconciler.hpp"
#include "timing_sidecar/sidecar.hpp"

using namespace timing_sidecar;
using test_support::read_file;
using test_support::TempDir;
using timing_sidecar::testing::make_event;
using timing_sidecar::testing::parse_exposition;

namespace {

constexpr int64_t kStart = 1'800'000'000'000;
// Large enough that only the tests' own compact() calls write snapshots.
constexpr int64_t kNoAutomaticCompaction = int64_t{1} << 40;

Config config_for(const std::string& dir, StateSync sync, int64_t compact_bytes) {
  Config config;
  config.state_dir = dir;
  config.state_sync = sync;
  config.state_compact_bytes = compact_bytes;
  return config;
}

// Each reading is a millisecond later, as on a busy sidecar: an input that read the clock twice
// would see two times, and only one of them is journaled.
class MovingClock final : public Clock {
 public:
  explicit MovingClock(int64_t start_ms) : now_(start_ms) {}
  int64_t now_ms() const override { return now_.fetch_add(1); }
  void set(int64_t ms) { now_.store(ms); }

 private:
  mutable std::atomic<int64_t> now_;
};

// A sidecar as main wires it, recovered from `dir` with its clock at `now_ms`.
struct Instance {
  Instance(const std::string& dir, int64_t now_ms, StateSync sync = StateSync::kInterval,
           int64_t compact_bytes = kNoAutomaticCompaction)
      : config(config_for(dir, sync, compact_bytes)),
        base(now_ms),
        clock(base),
        sidecar(config, clock),
        durability(durability_config(config), sidecar.engine(), clock,
                   sidecar.metrics().registry()),
        report(durability.recover()) {
    sidecar.attach_input_log(&durability);
  }

  Engine& engine() { return sidecar.engine(); }
  ApplyResult apply(const std::vector<Event>& events) {
    return sidecar.apply(events, EventSource::kWebhook);
  }

  Config config;
  MovingClock base;
  JournalClock clock;
  Sidecar sidecar;
  Durability durability;
  RecoveryReport report;
};

// What a crash of the process leaves: the files as written so far.
void copy_state(const std::string& from, const std::string& to) {
  std::filesystem::copy(from, to, std::filesystem::copy_options::recursive);
}

std::string engine_metrics(Engine& engine) {
  std::string text;
  engine.write_metrics(text);
  return text;
}

std::string describe(const std::vector<TopicSummary>& topics) {
  std::string text;
  for (const TopicSummary& topic : topics) {
    text += topic.name + " pending=" + std::to_string(topic.pending) +
            " due=" + std::to_string(topic.due) + " overdue=" + std::to_string(topic.overdue) +
            " enqueued=" + std::to_string(topic.enqueued) +
            " dequeued=" + std::to_string(topic.dequeued) + "\n";
  }
  return text;
}

bool same_topics(const std::vector<TopicSummary>& a, const std::vector<TopicSummary>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].name != b[i].name || a[i].pending != b[i].pending || a[i].due != b[i].due ||
        a[i].overdue != b[i].overdue || a[i].enqueued != b[i].enqueued ||
        a[i].dequeued != b[i].dequeued) {
      return false;
    }
  }
  return true;
}

std::string hex(std::string_view bytes) {
  std::string text;
  for (const char c : bytes) {
    text += "0123456789abcdef"[static_cast<uint8_t>(c) >> 4];
    text += "0123456789abcdef"[static_cast<uint8_t>(c) & 15];
  }
  return text;
}

std::string optional_text(const std::optional<int64_t>& value) {
  return value ? std::to_string(*value) : "-";
}

// Everything the engine saves, read back by a reader of its own (the format is documented in
// engine_snapshot.cpp) and sorted: the catalog with every revision and time, the series' counters
// and each pending message's id and delivery time.
std::vector<std::string> saved_state(Engine& engine, const std::string& path) {
  {
    RecordWriter out(path, FileKind::kSnapshot, 1);
    std::lock_guard lock(engine.list_mutex());
    engine.export_header(out);
    for (size_t shard = 0; shard < Engine::shard_count(); ++shard)
      engine.export_shard(shard, 0, out);
  }
  const std::string bytes = read_file(path);
  std::filesystem::remove(path);
  RecordReader reader(bytes, FileKind::kSnapshot);
  std::vector<std::string> series_names;
  std::vector<std::string> items;
  while (std::optional<RecordView> record = reader.next()) {
    PayloadReader in(record->payload);
    if (record->type == RecordType::kEngineState) {
      items.push_back("list_epoch " + std::to_string(in.u32()));
      continue;
    }
    if (record->type == RecordType::kShardStart) series_names.clear();  // numbered per shard
    if (record->type == RecordType::kShardStart || record->type == RecordType::kShardEnd) continue;
    // One field per statement: the operands of + are read in no fixed order.
    for (uint32_t count = in.u32(); count > 0; --count) {
      std::string item;
      auto field = [&item](const std::string& text) { item += " " + text; };
      if (record->type == RecordType::kCatalogEntries) {
        item = "entry";
        field(std::string(in.text()));
        field("live=" + std::to_string(in.u8()));
        for (int revision = 0; revision < 3; ++revision) field(optional_text(in.optional_i64()));
        field(std::to_string(in.i64()));
        field(std::to_string(in.i64()));
        field("epoch=" + std::to_string(in.u32()));
      } else if (record->type == RecordType::kSeries) {
        item = "series";
        series_names.emplace_back(in.text());
        field(series_names.back());
        field(std::to_string(in.u64()));
        field(std::to_string(in.u64()));
        field(std::to_string(in.i64()));
        field(std::to_string(in.u8()));
      } else {
        REQUIRE(record->type == RecordType::kPendingMessages);
        item = "pending";
        const uint32_t number = in.u32();
        REQUIRE(number < series_names.size());
        field(series_names[number]);
        const uint8_t form = in.u8();
        field(std::to_string(form));
        field(hex(form == 0 ? in.raw(in.u8()) : in.raw(16)));
        field(std::to_string(in.i64()));
      }
      REQUIRE(in.ok());
      items.push_back(item);
    }
  }
  REQUIRE_FALSE(reader.damage());
  std::sort(items.begin(), items.end());
  return items;
}

// The same state as a scrape at the same time shows it, tombstones included. The time moves on
// to a tick of the timers: between ticks, a message the scheduler holds since before the crash
// changes phase at the next tick, one it took in at recovery already has its phase at now.
void check_same_state(Instance& original, Instance& recovered, int64_t& now_ms) {
  const int64_t precision_ms = original.engine().config().scheduler.precision_ms;
  now_ms = (now_ms / precision_ms + 1) * precision_ms;
  for (Instance* instance : {&original, &recovered}) {
    instance->base.set(now_ms);
    instance->engine().reconcile();
    instance->engine().advance_timers();
  }
  CHECK(describe(original.engine().topics()) == describe(recovered.engine().topics()));
  // Series come in slot order, which a recovery need not repeat: compared as samples.
  CHECK(parse_exposition(engine_metrics(original.engine())).samples ==
        parse_exposition(engine_metrics(recovered.engine())).samples);
  const EngineStats a = original.engine().stats();
  const EngineStats b = recovered.engine().stats();
  CHECK(a.topics == b.topics);
  CHECK(a.tombstones == b.tombstones);
  CHECK(a.pending == b.pending);
  CHECK(a.incomplete == b.incomplete);
  CHECK(saved_state(original.engine(), original.config.state_dir + ".export") ==
        saved_state(recovered.engine(), recovered.config.state_dir + ".export"));
}

// Random inputs over a few topics: events with and without revisions (some stale), message ids
// of every form the scheduler stores, delivery times in every range, and authoritative lists
// that create, revive, condemn and adopt counts.
class InputGenerator {
 public:
  explicit InputGenerator(uint64_t seed) : random_(seed) {}

  std::vector<Event> batch(int64_t now_ms) {
    std::vector<Event> events;
    for (int count = pick(1, 6); count > 0; --count) {
      const std::string topic = topic_name();
      const std::optional<int64_t> revision = maybe_revision();
      switch (pick(0, 9)) {
        case 0:
          events.push_back(make_event(EventType::kTopicCreated, topic, "", 0, revision));
          break;
        case 1:
          events.push_back(make_event(EventType::kTopicDeleted, topic, "", 0, revision));
          break;
        case 2:
        case 3:
          events.push_back(make_event(EventType::kTimerDequeued, topic, message_id(), 0, revision));
          break;
        case 4:
          events.push_back(
              make_event(EventType::kTimerCancelled, topic, message_id(), 0, revision));
          break;
        default:
          events.push_back(make_event(EventType::kTimerEnqueued, topic, message_id(),
                                      delivery(now_ms), revision));
      }
    }
    return events;
  }

  TopicList list(int64_t now_ms) {
    TopicList list;
    list.stamp.requested_at_ms = now_ms - pick(0, 5'000);
    if (pick(0, 1) == 0) list.stamp.revision = revision_ - pick(0, 3);
    for (int topic = 0; topic < kTopics; ++topic) {
      if (pick(0, 3) == 0) continue;
      ListedTopic listed{"topic-" + std::to_string(topic), std::nullopt};
      if (pick(0, 2) == 0) listed.timing = pick(0, 20);
      list.topics.push_back(listed);
    }
    return list;
  }

  int pick(int low, int high) { return std::uniform_int_distribution<int>(low, high)(random_); }

 private:
  static constexpr int kTopics = 10;

  std::string topic_name() { return "topic-" + std::to_string(pick(0, kTopics - 1)); }

  std::optional<int64_t> maybe_revision() {
    if (pick(0, 2) == 0) return std::nullopt;
    revision_ += pick(0, 3);
    return revision_ - pick(0, 1) * pick(0, 10);  // now and then a stale one
  }

  std::string message_id() {
    const int n = pick(0, 40);
    static constexpr const char* kUpper = "0123456789ABCDEF";
    static constexpr const char* kLower = "0123456789abcdef";
    std::string id;
    switch (n % 5) {
      case 0:  // upper-case hex, RocketMQ's
        for (int i = 0; i < 32; ++i) id += kUpper[(n * 7 + i * 3) % 16];
        break;
      case 1:
        for (int i = 0; i < 32; ++i) id += kLower[(n * 5 + i) % 16];
        break;
      case 2:  // 32 characters, but mixed case: kept as text
        for (int i = 0; i < 32; ++i) id += (i % 2 == 0 ? kUpper : kLower)[(n + i) % 6 + 10];
        break;
      case 3:
        id = "m" + std::to_string(n);
        break;
      default:
        id = std::string(17 + 2 * n, static_cast<char>('a' + n % 26));  // held out of line
    }
    return id;
  }

  int64_t delivery(int64_t now_ms) {
    static constexpr int64_t kOffsets[] = {-20'000,    -3'000,     2'000,     30'000,
                                           200'000,    1'000'000,  7'200'000, 20'000'000,
                                           50'000'000, 100'000'000};
    return now_ms + kOffsets[pick(0, 9)] + pick(0, 999);
  }

  std::mt19937_64 random_;
  int64_t revision_ = 100;
};

}  // namespace

TEST_CASE("durability: a sidecar recovered after a crash equals the one that crashed",
          "[durability]") {
  for (uint64_t seed = 1; seed <= 12; ++seed) {
    INFO("seed " << seed);
    TempDir dir("durability-test");
    const std::string live_dir = dir.file("live");
    InputGenerator inputs(seed);
    int64_t now_ms = kStart;
    Instance original(live_dir, now_ms);
    ListReconciler lists(original.sidecar, 0.5, "test");
    const int steps = 150 + inputs.pick(0, 150);
    const int crash_at = inputs.pick(steps / 2, steps);
    for (int step = 0; step < crash_at; ++step) {
      now_ms += inputs.pick(0, 3'000);
      original.base.set(now_ms);
      if (inputs.pick(0, 9) == 0) {
        lists.apply(inputs.list(now_ms), inputs.pick(0, 2) == 0);
        original.sidecar.scrape();  // reconciles, as the next scrape or sweep does live
      } else {
        original.apply(inputs.batch(now_ms));
      }
      if (inputs.pick(0, 60) == 0) original.durability.compact();
      if (step % 25 == 0) original.engine().advance_timers();
    }
    copy_state(live_dir, dir.file("crashed"));

    Instance recovered(dir.file("crashed"), now_ms);
    CHECK_FALSE(recovered.report.damage);
    check_same_state(original, recovered, now_ms);

    // What the catalog remembers (tombstones, revisions, list epochs, first-seen times) decides
    // what later inputs do: both must answer them alike.
    ListReconciler original_lists(original.sidecar, 1.0, "test");
    ListReconciler recovered_lists(recovered.sidecar, 1.0, "test");
    for (int step = 0; step < 100; ++step) {
      now_ms += inputs.pick(0, 3'000);
      original.base.set(now_ms);
      recovered.base.set(now_ms);
      if (inputs.pick(0, 9) == 0) {
        const TopicList list = inputs.list(now_ms);
        const bool adopt = inputs.pick(0, 2) == 0;
        const ListOutcome a = original_lists.apply(list, adopt);
        const ListOutcome b = recovered_lists.apply(list, adopt);
        CHECK(a.created == b.created);
        CHECK(a.revived == b.revived);
        CHECK(a.dropped == b.dropped);
      } else {
        const std::vector<Event> batch = inputs.batch(now_ms);
        const ApplyResult a = original.apply(batch);
        const ApplyResult b = recovered.apply(batch);
        CHECK(a.accepted == b.accepted);
        CHECK(a.ignored == b.ignored);
      }
    }
    check_same_state(original, recovered, now_ms);
  }
}

TEST_CASE("durability: counters and tombstones survive a clean restart", "[durability]") {
  TempDir dir("durability-test");
  for (const bool compacted : {false, true}) {
    INFO((compacted ? "from a snapshot" : "from the journal"));
    const std::string state = dir.file(compacted ? "compacted" : "journal");
    {
      Instance first(state, kStart, StateSync::kAlways);
      first.apply({make_event(EventType::kTimerEnqueued, "kept", "a", kStart + 60'000),
                   make_event(EventType::kTimerEnqueued, "kept", "b", kStart + 60'000),
                   make_event(EventType::kTimerDequeued, "kept", "a"),
                   make_event(EventType::kTimerEnqueued, "gone", "c", kStart + 60'000),
                   make_event(EventType::kTopicDeleted, "gone")});
      if (compacted) first.durability.compact();
    }
    Instance second(state, kStart + 1'000);
    CHECK(second.report.snapshot_loaded == compacted);
    CHECK(second.report.journal_records == (compacted ? 0 : 1));
    CHECK(second.report.tombstones == 1);
    const auto metrics = parse_exposition(second.sidecar.scrape());
    // rate() sees the counters go on, not a reset.
    CHECK(metrics.value("rocketmq_timer_enqueue_total{topic=\"kept\"}") == 2);
    CHECK(metrics.value("rocketmq_timer_dequeue_total{topic=\"kept\"}") == 1);
    CHECK(metrics.value("rocketmq_timing_messages{topic=\"kept\"}") == 1);
    CHECK_FALSE(metrics.has("rocketmq_timing_messages{topic=\"gone\"}"));
    // The tombstone still turns RocketMQ's late events away.
    const ApplyResult late = second.apply({make_event(EventType::kTimerDequeued, "gone", "c")});
    CHECK(late.ignored == 1);
  }
}

TEST_CASE("durability: revisions a revisionless event left in place survive a restart",
          "[durability]") {
  TempDir dir("durability-test");
  for (const bool compacted : {false, true}) {
    INFO((compacted ? "from a snapshot" : "from the journal"));
    const std::string state = dir.file(compacted ? "compacted" : "journal");
    {
      Instance first(state, kStart, StateSync::kAlways);
      first.apply({make_event(EventType::kTopicCreated, "T", "", 0, 1500),
                   make_event(EventType::kTopicDeleted, "T", "", 0, 1559),
                   make_event(EventType::kTopicDeleted, "T"),
                   make_event(EventType::kTopicCreated, "U", "", 0, 1600),
                   make_event(EventType::kTopicDeleted, "U")});
      if (compacted) first.durability.compact();
    }
    Instance second(state, kStart + 1'000);
    // Both stale: T's deletion kept its revision, U's is newer than its creation.
    const ApplyResult stale =
        second.apply({make_event(EventType::kTopicCreated, "T", "", 0, 1558),
                      make_event(EventType::kTopicCreated, "U", "", 0, 1600)});
    CHECK(stale.ignored == 2);
    const auto metrics = parse_exposition(second.sidecar.scrape());
    CHECK_FALSE(metrics.has("rocketmq_timing_messages{topic=\"T\"}"));
    CHECK_FALSE(metrics.has("rocketmq_timing_messages{topic=\"U\"}"));
  }
}

TEST_CASE("durability: an expired tombstone is not resurrected by a restart", "[durability]") {
  TempDir dir("durability-test");
  for (const bool compacted : {false, true}) {
    INFO((compacted ? "from a snapshot" : "from the journal"));
    const std::string state = dir.file(compacted ? "compacted" : "journal");
    int64_t retention_ms = 0;
    {
      Instance first(state, kStart, StateSync::kAlways);
      retention_ms = first.config.tombstone_retention_ms;
      first.apply({make_event(EventType::kTimerEnqueued, "gone", "c", kStart + 60'000),
                   make_event(EventType::kTopicDeleted, "gone")});
      if (compacted) first.durability.compact();
    }
    const int64_t expired_at = kStart + retention_ms + 1'000;
    {
      Instance second(state, expired_at);
      CHECK(second.engine().forget_tombstones().expired == 1);
      CHECK(second.engine().stats().tombstones == 0);
      CHECK(second.engine().stats().names == 0);
    }
    // The journal (or snapshot) still holds the deletion: recovered, it is as expired as before.
    Instance third(state, expired_at + 1'000);
    const ApplyResult late = third.apply({make_event(EventType::kTimerDequeued, "gone", "c")});
    CHECK(late.accepted == 1);
    CHECK(third.engine().stats().tombstones == 0);
    CHECK(parse_exposition(third.sidecar.scrape())
              .has("rocketmq_timer_dequeue_total{topic=\"gone\"}"));
  }
}

TEST_CASE("durability: a torn journal tail recovers the inputs before it", "[durability]") {
  TempDir dir("durability-test");
  const std::string state = dir.file("state");
  std::vector<uint64_t> sizes;  // the journal's size after each batch
  std::string journal_path;
  {
    Instance first(state, kStart);
    for (int batch = 0; batch < 5; ++batch) {
      first.apply({make_event(EventType::kTimerEnqueued, "t" + std::to_string(batch), "m",
                              kStart + 60'000)});
      for (const auto& file : std::filesystem::directory_iterator(state)) {
        if (file.path().filename().string().rfind("journal-", 0) == 0) {
          journal_path = file.path().string();
        }
      }
      sizes.push_back(std::filesystem::file_size(journal_path));
    }
  }
  // Cut in the middle of the last record, as a crash during its write could leave it.
  const uint64_t cut = sizes[3] + (sizes[4] - sizes[3]) / 2;
  std::filesystem::resize_file(journal_path, cut);
  {
    Instance second(state, kStart);
    REQUIRE(second.report.damage);
    CHECK_THAT(*second.report.damage, Catch::Contains("at byte " + std::to_string(sizes[3])));
    CHECK(second.report.journal_records == 4);
    CHECK(second.engine().topics().size() == 4);
    CHECK(parse_exposition(second.sidecar.scrape())
              .value("timing_sidecar_journal_corrupt_records_total") == 1);
    // Inputs accepted after the damage must reach the next recovery.
    second.apply({make_event(EventType::kTimerEnqueued, "after", "m", kStart + 60'000)});
  }
  Instance third(state, kStart);
  CHECK_FALSE(third.report.damage);
  CHECK(third.engine().topics().size() == 5);
}

TEST_CASE("durability: a flipped byte recovers the inputs before the damaged record",
          "[durability]") {
  TempDir dir("durability-test");
  for (int damaged_batch = 0; damaged_batch < 4; ++damaged_batch) {
    INFO("damage in batch " << damaged_batch);
    const std::string state = dir.file("state-" + std::to_string(damaged_batch));
    std::vector<uint64_t> sizes;
    std::string journal_path;
    {
      Instance first(state, kStart);
      for (const auto& file : std::filesystem::directory_iterator(state)) {
        if (file.path().filename().string().rfind("journal-", 0) == 0) {
          journal_path = file.path().string();
        }
      }
      sizes.push_back(std::filesystem::file_size(journal_path));
      for (int batch = 0; batch < 4; ++batch) {
        first.apply({make_event(EventType::kTimerEnqueued, "t" + std::to_string(batch), "m",
                                kStart + 60'000)});
        sizes.push_back(std::filesystem::file_size(journal_path));
      }
    }
    std::string bytes = read_file(journal_path);
    const size_t position =
        sizes[damaged_batch] + (sizes[damaged_batch + 1] - sizes[damaged_batch]) / 2;
    bytes[position] = static_cast<char>(bytes[position] ^ 0x04);
    std::ofstream(journal_path, std::ios::binary | std::ios::trunc) << bytes;

    Instance second(state, kStart);
    REQUIRE(second.report.damage);
    CHECK_THAT(*second.report.damage,
               Catch::Contains("at byte " + std::to_string(sizes[damaged_batch])));
    CHECK(second.engine().topics().size() == static_cast<size_t>(damaged_batch));
  }
}

TEST_CASE("durability: every crash point of a compaction recovers every input", "[durability]") {
  TempDir dir("durability-test");
  const std::string live = dir.file("live");
  const std::string before = dir.file("before");  // snapshot 1 and the journal after it
  const std::string after = dir.file("after");    // snapshot 2 and the journal after it
  int64_t now_ms = kStart;
  InputGenerator inputs(99);
  Instance original(live, now_ms);
  auto feed = [&](int batches) {
    for (int i = 0; i < batches; ++i) {
      original.base.set(now_ms += 500);
      original.apply(inputs.batch(now_ms));
    }
  };
  feed(40);
  original.durability.compact();
  feed(40);
  copy_state(live, before);
  original.durability.compact();
  feed(40);
  copy_state(live, after);

  std::vector<std::string> old_journals;
  std::string new_journal;
  for (const auto& file : std::filesystem::directory_iterator(before)) {
    const std::string name = file.path().filename().string();
    if (name.rfind("journal-", 0) == 0) old_journals.push_back(name);
  }
  for (const auto& file : std::filesystem::directory_iterator(after)) {
    const std::string name = file.path().filename().string();
    if (name.rfind("journal-", 0) == 0) new_journal = name;
  }
  REQUIRE(old_journals.size() == 1);
  REQUIRE(new_journal != old_journals[0]);

  // Before the rename: the old snapshot, the old journal, the new journal with the inputs
  // that arrived meanwhile, and a snapshot.tmp cut short.
  const std::string before_rename = dir.file("before-rename");
  copy_state(before, before_rename);
  std::filesystem::copy(after + "/" + new_journal, before_rename + "/" + new_journal);
  const std::string full_snapshot = read_file(after + "/snapshot");
  std::ofstream(before_rename + "/snapshot.tmp", std::ios::binary)
      << full_snapshot.substr(0, full_snapshot.size() / 2);
  // After the rename, before the old journal is deleted.
  const std::string before_delete = dir.file("before-delete");
  copy_state(after, before_delete);
  std::filesystem::copy(before + "/" + old_journals[0], before_delete + "/" + old_journals[0]);

  for (const std::string& crashed : {before_rename, before_delete, after}) {
    INFO(crashed);
    Instance recovered(crashed, now_ms);
    CHECK_FALSE(recovered.report.damage);
    check_same_state(original, recovered, now_ms);
    CHECK_FALSE(std::filesystem::exists(crashed + "/snapshot.tmp"));
  }
}

TEST_CASE("durability: inputs that arrive while a snapshot is written are recovered once",
          "[durability]") {
  for (uint64_t seed = 1; seed <= 4; ++seed) {
    INFO("seed " << seed);
    TempDir dir("durability-test");
    const std::string live = dir.file("live");
    int64_t now_ms = kStart;
    Instance original(live, now_ms);
    // Enough pending messages that writing a shard takes a while.
    std::vector<Event> bulk;
    for (int message = 0; message < 200'000; ++message) {
      bulk.push_back(make_event(EventType::kTimerEnqueued, "topic-" + std::to_string(message % 10),
                                "bulk-" + std::to_string(message), kStart + 3'600'000 + message));
    }
    original.apply(bulk);
    std::atomic<bool> compacted{false};
    std::thread client([&] {
      InputGenerator inputs(seed);
      while (!compacted) original.apply(inputs.batch(kStart));
    });
    original.durability.compact();
    compacted = true;
    client.join();
    copy_state(live, dir.file("crashed"));

    // Inputs came in between the shards: they were written at different journal offsets.
    const std::string snapshot = read_file(live + "/snapshot");
    RecordReader reader(snapshot, FileKind::kSnapshot);
    std::set<uint64_t> offsets;
    while (std::optional<RecordView> record = reader.next()) {
      if (record->type == RecordType::kShardStart)
        offsets.insert(PayloadReader(record->payload).u64());
    }
    CHECK(offsets.size() > 1);

    Instance recovered(dir.file("crashed"), now_ms);
    check_same_state(original, recovered, now_ms);
  }
}

TEST_CASE("durability: batches journaled concurrently share syncs and all come back",
          "[durability]") {
  TempDir dir("durability-test");
  const std::string state = dir.file("state");
  constexpr int kClients = 4;
  constexpr int kBatches = 50;
  {
    Instance first(state, kStart, StateSync::kAlways);
    std::vector<std::thread> clients;
    for (int client = 0; client < kClients; ++client) {
      clients.emplace_back([&first, client] {
        for (int batch = 0; batch < kBatches; ++batch) {
          first.apply({make_event(EventType::kTimerEnqueued, "client-" + std::to_string(client),
                                  std::to_string(batch), kStart + 60'000)});
        }
      });
    }
    for (std::thread& client : clients) client.join();
  }
  Instance second(state, kStart);
  const std::vector<TopicSummary> topics = second.engine().topics();
  REQUIRE(topics.size() == kClients);
  for (const TopicSummary& topic : topics) CHECK(topic.pending == kBatches);
}

TEST_CASE("durability: the journal is compacted in the background past its size", "[durability]") {
  TempDir dir("durability-test");
  const std::string state = dir.file("state");
  InputGenerator inputs(7);
  std::vector<TopicSummary> expected;
  {
    Instance first(state, kStart, StateSync::kAlways, 4096);
    for (int batch = 0; batch < 200; ++batch) first.apply(inputs.batch(kStart));
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (parse_exposition(first.sidecar.scrape()).value("timing_sidecar_snapshots_total") < 1 &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    CHECK(parse_exposition(first.sidecar.scrape()).value("timing_sidecar_snapshots_total") >= 1);
    expected = first.engine().topics();
  }
  Instance second(state, kStart);
  CHECK(second.report.snapshot_loaded);
  CHECK(second.report.journal_records < 200);
  CHECK(same_topics(second.engine().topics(), expected));
}

TEST_CASE("durability: the feed position is recovered with the batch that reached it",
          "[durability]") {
  TempDir dir("durability-test");
  const std::string state = dir.file("state");
  {
    Instance first(state, kStart);
    CHECK_FALSE(first.durability.recovered_feed_position());
    first.sidecar.apply({make_event(EventType::kTopicCreated, "t", "", 0, 10)}, EventSource::kFeed,
                        FeedPosition{10, 0});
    first.durability.compact();
    first.sidecar.apply({make_event(EventType::kTopicCreated, "u", "", 0, 12)}, EventSource::kFeed,
                        FeedPosition{12, 0});
    first.durability.record_feed_position({20, 5});
  }
  Instance second(state, kStart);
  CHECK(second.durability.recovered_feed_position() ==
        std::optional<FeedPosition>(FeedPosition{20, 5}));
  CHECK(second.engine().topics().size() == 2);
  second.durability.compact();
  second.durability.record_feed_position({21, 5});  // not the recovered one: that stays
  CHECK(second.durability.recovered_feed_position() ==
        std::optional<FeedPosition>(FeedPosition{20, 5}));
}

TEST_CASE("durability: a state that cannot be trusted stops the start", "[durability]") {
  TempDir dir("durability-test");
  const std::string state = dir.file("state");
  {
    Instance first(state, kStart);
    first.apply({make_event(EventType::kTimerEnqueued, "t", "m", kStart + 60'000)});
    SECTION("another sidecar uses the directory") {
      CHECK_THROWS_WITH(Instance(state, kStart), Catch::Contains("in use by another process"));
    }
    first.durability.compact();
  }
  SECTION("a damaged snapshot") {
    std::string bytes = read_file(state + "/snapshot");
    bytes[bytes.size() - 3] = static_cast<char>(bytes[bytes.size() - 3] ^ 0x01);
    std::ofstream(state + "/snapshot", std::ios::binary | std::ios::trunc) << bytes;
    CHECK_THROWS_WITH(Instance(state, kStart), Catch::Contains("cannot recover from"));
  }
  SECTION("a missing snapshot") {
    std::filesystem::remove(state + "/snapshot");
    CHECK_THROWS_WITH(Instance(state, kStart), Catch::Contains("snapshot before it is missing"));
  }
}

TEST_CASE("durability: a pinned clock reads the pinned time on its own thread only",
          "[durability]") {
  ManualClock base(kStart);
  JournalClock clock(base);
  {
    const JournalClock::Pin pin(clock, 42);
    CHECK(clock.now_ms() == 42);
    int64_t elsewhere = 0;
    std::thread([&] { elsewhere = clock.now_ms(); }).join();
    CHECK(elsewhere == kStart);
    JournalClock other(base);
    CHECK(other.now_ms() == kStart);
  }
  CHECK(clock.now_ms() == kStart);
}

TEST_CASE("durability: the --state flags", "[durability]") {
  auto parse = [](std::vector<const char*> args) {
    args.insert(args.begin(), "timing-sidecar");
    return parse_config(static_cast<int>(args.size()), args.data());
  };
  const auto defaults = parse({});
  REQUIRE(std::holds_alternative<Config>(defaults));
  CHECK(std::get<Config>(defaults).state_dir.empty());
  CHECK(std::get<Config>(defaults).state_sync == StateSync::kAlways);
  CHECK(std::get<Config>(defaults).state_compact_bytes == 64 << 20);

  const auto given = parse(
      {"--state.dir", "/var/lib/ts", "--state.sync", "interval", "--state.compact-bytes", "8MiB"});
  REQUIRE(std::holds_alternative<Config>(given));
  CHECK(std::get<Config>(given).state_dir == "/var/lib/ts");
  CHECK(std::get<Config>(given).state_sync == StateSync::kInterval);
  CHECK(std::get<Config>(given).state_compact_bytes == 8 << 20);

  CHECK(std::holds_alternative<ConfigExit>(parse({"--state.sync", "sometimes"})));
  CHECK(std::holds_alternative<ConfigExit>(parse({"--state.compact-bytes", "0"})));
}
