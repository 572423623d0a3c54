// Measures the per-topic path of timing-sidecar at broker scale against a baseline that uses
// prometheus-cpp the plain way (one Family per metric family, Add per topic, Remove on delete,
// Registry::Collect + TextSerializer per scrape), on the same topic names and values:
//
//   scale_bench [--topics N] [--deletes D] [--baseline-deletes S] [--list-topics M]
//               [--memory-topics K] [--repeats R]
//
// 1. delete storm: D of N topics (10,000 of 100,000) deleted by one Engine::apply batch of
//    topic.deleted events; the baseline calls Family::Remove for each of a topic's 13 series.
//    Remove scans the whole family, about half a second per topic here, so the baseline is timed
//    on the first S deletions (10) and extrapolated linearly to D.
// 2. scrape: the per-topic /metrics body for N topics, plain and gzipped (the sidecar at level 1,
//    the baseline the way cpp-httplib does it, level 6), next to a memcpy of as many bytes.
// 3. reconcile: an authoritative list of M topics (1,000,000) against M tracked, 1% missing.
// 4. memory: resident bytes per tracked topic (K = 100,000), each measure in a fresh process.
// Prints a Markdown table of medians over R rounds (5), wall and CPU time.

#include <malloc.h>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "bench_util.hpp"
#include "timing_sidecar/clock.hpp"
#include "timing_sidecar/engine.hpp"
#include "timing_sidecar/exposition.hpp"
#include "timing_sidecar/log.hpp"
#include "timing_sidecar/reconciler.hpp"
#include "timing_sidecar/self_metrics.hpp"

using namespace timing_sidecar;

namespace {

constexpr int64_t kStartMs = 1'800'000'000'000;  // on a tick boundary
constexpr size_t kBatchSize = 1000;              // events per webhook request
constexpr int kPendingPerTopic = 3;

// One delivery delay inside each snapshot range, so every range has messages.
constexpr std::array<int64_t, kSnapshotRanges> kDelaysMs = {
    2'000, 30'000, 200'000, 600'000, 2'000'000, 10'000'000, 20'000'000, 50'000'000, 200'000'000};

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "scale_bench: %s\n", what.c_str());
  std::exit(1);
}

// Wall time, and the CPU time of the measuring thread: other processes on the machine stretch
// the first, hardly the second.
struct Duration {
  double wall_ms = 0;
  double cpu_ms = 0;
};

double thread_cpu_ms() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) * 1e3 + static_cast<double>(now.tv_nsec) / 1e6;
}

template <typename Work>
Duration measure(Work&& work) {
  const auto wall_start = std::chrono::steady_clock::now();
  const double cpu_start = thread_cpu_ms();
  work();
  return {std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - wall_start)
              .count(),
          thread_cpu_ms() - cpu_start};
}

Duration scaled(Duration duration, double factor) {
  return {duration.wall_ms * factor, duration.cpu_ms * factor};
}

// RocketMQ-like topic names of 19 to 23 characters, longer than std::string's inline buffer.
std::vector<std::string> make_topic_names(size_t count) {
  static const std::array<const char*, 4> kApps = {"order", "payment", "inventory", "notify"};
  std::vector<std::string> names;
  names.reserve(count);
  char buffer[64];
  for (size_t i = 0; i < count; ++i) {
    std::snprintf(buffer, sizeof buffer, "%s-delay-%07zu", kApps[i % kApps.size()], i);
    names.emplace_back(buffer);
  }
  return names;
}

// Topic i holds kPendingPerTopic messages, in ranges (i + k) % kSnapshotRanges.
int range_of_message(size_t topic, int message) {
  return static_cast<int>((topic + static_cast<size_t>(message)) % kSnapshotRanges);
}

std::string message_id(size_t topic, int message) {
  char buffer[48];
  std::snprintf(buffer, sizeof buffer, "7F00000100002A9F%08zX%08X", topic,
                static_cast<unsigned>(message));
  return buffer;
}

EngineConfig engine_config_for(size_t topics) {
  EngineConfig config;
  config.max_topics = topics * 2;
  return config;
}

// Feeds the topics through Engine::apply in webhook-sized batches: topic.created and, when
// asked, kPendingPerTopic timer.enqueued each.
void populate(Engine& engine, const std::vector<std::string>& names, bool with_timers) {
  std::vector<Event> batch;
  batch.reserve(kBatchSize + kPendingPerTopic + 1);
  for (size_t topic = 0; topic < names.size(); ++topic) {
    Event created;
    created.type = EventType::kTopicCreated;
    created.topic = names[topic];
    batch.push_back(std::move(created));
    for (int message = 0; with_timers && message < kPendingPerTopic; ++message) {
      Event enqueued;
      enqueued.type = EventType::kTimerEnqueued;
      enqueued.topic = names[topic];
      enqueued.id = message_id(topic, message);
      enqueued.deliver_at_ms = kStartMs + kDelaysMs[range_of_message(topic, message)];
      batch.push_back(std::move(enqueued));
    }
    if (batch.size() >= kBatchSize || topic + 1 == names.size()) {
      engine.apply(batch, EventSource::kWebhook);
      batch.clear();
    }
  }
}

// The sidecar's side: an engine fed the way the webhook feeds it.
struct SidecarSide {
  explicit SidecarSide(const std::vector<std::string>& names, bool with_timers)
      : engine(engine_config_for(names.size()), clock, observer) {
    populate(engine, names, with_timers);
  }

  ManualClock clock{kStartMs};
  NullEngineObserver observer;
  Engine engine;
};

// The plain way: a Family per metric family, the 13 series of each topic added with Add and
// removed with Remove, and a map from topic to its series to update and delete them.
class PlainPrometheus {
 public:
  PlainPrometheus()
      : registry_(std::make_shared<prometheus::Registry>()),
        pending_(prometheus::BuildGauge()
                     .Name("rocketmq_timing_messages")
                     .Help("Timing messages pending delivery.")
                     .Register(*registry_)),
        enqueued_(prometheus::BuildCounter()
                      .Name("rocketmq_timer_enqueue_total")
                      .Help("Timing messages enqueued into the broker timer.")
                      .Register(*registry_)),
        dequeued_(prometheus::BuildCounter()
                      .Name("rocketmq_timer_dequeue_total")
                      .Help("Timing messages dequeued (delivered) by the broker timer.")
                      .Register(*registry_)),
        overdue_(prometheus::BuildGauge()
                     .Name("rocketmq_timing_messages_overdue")
                     .Help("Pending timing messages past their delivery time plus the grace.")
                     .Register(*registry_)),
        snapshot_(prometheus::BuildGauge()
                      .Name("rocketmq_timer_message_snapshot")
                      .Help("Pending timing messages by time to delivery.")
                      .Register(*registry_)) {}

  // The same values the engine derives from the same topic's events.
  void add_topic(const std::string& name, size_t topic) {
    TopicSeries& series = topics_[name];
    series.pending = &pending_.Add({{"topic", name}});
    series.pending->Set(kPendingPerTopic);
    series.enqueued = &enqueued_.Add({{"topic", name}});
    series.enqueued->Increment(kPendingPerTopic);
    series.dequeued = &dequeued_.Add({{"topic", name}});
    series.overdue = &overdue_.Add({{"topic", name}});
    static constexpr std::array<const char*, kSnapshotRanges> kBounds = {
        "5", "60", "300", "900", "3600", "14400", "28800", "86400", "+Inf"};
    for (int range = 0; range < kSnapshotRanges; ++range) {
      series.ranges[range] = &snapshot_.Add({{"topic", name}, {"timer_bound_s", kBounds[range]}});
    }
    for (int message = 0; message < kPendingPerTopic; ++message) {
      series.ranges[range_of_message(topic, message)]->Increment();
    }
  }

  void remove_topic(const std::string& name) {
    auto it = topics_.find(name);
    if (it == topics_.end()) return;
    pending_.Remove(it->second.pending);
    enqueued_.Remove(it->second.enqueued);
    dequeued_.Remove(it->second.dequeued);
    overdue_.Remove(it->second.overdue);
    for (prometheus::Gauge* range : it->second.ranges) snapshot_.Remove(range);
    topics_.erase(it);
  }

  std::string scrape() const {
    return prometheus::TextSerializer().Serialize(registry_->Collect());
  }

 private:
  struct TopicSeries {
    prometheus::Gauge* pending = nullptr;
    prometheus::Counter* enqueued = nullptr;
    prometheus::Counter* dequeued = nullptr;
    prometheus::Gauge* overdue = nullptr;
    std::array<prometheus::Gauge*, kSnapshotRanges> ranges{};
  };

  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Gauge>& pending_;
  prometheus::Family<prometheus::Counter>& enqueued_;
  prometheus::Family<prometheus::Counter>& dequeued_;
  prometheus::Family<prometheus::Gauge>& overdue_;
  prometheus::Family<prometheus::Gauge>& snapshot_;
  std::unordered_map<std::string, TopicSeries> topics_;
};

// cpp-httplib's gzip_compressor: deflateInit2(Z_DEFAULT_COMPRESSION, Z_DEFLATED, 31, 8,
// Z_DEFAULT_STRATEGY), fed the whole body at once, drained through a 16 KiB buffer
// (CPPHTTPLIB_COMPRESSION_BUFSIZ). Returns the compressed size.
size_t gzip_like_httplib(const std::string& body) {
  z_stream stream{};
  if (deflateInit2(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    fail("deflateInit2 failed");
  }
  std::string compressed;
  std::array<char, 16384> buffer;
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(body.data()));
  stream.avail_in = static_cast<uInt>(body.size());
  int status = Z_OK;
  do {
    stream.next_out = reinterpret_cast<Bytef*>(buffer.data());
    stream.avail_out = static_cast<uInt>(buffer.size());
    status = deflate(&stream, Z_FINISH);
    compressed.append(buffer.data(), buffer.size() - stream.avail_out);
  } while (status == Z_OK);
  deflateEnd(&stream);
  if (status != Z_STREAM_END) fail("deflate failed");
  return compressed.size();
}

// Sample lines and the sum of their values per family: both sides must expose the same data.
struct BodyDigest {
  size_t samples = 0;
  std::map<std::string, double> sums;

  bool operator==(const BodyDigest& other) const {
    return samples == other.samples && sums == other.sums;
  }
};

BodyDigest digest(const std::string& body) {
  BodyDigest result;
  size_t line_start = 0;
  while (line_start < body.size()) {
    size_t line_end = body.find('\n', line_start);
    if (line_end == std::string::npos) line_end = body.size();
    const std::string_view line(body.data() + line_start, line_end - line_start);
    if (!line.empty() && line[0] != '#') {
      ++result.samples;
      const std::string family(line.substr(0, line.find('{')));
      result.sums[family] +=
          std::strtod(std::string(line.substr(line.rfind(' ') + 1)).c_str(), nullptr);
    }
    line_start = line_end + 1;
  }
  return result;
}

struct Options {
  size_t topics = 100'000;
  size_t deletes = 10'000;
  size_t baseline_deletes = 10;
  size_t list_topics = 1'000'000;
  size_t memory_topics = 100'000;
  size_t repeats = 5;
};

// Runs `measure` in a fresh child process so that no earlier allocation hides in its RSS delta.
double in_child_process(const std::function<double()>& measure) {
  int channel[2];
  if (pipe(channel) != 0) fail("pipe failed");
  const pid_t child = fork();
  if (child < 0) fail("fork failed");
  if (child == 0) {
    close(channel[0]);
    const double value = measure();
    if (write(channel[1], &value, sizeof value) != sizeof value) _exit(1);
    _exit(0);
  }
  close(channel[1]);
  double value = 0;
  const bool read_ok = read(channel[0], &value, sizeof value) == sizeof value;
  close(channel[0]);
  int status = 0;
  waitpid(child, &status, 0);
  if (!read_ok || !WIFEXITED(status) || WEXITSTATUS(status) != 0) fail("memory child failed");
  return value;
}

struct MemoryResult {
  double sidecar_bytes_per_topic = 0;
  double baseline_bytes_per_topic = 0;
};

MemoryResult measure_memory(const Options& options) {
  std::vector<double> sidecar;
  std::vector<double> baseline;
  for (size_t round = 0; round < options.repeats; ++round) {
    sidecar.push_back(in_child_process([&] {
      const std::vector<std::string> names = make_topic_names(options.memory_topics);
      ManualClock clock{kStartMs};
      NullEngineObserver observer;
      Engine engine(engine_config_for(names.size()), clock, observer);
      malloc_trim(0);
      const long before = bench::resident_bytes();
      populate(engine, names, false);
      malloc_trim(0);  // the batches' memory is not the engine's
      return static_cast<double>(bench::resident_bytes() - before) /
             static_cast<double>(names.size());
    }));
    baseline.push_back(in_child_process([&] {
      const std::vector<std::string> names = make_topic_names(options.memory_topics);
      PlainPrometheus plain;
      malloc_trim(0);
      const long before = bench::resident_bytes();
      for (size_t topic = 0; topic < names.size(); ++topic) plain.add_topic(names[topic], topic);
      malloc_trim(0);
      return static_cast<double>(bench::resident_bytes() - before) /
             static_cast<double>(names.size());
    }));
  }
  return {bench::median(sidecar), bench::median(baseline)};
}

struct ScaleRound {
  Duration delete_storm;
  Duration baseline_delete_storm;  // extrapolated from the sample to every deletion
  Duration scrape_fresh;           // into a new string: a sidecar's first scrape
  Duration scrape_reused;          // into a string kept from the last scrape, as the sidecar does
  Duration scrape_reconcile;
  Duration scrape_gzip;
  Duration baseline_scrape;
  Duration baseline_scrape_gzip;
  Duration memcpy_warm;
  Duration memcpy_fresh;
  size_t body_bytes = 0;
  size_t gzip_bytes = 0;
  size_t baseline_body_bytes = 0;
  size_t baseline_gzip_bytes = 0;
};

// Every tenth topic: spread over the shards as real deletions are.
std::vector<size_t> deleted_topics(const Options& options) {
  std::vector<size_t> deleted;
  const size_t stride = std::max<size_t>(1, options.topics / options.deletes);
  for (size_t topic = 0; topic < options.topics && deleted.size() < options.deletes;
       topic += stride) {
    deleted.push_back(topic);
  }
  return deleted;
}

ScaleRound run_scale_round(const Options& options, const std::vector<std::string>& names,
                           PlainPrometheus& plain, std::string& reused_body,
                           std::string& reused_gzip, bool check_bodies) {
  ScaleRound round;
  SidecarSide side(names, true);

  // Scrape: what Sidecar::scrape_body does before the self metrics (reconcile, then the body),
  // after a first scrape as a running sidecar has had.
  reused_body.clear();
  side.engine.write_metrics(reused_body);
  round.scrape_reconcile = measure([&] { side.engine.reconcile(); });
  std::string body;
  round.scrape_fresh = measure([&] { side.engine.write_metrics(body); });
  round.body_bytes = body.size();
  reused_body.clear();
  round.scrape_reused = measure([&] { side.engine.write_metrics(reused_body); });
  round.scrape_gzip = measure([&] {
    reused_body.clear();
    reused_gzip.clear();
    side.engine.write_metrics(reused_body);
    append_gzipped(reused_body, reused_gzip);
  });
  round.gzip_bytes = reused_gzip.size();
  std::string baseline_body;
  round.baseline_scrape = measure([&] { baseline_body = plain.scrape(); });
  round.baseline_body_bytes = baseline_body.size();
  round.baseline_scrape_gzip =
      measure([&] { round.baseline_gzip_bytes = gzip_like_httplib(plain.scrape()); });
  if (check_bodies && !(digest(body) == digest(baseline_body) && body == reused_body)) {
    fail("the sidecar and the baseline expose different samples or values");
  }

  std::unique_ptr<char[]> destination(new char[body.size()]);
  std::memset(destination.get(), 1, body.size());
  round.memcpy_warm = measure([&] { std::memcpy(destination.get(), body.data(), body.size()); });
  round.memcpy_fresh = measure([&] {
    std::unique_ptr<char[]> fresh(new char[body.size()]);
    std::memcpy(fresh.get(), body.data(), body.size());
    if (fresh[body.size() / 2] != body[body.size() / 2]) fail("memcpy went wrong");
  });

  // Delete storm: one batch of topic.deleted events.
  const std::vector<size_t> deleted = deleted_topics(options);
  std::vector<Event> deletions;
  for (size_t topic : deleted) {
    Event event;
    event.type = EventType::kTopicDeleted;
    event.topic = names[topic];
    deletions.push_back(std::move(event));
  }
  ApplyResult applied;
  round.delete_storm =
      measure([&] { applied = side.engine.apply(deletions, EventSource::kWebhook); });
  if (applied.accepted != deleted.size() ||
      side.engine.stats().topics != names.size() - deleted.size()) {
    fail("the delete storm did not delete every topic");
  }

  const size_t sample = std::min(options.baseline_deletes, deleted.size());
  const Duration sample_duration = measure([&] {
    for (size_t i = 0; i < sample; ++i) plain.remove_topic(names[deleted[i]]);
  });
  round.baseline_delete_storm =
      scaled(sample_duration, static_cast<double>(deleted.size()) / static_cast<double>(sample));
  for (size_t i = 0; i < sample; ++i) plain.add_topic(names[deleted[i]], deleted[i]);
  return round;
}

struct ReconcileRound {
  Duration list;       // ListReconciler::apply: admit_list, then condemn the unlisted
  Duration reconcile;  // Engine::reconcile: their series go
  Duration total;
};

ReconcileRound run_reconcile_round(const std::vector<std::string>& names,
                                   const std::vector<std::string>& listed, SelfMetrics& metrics) {
  SidecarSide side(names, false);
  side.clock.advance(1000);  // the list is taken after every topic was first seen
  TopicList list;
  list.stamp.requested_at_ms = side.clock.now_ms();
  list.topics.reserve(listed.size());
  for (const std::string& name : listed) list.topics.push_back({name, std::nullopt});

  ListReconciler reconciler = ListReconciler::unjournaled(side.engine, metrics, 0.5, "bench");
  ReconcileRound round;
  ListOutcome outcome;
  size_t dropped = 0;
  round.list = measure([&] { outcome = reconciler.apply(list, false); });
  round.reconcile = measure([&] { dropped = side.engine.reconcile(); });
  round.total = {round.list.wall_ms + round.reconcile.wall_ms,
                 round.list.cpu_ms + round.reconcile.cpu_ms};
  if (outcome.dropped != names.size() - listed.size() || dropped != outcome.dropped) {
    fail("the reconcile did not drop exactly the unlisted topics");
  }
  return round;
}

Options parse_options(int argc, char** argv) {
  Options options;
  const std::vector<std::pair<const char*, size_t*>> flags = {
      {"--topics", &options.topics},
      {"--deletes", &options.deletes},
      {"--baseline-deletes", &options.baseline_deletes},
      {"--list-topics", &options.list_topics},
      {"--memory-topics", &options.memory_topics},
      {"--repeats", &options.repeats}};
  for (int i = 1; i < argc; ++i) {
    const auto flag = std::find_if(flags.begin(), flags.end(), [&](const auto& candidate) {
      return std::string_view(argv[i]) == candidate.first;
    });
    if (flag == flags.end() || i + 1 >= argc) {
      std::fprintf(stderr,
                   "usage: %s [--topics N] [--deletes D] [--baseline-deletes S] "
                   "[--list-topics M] [--memory-topics K] [--repeats R]\n",
                   argv[0]);
      std::exit(2);
    }
    const std::optional<size_t> count = bench::parse_count(argv[++i]);
    if (!count) fail(std::string(flag->first) + " needs a positive integer");
    *flag->second = *count;
  }
  if (options.deletes > options.topics) fail("--deletes cannot exceed --topics");
  return options;
}

std::string ratio_text(double ratio) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, ratio >= 100 ? "%.0fx" : "%.1fx", ratio);
  return buffer;
}

std::string duration_text(const Duration& duration) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer,
                duration.wall_ms >= 100 ? "%.0f (cpu %.0f)" : "%.1f (cpu %.1f)", duration.wall_ms,
                duration.cpu_ms);
  return buffer;
}

template <typename Round>
Duration median_of(const std::vector<Round>& rounds, Duration Round::*field) {
  std::vector<double> wall;
  std::vector<double> cpu;
  for (const Round& round : rounds) {
    wall.push_back((round.*field).wall_ms);
    cpu.push_back((round.*field).cpu_ms);
  }
  return {bench::median(wall), bench::median(cpu)};
}

// Other processes share the machine's two cores: their load stretches wall times.
std::string load_average() {
  std::ifstream loadavg("/proc/loadavg");
  std::string one_minute;
  loadavg >> one_minute;
  return one_minute;
}

}  // namespace

int main(int argc, char** argv) {
  const Options options = parse_options(argc, argv);
  configure_logging(LogLevel::kWarn, LogFormat::kText);  // the reconciler logs every drop at info
  const std::string load_before = load_average();

  // First, while the heap is clean: each measure forks from here.
  std::fprintf(stderr, "memory: %zu topics, %zu rounds\n", options.memory_topics, options.repeats);
  const MemoryResult memory = measure_memory(options);

  std::fprintf(stderr, "delete storm and scrape: %zu topics, building the baseline\n",
               options.topics);
  const std::vector<std::string> names = make_topic_names(options.topics);
  PlainPrometheus plain;
  for (size_t topic = 0; topic < names.size(); ++topic) plain.add_topic(names[topic], topic);
  std::vector<ScaleRound> scale_rounds;
  std::string reused_body;
  std::string reused_gzip;
  for (size_t round = 0; round < options.repeats; ++round) {
    scale_rounds.push_back(
        run_scale_round(options, names, plain, reused_body, reused_gzip, round == 0));
    std::fprintf(stderr, "  round %zu of %zu done\n", round + 1, options.repeats);
  }

  std::fprintf(stderr, "reconcile: %zu topics\n", options.list_topics);
  const std::vector<std::string> list_names = make_topic_names(options.list_topics);
  std::vector<std::string> listed;
  listed.reserve(list_names.size());
  for (size_t topic = 0; topic < list_names.size(); ++topic) {
    if (topic % 100 != 50) listed.push_back(list_names[topic]);
  }
  SelfMetrics list_metrics({}, options.list_topics * 2);
  std::vector<ReconcileRound> reconcile_rounds;
  for (size_t round = 0; round < options.repeats; ++round) {
    reconcile_rounds.push_back(run_reconcile_round(list_names, listed, list_metrics));
    std::fprintf(stderr, "  round %zu of %zu done\n", round + 1, options.repeats);
  }

  const auto scale = [&](Duration ScaleRound::*field) { return median_of(scale_rounds, field); };
  const auto reconcile = [&](Duration ReconcileRound::*field) {
    return median_of(reconcile_rounds, field);
  };
  const Duration delete_storm = scale(&ScaleRound::delete_storm);
  const Duration baseline_delete_storm = scale(&ScaleRound::baseline_delete_storm);
  const Duration scrape_fresh = scale(&ScaleRound::scrape_fresh);
  const Duration scrape_reused = scale(&ScaleRound::scrape_reused);
  const Duration baseline_scrape = scale(&ScaleRound::baseline_scrape);
  const Duration scrape_gzip = scale(&ScaleRound::scrape_gzip);
  const Duration baseline_scrape_gzip = scale(&ScaleRound::baseline_scrape_gzip);
  const Duration memcpy_warm = scale(&ScaleRound::memcpy_warm);
  const Duration memcpy_fresh = scale(&ScaleRound::memcpy_fresh);
  const ScaleRound& first = scale_rounds.front();
  const size_t deletes = deleted_topics(options).size();

  std::printf(
      "%zu topics (%zu series: the per-topic snapshot on), %d pending timing messages each. "
      "Milliseconds, wall (and CPU of the measuring thread); medians of %zu rounds; ratios of "
      "wall times. Load average %s at the start, %s at the end, on %ld cores.\n\n",
      options.topics, options.topics * TopicFamiliesWriter::series_per_topic(true),
      kPendingPerTopic, options.repeats, load_before.c_str(), load_average().c_str(),
      sysconf(_SC_NPROCESSORS_ONLN));
  std::printf("| measure | timing-sidecar | prometheus-cpp baseline | ratio | goal |\n");
  std::printf("|---|---:|---:|---:|---|\n");
  std::printf(
      "| delete storm: %zu of %zu topics, one batch of topic.deleted | %s | %s, from %zu "
      "deletions timed, extrapolated linearly | %s | >= 1000x, < 20 ms |\n",
      deletes, options.topics, duration_text(delete_storm).c_str(),
      duration_text(baseline_delete_storm).c_str(), std::min(options.baseline_deletes, deletes),
      ratio_text(baseline_delete_storm.wall_ms / delete_storm.wall_ms).c_str());
  std::printf(
      "| scrape: per-topic body into a new string (a sidecar's first scrape) | %s | %s | %s | "
      "|\n",
      duration_text(scrape_fresh).c_str(), duration_text(baseline_scrape).c_str(),
      ratio_text(baseline_scrape.wall_ms / scrape_fresh.wall_ms).c_str());
  std::printf(
      "| scrape: per-topic body into the buffer kept from the last scrape, as the sidecar does | "
      "%s | (same) | %s | >= 8x |\n",
      duration_text(scrape_reused).c_str(),
      ratio_text(baseline_scrape.wall_ms / scrape_reused.wall_ms).c_str());
  std::printf(
      "| scrape: body + gzip (sidecar: zlib level 1; baseline: level 6, as cpp-httplib) | %s | %s "
      "| %s | |\n",
      duration_text(scrape_gzip).c_str(), duration_text(baseline_scrape_gzip).c_str(),
      ratio_text(baseline_scrape_gzip.wall_ms / scrape_gzip.wall_ms).c_str());
  std::printf("| scrape: body size, plain / gzip (MB) | %.1f / %.2f | %.1f / %.2f | | |\n",
              static_cast<double>(first.body_bytes) / 1e6,
              static_cast<double>(first.gzip_bytes) / 1e6,
              static_cast<double>(first.baseline_body_bytes) / 1e6,
              static_cast<double>(first.baseline_gzip_bytes) / 1e6);
  std::printf(
      "| scrape: memcpy of as many bytes, into memory already touched / newly allocated | %s / "
      "%s | | body into a kept string = %s warm memcpy; into a new string = %s fresh memcpy | "
      "within 10x |\n",
      duration_text(memcpy_warm).c_str(), duration_text(memcpy_fresh).c_str(),
      ratio_text(scrape_reused.wall_ms / memcpy_warm.wall_ms).c_str(),
      ratio_text(scrape_fresh.wall_ms / memcpy_fresh.wall_ms).c_str());
  std::printf("| scrape: Engine::reconcile before the body, nothing to drop | %s | | | |\n",
              duration_text(scale(&ScaleRound::scrape_reconcile)).c_str());
  std::printf(
      "| reconcile: a list of %zu against %zu tracked, 1%% missing: ListReconciler::apply + "
      "Engine::reconcile | %s = %s + %s | n/a: every drop is a delete-storm Remove | | < 100 ms "
      "|\n",
      listed.size(), list_names.size(), duration_text(reconcile(&ReconcileRound::total)).c_str(),
      duration_text(reconcile(&ReconcileRound::list)).c_str(),
      duration_text(reconcile(&ReconcileRound::reconcile)).c_str());
  std::printf(
      "| memory: resident bytes per tracked topic, %zu topics created, no timers | %.0f | %.0f | "
      "%s | <= 200 |\n",
      options.memory_topics, memory.sidecar_bytes_per_topic, memory.baseline_bytes_per_topic,
      ratio_text(memory.baseline_bytes_per_topic / memory.sidecar_bytes_per_topic).c_str());
  return 0;
}
