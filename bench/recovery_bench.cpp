// Measures recovery from --state.dir: builds an engine holding N pending messages (RocketMQ-style
// 32-hex-digit ids, deliveries uniform over three days, spread over T topics), writes its
// snapshot, journals a tail of E more events through the webhook's path, then recovers twice in
// fresh sidecars with the page cache dropped for the state files: from the snapshot alone, and
// from the snapshot and the journal after it.
//
//   recovery_bench [--messages N] [--topics T] [--journal-events E] [--dir DIR]
//
// Prints a Markdown table. DIR (default: a new directory under the system's temporary directory,
// removed afterwards) should be on the disk the sidecar's --state.dir would use.

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "timing_sidecar/durability.hpp"
#include "timing_sidecar/sidecar.hpp"

using namespace timing_sidecar;

namespace {

constexpr int64_t kDayMs = 86'400'000;
constexpr size_t kBatchEvents = 10'000;
constexpr size_t kJournalBatchEvents = 1'000;

struct Options {
  size_t messages = 10'000'000;
  size_t topics = 1'000;
  size_t journal_events = 1'000'000;
  std::string dir;
};

Options parse_options(int argc, char** argv) {
  Options options;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const std::string value = argv[i + 1];
    if (flag == "--messages") {
      options.messages = std::stoull(value);
    } else if (flag == "--topics") {
      options.topics = std::stoull(value);
    } else if (flag == "--journal-events") {
      options.journal_events = std::stoull(value);
    } else if (flag == "--dir") {
      options.dir = value;
    } else {
      std::fprintf(stderr, "unknown flag %s\n", flag.c_str());
      std::exit(2);
    }
  }
  return options;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

uint64_t bytes_of(const std::string& dir, const std::string& prefix) {
  uint64_t bytes = 0;
  for (const auto& file : std::filesystem::directory_iterator(dir)) {
    if (file.path().filename().string().rfind(prefix, 0) == 0) bytes += file.file_size();
  }
  return bytes;
}

// So that recovery reads from the disk: synced pages are clean and can be dropped.
void drop_cached_pages(const std::string& dir) {
  for (const auto& file : std::filesystem::directory_iterator(dir)) {
    const int fd = ::open(file.path().c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    ::fdatasync(fd);
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    ::close(fd);
  }
}

// A sidecar as main wires it.
struct Instance {
  explicit Instance(const std::string& dir)
      : config(make_config(dir)),
        clock(system_clock),
        sidecar(config, clock),
        durability(durability_config(config), sidecar.engine(), clock,
                   sidecar.metrics().registry()) {}

  RecoveryReport recover() {
    const RecoveryReport report = durability.recover();
    sidecar.attach_input_log(&durability);
    return report;
  }

  static Config make_config(const std::string& dir) {
    Config config;
    config.state_dir = dir;
    config.state_compact_bytes = int64_t{1} << 40;  // only the benchmark's compact()
    config.max_topics = 10'000'000;
    return config;
  }

  Config config;
  SystemClock system_clock;
  JournalClock clock;
  Sidecar sidecar;
  Durability durability;
};

class Messages {
 public:
  explicit Messages(size_t topics) : topics_(topics) {}

  Event next(int64_t now_ms) {
    Event event;
    event.type = EventType::kTimerEnqueued;
    event.topic = "topic-" + std::to_string(random_() % topics_);
    static constexpr char kHex[] = "0123456789ABCDEF";
    event.id.resize(32);
    for (char& c : event.id) c = kHex[random_() & 15];
    event.deliver_at_ms = now_ms + 1 + static_cast<int64_t>(random_() % (3 * kDayMs));
    return event;
  }

 private:
  size_t topics_;
  std::mt19937_64 random_{20241125};
};

void row(const char* phase, double seconds, const std::string& size, const std::string& rate) {
  std::printf("| %-44s | %8.2f s | %10s | %18s |\n", phase, seconds, size.c_str(), rate.c_str());
}

std::string megabytes(uint64_t bytes) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.0f MB", static_cast<double>(bytes) / 1e6);
  return text;
}

std::string per_second(double count, double seconds, const char* unit) {
  char text[48];
  std::snprintf(text, sizeof(text), "%.2f M %s/s", count / seconds / 1e6, unit);
  return text;
}

}  // namespace

int main(int argc, char** argv) {
  const Options options = parse_options(argc, argv);
  const bool own_dir = options.dir.empty();
  std::string dir = options.dir;
  if (own_dir) {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "recovery-bench-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) return 1;
    dir = pattern;
  }
  const std::string state = dir + "/state";
  std::printf("recovery of %zu pending messages over %zu topics, state in %s\n\n", options.messages,
              options.topics, state.c_str());
  std::printf("| %-44s | %10s | %10s | %18s |\n|%s|%s|%s|%s|\n", "phase", "time", "size", "rate",
              std::string(46, '-').c_str(), std::string(12, '-').c_str(),
              std::string(12, '-').c_str(), std::string(20, '-').c_str());

  Messages messages(options.topics);
  {
    Instance live(state);
    live.recover();
    auto start = std::chrono::steady_clock::now();
    std::vector<Event> batch;
    for (size_t added = 0; added < options.messages; added += batch.size()) {
      batch.clear();
      const int64_t now_ms = live.system_clock.now_ms();
      while (batch.size() < kBatchEvents && added + batch.size() < options.messages) {
        batch.push_back(messages.next(now_ms));
      }
      live.sidecar.engine().apply(batch, EventSource::kWebhook);  // not journaled: built up
    }
    row("build the engine (not journaled)", seconds_since(start), "",
        per_second(static_cast<double>(options.messages), seconds_since(start), "msgs"));

    // Inputs keep coming during the compaction: the longest wait for a reply is its stall.
    std::atomic<bool> compacted{false};
    double longest_reply = 0;
    std::thread client([&] {
      Messages more(options.topics);
      while (!compacted) {
        const auto sent = std::chrono::steady_clock::now();
        live.sidecar.apply({more.next(live.system_clock.now_ms())}, EventSource::kWebhook);
        longest_reply = std::max(longest_reply, seconds_since(sent));
      }
    });
    start = std::chrono::steady_clock::now();
    live.durability.compact();
    const double compaction = seconds_since(start);
    compacted = true;
    client.join();
    row("write the snapshot (compact)", compaction, megabytes(bytes_of(state, "snapshot")),
        per_second(static_cast<double>(options.messages), compaction, "msgs"));
    row("longest webhook reply during it", longest_reply, "", "");
  }
  drop_cached_pages(state);
  {
    const auto start = std::chrono::steady_clock::now();
    Instance recovered(state);
    const RecoveryReport report = recovered.recover();
    const double seconds = seconds_since(start);
    row("recover: snapshot only", seconds, megabytes(bytes_of(state, "snapshot")),
        per_second(static_cast<double>(report.pending), seconds, "msgs"));
    if (report.pending < options.messages) {
      std::fprintf(stderr, "recovered %zu pending messages, fewer than %zu\n", report.pending,
                   options.messages);
      return 1;
    }

    const auto journal_start = std::chrono::steady_clock::now();
    std::vector<Event> batch;
    for (size_t written = 0; written < options.journal_events; written += batch.size()) {
      batch.clear();
      const int64_t now_ms = recovered.system_clock.now_ms();
      while (batch.size() < kJournalBatchEvents &&
             written + batch.size() < options.journal_events) {
        batch.push_back(messages.next(now_ms));
      }
      recovered.sidecar.apply(batch, EventSource::kWebhook);
    }
    row("journal events (webhook path, sync always)", seconds_since(journal_start),
        megabytes(bytes_of(state, "journal-")),
        per_second(static_cast<double>(options.journal_events), seconds_since(journal_start),
                   "events"));
  }
  drop_cached_pages(state);
  {
    const auto start = std::chrono::steady_clock::now();
    Instance recovered(state);
    const RecoveryReport report = recovered.recover();
    const double seconds = seconds_since(start);
    row("recover: snapshot + journal", seconds,
        megabytes(bytes_of(state, "snapshot") + bytes_of(state, "journal-")),
        std::to_string(report.journal_records) + " records");
  }
  if (own_dir) std::filesystem::remove_all(dir);
  return 0;
}
