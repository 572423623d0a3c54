// Measures the delay scheduler (a hierarchical timing wheel) against a std::priority_queue
// baseline on the same workload: random 32-hex-digit ids, deliveries uniform over three days.
//
//   scheduler_bench [--timers N] [--repeats R]
//
// Prints Markdown tables of medians over R rounds; each round runs both implementations.

#include <malloc.h>
#include <time.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <optional>
#include <queue>
#include <random>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "bench_util.hpp"
#include "timing_sidecar/scheduler.hpp"

using namespace timing_sidecar;

namespace {

constexpr int64_t kStartMs = 1'700'000'000'000;  // on a tick boundary
constexpr int64_t kDayMs = 86'400'000;
constexpr int64_t kSpreadMs = 3 * kDayMs;
constexpr uint32_t kTopics = 64;
constexpr size_t kIdLength = 32;

struct Workload {
  std::vector<char> id_chars;  // kIdLength per message, back to back
  std::vector<int64_t> deliver_at;
  std::vector<SeriesSlot> topics;
  std::vector<uint32_t> cancel_order;  // a random permutation

  size_t size() const { return deliver_at.size(); }
  std::string_view id(size_t i) const { return {id_chars.data() + i * kIdLength, kIdLength}; }
};

Workload make_workload(size_t count) {
  Workload workload;
  std::mt19937_64 random(20240607);
  workload.id_chars.resize(count * kIdLength);
  for (char& c : workload.id_chars) c = "0123456789ABCDEF"[random() & 15];
  workload.deliver_at.resize(count);
  workload.topics.resize(count);
  for (size_t i = 0; i < count; ++i) {
    workload.deliver_at[i] = kStartMs + 1 + static_cast<int64_t>(random() % kSpreadMs);
    workload.topics[i] = SeriesSlot(static_cast<uint32_t>(random() % kTopics));
  }
  workload.cancel_order.resize(count);
  for (size_t i = 0; i < count; ++i) workload.cancel_order[i] = static_cast<uint32_t>(i);
  std::shuffle(workload.cancel_order.begin(), workload.cancel_order.end(), random);
  return workload;
}

// What the sidecar does with phase changes: per-topic per-phase counters.
class CountingListener final : public PhaseListener {
 public:
  void on_added(SeriesSlot slot, Phase phase) override { ++counts_[slot.value][index(phase)]; }
  void on_moved(SeriesSlot slot, Phase from, Phase to) override {
    --counts_[slot.value][index(from)];
    ++counts_[slot.value][index(to)];
  }
  void on_removed(SeriesSlot slot, Phase phase) override { --counts_[slot.value][index(phase)]; }

 private:
  static int index(Phase phase) { return static_cast<int>(phase); }
  std::array<std::array<int64_t, kSnapshotRanges + 2>, kTopics> counts_{};
};

// The straightforward alternative: a binary heap of (deadline, message) and an unordered_map
// from topic+id to a message slot. Cancel cannot reach into the heap, so it bumps the slot's
// generation and advance() drops heap entries whose generation is stale (lazy deletion).
class PriorityQueueScheduler {
 public:
  explicit PriorityQueueScheduler(const SchedulerConfig& config) : config_(config) {}

  bool enqueue(SeriesSlot topic, std::string_view id, int64_t deliver_at_ms, int64_t now_ms,
               PhaseListener& listener) {
    const auto [entry, inserted] =
        index_.try_emplace(key_of(topic, id), static_cast<uint32_t>(messages_.size()));
    if (!inserted) return false;
    if (free_slots_.empty()) {
      messages_.emplace_back();
    } else {
      entry->second = free_slots_.back();
      free_slots_.pop_back();
    }
    Message& message = messages_[entry->second];
    message.deliver_at_ms = deliver_at_ms;
    message.topic = topic;
    message.phase = phase_at(deliver_at_ms, now_ms);
    arm(entry->second);
    listener.on_added(topic, message.phase);
    return true;
  }

  std::optional<int64_t> remove(SeriesSlot topic, std::string_view id, PhaseListener& listener) {
    const auto entry = index_.find(key_of(topic, id));
    if (entry == index_.end()) return std::nullopt;
    Message& message = messages_[entry->second];
    ++message.generation;  // orphans its heap entry
    free_slots_.push_back(entry->second);
    index_.erase(entry);
    listener.on_removed(topic, message.phase);
    return message.deliver_at_ms;
  }

  size_t advance(int64_t now_ms, PhaseListener& listener) {
    size_t fired = 0;
    while (!heap_.empty() && heap_.top().deadline_ms <= now_ms) {
      const HeapEntry top = heap_.top();
      heap_.pop();
      Message& message = messages_[top.slot];
      if (message.generation != top.generation) continue;
      const Phase from = message.phase;
      message.phase = phase_at(message.deliver_at_ms, now_ms);
      listener.on_moved(message.topic, from, message.phase);
      arm(top.slot);
      ++fired;
    }
    return fired;
  }

 private:
  struct Message {
    int64_t deliver_at_ms;
    SeriesSlot topic;
    Phase phase;
    uint32_t generation = 0;
  };
  struct HeapEntry {
    int64_t deadline_ms;
    uint32_t slot;
    uint32_t generation;
    bool operator>(const HeapEntry& other) const { return deadline_ms > other.deadline_ms; }
  };

  static std::string key_of(SeriesSlot topic, std::string_view id) {
    std::string key(reinterpret_cast<const char*>(&topic), sizeof(topic));
    key.append(id);
    return key;
  }

  Phase phase_at(int64_t deliver_at_ms, int64_t now_ms) const {
    if (now_ms >= deliver_at_ms + config_.overdue_grace_ms) return Phase::kOverdue;
    if (now_ms >= deliver_at_ms) return Phase::kDue;
    int range = 0;
    for (int64_t bound_s : kSnapshotBoundsSeconds) range += deliver_at_ms - now_ms > bound_s * 1000;
    return range_phase(range);
  }

  void arm(uint32_t slot) {
    const Message& message = messages_[slot];
    int64_t deadline_ms;
    if (message.phase == Phase::kOverdue) return;
    if (message.phase == Phase::kDue) {
      deadline_ms = message.deliver_at_ms + config_.overdue_grace_ms;
    } else if (message.phase == range_phase(0)) {
      deadline_ms = message.deliver_at_ms;
    } else {
      const int range = static_cast<int>(message.phase);
      deadline_ms = message.deliver_at_ms - kSnapshotBoundsSeconds[range - 1] * 1000;
    }
    heap_.push({deadline_ms, slot, message.generation});
  }

  SchedulerConfig config_;
  std::vector<Message> messages_;
  std::vector<uint32_t> free_slots_;
  std::unordered_map<std::string, uint32_t> index_;
  std::priority_queue<HeapEntry, std::vector<HeapEntry>, std::greater<HeapEntry>> heap_;
};

// Both clocks: the machine is shared, so the thread's CPU time is the steadier measure, and
// wall time is what a caller would see right now.
struct Seconds {
  double cpu = 0;
  double wall = 0;
};

class Stopwatch {
 public:
  Stopwatch() : wall_start_(std::chrono::steady_clock::now()), cpu_start_(thread_cpu_seconds()) {}
  Seconds elapsed() const {
    return {thread_cpu_seconds() - cpu_start_,
            std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start_).count()};
  }

 private:
  static double thread_cpu_seconds() {
    timespec now;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
    return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) * 1e-9;
  }
  std::chrono::steady_clock::time_point wall_start_;
  double cpu_start_;
};

struct RoundResult {
  Seconds insert;
  Seconds expiry;
  Seconds cancel;
  size_t fired = 0;
  double memory_bytes_per_timer = 0;  // wheel only
  double rss_bytes_per_timer = 0;
};

// The latency of one cache-missing load right now, from a chase through a random cycle of
// cache lines: on a shared virtual machine it varies by several times, and the scheduler's
// rates follow it.
double measure_memory_latency_ns() {
  constexpr size_t kLineWords = 8;
  constexpr size_t kLines = (size_t{256} << 20) / (kLineWords * sizeof(uint64_t));
  std::vector<uint64_t> words(kLines * kLineWords);
  std::vector<uint32_t> order(kLines);
  for (size_t i = 0; i < kLines; ++i) order[i] = static_cast<uint32_t>(i);
  std::mt19937_64 random(7);
  for (size_t i = kLines - 1; i > 0; --i) std::swap(order[i], order[random() % i]);  // Sattolo
  for (size_t i = 0; i < kLines; ++i) {
    words[order[i] * kLineWords] = order[(i + 1) % kLines] * kLineWords;
  }
  constexpr int kSteps = 500'000;
  uint64_t at = 0;
  const auto start = std::chrono::steady_clock::now();
  for (int step = 0; step < kSteps; ++step) at = words[at];
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (at == words.size()) std::puts("");  // keeps the chase from being optimised away
  return seconds / kSteps * 1e9;
}

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "scheduler_bench: %s\n", what);
  std::exit(1);
}

// Runs insert, one simulated day, and cancel of everything on either implementation.
template <typename Implementation>
RoundResult run_round(const Workload& workload, Implementation& implementation,
                      const std::function<size_t()>& memory_bytes) {
  CountingListener listener;
  RoundResult result;
  const size_t count = workload.size();
  const long resident_before = bench::resident_bytes();

  Stopwatch stopwatch;
  for (size_t i = 0; i < count; ++i) {
    implementation.enqueue(workload.topics[i], workload.id(i), workload.deliver_at[i], kStartMs,
                           listener);
  }
  result.insert = stopwatch.elapsed();
  result.rss_bytes_per_timer =
      static_cast<double>(bench::resident_bytes() - resident_before) / static_cast<double>(count);
  if (memory_bytes) {
    result.memory_bytes_per_timer =
        static_cast<double>(memory_bytes()) / static_cast<double>(count);
  }

  stopwatch = Stopwatch();
  result.fired = implementation.advance(kStartMs + kDayMs, listener);
  result.expiry = stopwatch.elapsed();

  stopwatch = Stopwatch();
  for (uint32_t i : workload.cancel_order) {
    if (!implementation.remove(workload.topics[i], workload.id(i), listener)) {
      fail("a pending message could not be cancelled");
    }
  }
  result.cancel = stopwatch.elapsed();
  return result;
}

RoundResult run_wheel(const Workload& workload, const SchedulerConfig& config) {
  Scheduler scheduler(config, kStartMs);
  return run_round(workload, scheduler, [&] { return scheduler.memory_bytes(); });
}

RoundResult run_baseline(const Workload& workload, const SchedulerConfig& config) {
  PriorityQueueScheduler baseline(config);
  return run_round(workload, baseline, {});
}

template <typename Metric>
double median_of(const std::vector<RoundResult>& rounds, Metric metric) {
  std::vector<double> values;
  for (const RoundResult& round : rounds) values.push_back(metric(round));
  return bench::median(values);
}

}  // namespace

int main(int argc, char** argv) {
  size_t timers = 10'000'000;
  size_t repeats = 3;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    size_t* count = arg == "--timers" ? &timers : arg == "--repeats" ? &repeats : nullptr;
    const std::optional<size_t> value =
        count != nullptr && i + 1 < argc ? bench::parse_count(argv[++i]) : std::nullopt;
    if (!value) {
      std::fprintf(stderr, "usage: %s [--timers N] [--repeats R], N and R positive integers\n",
                   argv[0]);
      return 2;
    }
    *count = *value;
  }
  // Big blocks come straight from mmap and go back on free, and freed heap pages are trimmed
  // after each run, so one run's memory does not hide in the next run's RSS delta.
  mallopt(M_MMAP_THRESHOLD, 1 << 20);

  const double memory_latency_ns = measure_memory_latency_ns();
  const SchedulerConfig config;
  const Workload workload = make_workload(timers);
  std::vector<RoundResult> wheel_rounds;
  std::vector<RoundResult> baseline_rounds;
  for (size_t round = 0; round < repeats; ++round) {
    wheel_rounds.push_back(run_wheel(workload, config));
    malloc_trim(0);
    baseline_rounds.push_back(run_baseline(workload, config));
    malloc_trim(0);
    if (wheel_rounds.back().fired != baseline_rounds.back().fired) {
      fail("the wheel and the baseline fired different numbers of timers");
    }
    std::fprintf(stderr, "round %zu of %zu done\n", round + 1, repeats);
  }

  const double count = static_cast<double>(timers);
  const double fired = static_cast<double>(wheel_rounds.front().fired);
  using Clock = double Seconds::*;
  struct Row {
    const char* name;
    std::function<double(const RoundResult&, Clock)> metric;
  };
  const std::vector<Row> rate_rows = {
      {"insert rate (M timers/s)",
       [&](const RoundResult& r, Clock clock) { return count / (r.insert.*clock) / 1e6; }},
      {"expiry rate, one simulated day at once (M phase moves/s)",
       [&](const RoundResult& r, Clock clock) { return fired / (r.expiry.*clock) / 1e6; }},
      {"cancel rate by id, random order (M/s)",
       [&](const RoundResult& r, Clock clock) { return count / (r.cancel.*clock) / 1e6; }},
      {"insert + expiry combined (M operations/s)",
       [&](const RoundResult& r, Clock clock) {
         return (count + fired) / (r.insert.*clock + r.expiry.*clock) / 1e6;
       }},
  };
  const auto print_rates = [&](Clock clock) {
    std::printf("| measure | wheel | std::priority_queue baseline | wheel advantage |\n");
    std::printf("|---|---:|---:|---:|\n");
    for (const Row& row : rate_rows) {
      const auto metric = [&](const RoundResult& r) { return row.metric(r, clock); };
      const double wheel = median_of(wheel_rounds, metric);
      const double baseline = median_of(baseline_rounds, metric);
      std::printf("| %s | %.2f | %.2f | %.2fx |\n", row.name, wheel, baseline, wheel / baseline);
    }
  };

  std::printf(
      "%zu timers, ids of 32 hex digits, deliveries uniform over 3 days, precision %lld ms; "
      "the simulated day fires %zu phase moves. Medians of %zu rounds. Memory latency (dependent "
      "loads over 256 MiB) before the rounds: %.0f ns.\n\n",
      timers, static_cast<long long>(config.precision_ms), wheel_rounds.front().fired, repeats,
      memory_latency_ns);
  std::printf("Rates per second of the benchmark thread's CPU time:\n\n");
  print_rates(&Seconds::cpu);
  const double wheel_rss =
      median_of(wheel_rounds, [](const RoundResult& r) { return r.rss_bytes_per_timer; });
  const double baseline_rss =
      median_of(baseline_rounds, [](const RoundResult& r) { return r.rss_bytes_per_timer; });
  std::printf("| bytes per pending timer, RSS delta | %.1f | %.1f | %.2fx less |\n", wheel_rss,
              baseline_rss, baseline_rss / wheel_rss);
  std::printf(
      "| bytes per pending timer, memory_bytes() | %.1f | n/a | |\n",
      median_of(wheel_rounds, [](const RoundResult& r) { return r.memory_bytes_per_timer; }));
  std::printf("\nThe same rates per second of wall-clock time (other processes included):\n\n");
  print_rates(&Seconds::wall);
  std::printf(
      "\nBaseline: std::priority_queue of {deadline, slot, generation} over a vector of "
      "messages, with std::unordered_map<std::string, uint32_t> (topic + id -> slot) for "
      "cancel; a cancel bumps the slot's generation and stale heap entries are skipped "
      "when popped (lazy deletion).\n");
  return 0;
}
