// End to end over loopback: starts the real timing-sidecar binary, tracks --topics topics, then
// sends timing events through POST /v1/events in batches from --clients keep-alive clients while
// a scraper reads /metrics, and prints a Markdown table:
//
//   http_bench [--sidecar PATH] [--topics N] [--clients C] [--batch B] [--seconds S]
//              [--scrape-pause-ms P]
//
// Three phases of S seconds each: ingestion alone, ingestion with a plain scraper, ingestion
// with a gzip scraper. Every batch holds B/2 timer.enqueued of new ids and B/2 timer.dequeued of
// the ids the same client enqueued one batch earlier, over random topics, so that the pending
// count stays bounded however long the run. The scraper waits P ms between scrapes, as a
// Prometheus would wait its interval (its default, 15 s, would leave too few samples); the first
// scrape of a phase, which makes the sidecar and the scraper fault in their buffers, is not timed.

#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "bench_util.hpp"

extern char** environ;

namespace {

using Clock = std::chrono::steady_clock;

// Thrown, so that the sidecar's process is ended on the way out.
[[noreturn]] void fail(const std::string& what) {
  throw std::runtime_error(what);
}

struct Options {
  std::string sidecar;
  size_t topics = 100'000;
  size_t clients = 4;
  size_t batch = 1000;
  size_t seconds = 15;
  size_t scrape_pause_ms = 1000;
};

// A port nothing listens on right now (the sidecar binds it a moment later).
int free_port() {
  const int probe = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  const bool bound = bind(probe, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
                     getsockname(probe, reinterpret_cast<sockaddr*>(&address), &length) == 0;
  close(probe);
  if (!bound) fail("no free port on 127.0.0.1");
  return ntohs(address.sin_port);
}

std::string topic_name(size_t topic) {
  static const char* const kApps[] = {"order", "payment", "inventory", "notify"};
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%s-delay-%07zu", kApps[topic % 4], topic);
  return buffer;
}

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class SidecarProcess {
 public:
  SidecarProcess(const std::string& binary, size_t topics)
      : web_port_(free_port()), webhook_port_(free_port()) {
    const std::string web = "127.0.0.1:" + std::to_string(web_port_);
    const std::string webhook = "127.0.0.1:" + std::to_string(webhook_port_);
    const std::string max_topics = std::to_string(topics * 2);
    std::vector<std::string> args = {
        binary,  "--web.listen-address", web,        "--webhook.listen-address",
        webhook, "--max-topics",         max_topics, "--log.level",
        "warn"};
    std::vector<char*> argv;
    for (std::string& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    if (posix_spawn(&pid_, binary.c_str(), nullptr, nullptr, argv.data(), environ) != 0) {
      fail("cannot start " + binary);
    }
    httplib::Client health("127.0.0.1", web_port_);
    for (int attempt = 0; attempt < 200; ++attempt) {
      if (auto reply = health.Get("/healthz"); reply && reply->status == 200) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    stop();
    fail("the sidecar did not answer /healthz");
  }

  ~SidecarProcess() { stop(); }

  int web_port() const { return web_port_; }
  int webhook_port() const { return webhook_port_; }

 private:
  void stop() {
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
  }

  int web_port_;
  int webhook_port_;
  pid_t pid_ = 0;
};

double percentile(std::vector<double> values, double fraction) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const size_t index = std::min(values.size() - 1, static_cast<size_t>(fraction * values.size()));
  return values[index];
}

// One webhook client: a keep-alive connection sending batches until the deadline.
struct ClientResult {
  size_t events = 0;
  std::vector<double> latencies_ms;
  std::string error;  // the thread stops at the first failure
};

ClientResult run_client(int port, size_t client, const Options& options, Clock::time_point end) {
  httplib::Client http("127.0.0.1", port);
  http.set_keep_alive(true);
  http.set_read_timeout(30, 0);
  std::mt19937_64 random(client + 1);
  const size_t half = options.batch / 2;
  std::vector<std::pair<size_t, uint64_t>> previous;  // (topic, id) enqueued by the last batch
  std::vector<std::pair<size_t, uint64_t>> current;
  ClientResult result;
  std::string body;
  char event[256];
  for (uint64_t sequence = 0; Clock::now() < end; ++sequence) {
    body = "[";
    current.clear();
    const int64_t now = now_ms();
    for (size_t index = 0; index < half; ++index) {
      const size_t topic = random() % options.topics;
      const uint64_t id = (static_cast<uint64_t>(client) << 48) | (sequence << 16) | index;
      current.emplace_back(topic, id);
      std::snprintf(
          event, sizeof event,
          "%s{\"type\":\"timer.enqueued\",\"topic\":\"%s\",\"id\":\"%016llX%016llX\","
          "\"deliverAtMs\":%lld}",
          index == 0 ? "" : ",", topic_name(topic).c_str(), 0x7F000001ULL,
          static_cast<unsigned long long>(id),
          static_cast<long long>(now + 60'000 + static_cast<int64_t>(random() % 86'400'000)));
      body += event;
    }
    for (const auto& [topic, id] : previous) {
      std::snprintf(event, sizeof event,
                    ",{\"type\":\"timer.dequeued\",\"topic\":\"%s\",\"id\":\"%016llX%016llX\"}",
                    topic_name(topic).c_str(), 0x7F000001ULL, static_cast<unsigned long long>(id));
      body += event;
    }
    body += "]";
    const auto start = Clock::now();
    const auto reply = http.Post("/v1/events", body, "application/json");
    result.latencies_ms.push_back(
        std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    if (!reply || reply->status != 200) {
      result.error =
          "POST /v1/events failed: " + (reply ? std::to_string(reply->status) + " " + reply->body
                                              : httplib::to_string(reply.error()));
      break;
    }
    result.events += current.size() + previous.size();
    std::swap(previous, current);
  }
  return result;
}

struct Scrapes {
  std::vector<double> latencies_ms;
  size_t last_body_bytes = 0;
  std::string error;
};

Scrapes run_scraper(int port, bool gzip, size_t pause_ms, const std::atomic<bool>& stop) {
  httplib::Client http("127.0.0.1", port);
  http.set_keep_alive(true);
  http.set_read_timeout(60, 0);
  http.set_decompress(true);
  const httplib::Headers headers =
      gzip ? httplib::Headers{{"Accept-Encoding", "gzip"}} : httplib::Headers{};
  Scrapes scrapes;
  // Received into a buffer kept across scrapes, as Prometheus does: cpp-httplib's own grows a new
  // string for every response, and its page faults and copies would be counted as the sidecar's.
  std::string body;
  const auto receive = [&body](const char* data, size_t length) {
    body.append(data, length);
    return true;
  };
  // Not timed: a first scrape faults in the buffers, once after the sidecar starts.
  if (!http.Get("/metrics", headers, receive)) {
    scrapes.error = "GET /metrics failed";
    return scrapes;
  }
  while (!stop.load()) {
    body.clear();
    const auto start = Clock::now();
    const auto reply = http.Get("/metrics", headers, receive);
    scrapes.latencies_ms.push_back(
        std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    if (!reply || reply->status != 200) {
      scrapes.error = "GET /metrics failed";
      break;
    }
    scrapes.last_body_bytes = body.size();
    std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms));
  }
  return scrapes;
}

struct PhaseResult {
  double events_per_second = 0;
  std::vector<double> ingest_latencies_ms;
  Scrapes scrapes;
};

enum class Scraper { kNone, kPlain, kGzip };

PhaseResult run_phase(const SidecarProcess& sidecar, const Options& options, Scraper scraper) {
  std::atomic<bool> stop{false};
  Scrapes scrapes;
  std::thread scraper_thread;
  if (scraper != Scraper::kNone) {
    scraper_thread = std::thread([&] {
      scrapes =
          run_scraper(sidecar.web_port(), scraper == Scraper::kGzip, options.scrape_pause_ms, stop);
    });
  }
  const auto start = Clock::now();
  const auto end = start + std::chrono::seconds(options.seconds);
  std::vector<ClientResult> results(options.clients);
  std::vector<std::thread> clients;
  for (size_t client = 0; client < options.clients; ++client) {
    clients.emplace_back([&, client] {
      results[client] = run_client(sidecar.webhook_port(), client, options, end);
    });
  }
  for (std::thread& client : clients) client.join();
  const double elapsed_s = std::chrono::duration<double>(Clock::now() - start).count();
  stop = true;
  if (scraper_thread.joinable()) scraper_thread.join();

  PhaseResult phase;
  if (!scrapes.error.empty()) fail(scrapes.error);
  size_t events = 0;
  for (const ClientResult& result : results) {
    if (!result.error.empty()) fail(result.error);
    events += result.events;
    phase.ingest_latencies_ms.insert(phase.ingest_latencies_ms.end(), result.latencies_ms.begin(),
                                     result.latencies_ms.end());
  }
  phase.events_per_second = static_cast<double>(events) / elapsed_s;
  phase.scrapes = std::move(scrapes);
  return phase;
}

void track_topics(const SidecarProcess& sidecar, const Options& options) {
  httplib::Client http("127.0.0.1", sidecar.webhook_port());
  http.set_read_timeout(30, 0);
  for (size_t begin = 0; begin < options.topics; begin += options.batch) {
    std::string body = "[";
    for (size_t topic = begin; topic < std::min(options.topics, begin + options.batch); ++topic) {
      if (topic != begin) body += ',';
      body += "{\"type\":\"topic.created\",\"topic\":\"" + topic_name(topic) + "\"}";
    }
    body += "]";
    const auto reply = http.Post("/v1/events", body, "application/json");
    if (!reply || reply->status != 200) {
      fail("creating the topics failed: " + (reply
                                                 ? std::to_string(reply->status) + " " + reply->body
                                                 : httplib::to_string(reply.error())));
    }
  }
}

Options parse_options(int argc, char** argv) {
  Options options;
  const std::string self = argv[0];
  options.sidecar = self.substr(0, self.rfind('/') + 1) + "timing-sidecar";
  const std::vector<std::pair<const char*, size_t*>> counts = {
      {"--topics", &options.topics},
      {"--clients", &options.clients},
      {"--batch", &options.batch},
      {"--seconds", &options.seconds},
      {"--scrape-pause-ms", &options.scrape_pause_ms}};
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (i + 1 >= argc) fail("usage: see the comment at the top of http_bench.cpp");
    if (arg == "--sidecar") {
      options.sidecar = argv[++i];
      continue;
    }
    const auto flag = std::find_if(counts.begin(), counts.end(),
                                   [&](const auto& candidate) { return arg == candidate.first; });
    if (flag == counts.end()) fail("unknown flag " + std::string(arg));
    const std::optional<size_t> count = bench::parse_count(argv[++i]);
    if (!count) fail(std::string(flag->first) + " needs a positive integer");
    *flag->second = *count;
  }
  if (options.batch < 2) fail("--batch needs at least 2 events");
  return options;
}

std::string latency_text(const std::vector<double>& latencies_ms) {
  char buffer[96];
  std::snprintf(
      buffer, sizeof buffer, "%.1f / %.1f / %.1f (%zu)", percentile(latencies_ms, 0.5),
      percentile(latencies_ms, 0.99),
      latencies_ms.empty() ? 0.0 : *std::max_element(latencies_ms.begin(), latencies_ms.end()),
      latencies_ms.size());
  return buffer;
}

}  // namespace

int main(int argc, char** argv) try {
  const Options options = parse_options(argc, argv);
  signal(SIGPIPE, SIG_IGN);
  SidecarProcess sidecar(options.sidecar, options.topics);
  std::fprintf(stderr, "tracking %zu topics\n", options.topics);
  track_topics(sidecar, options);

  const std::vector<std::pair<const char*, Scraper>> phases = {
      {"ingestion alone", Scraper::kNone},
      {"ingestion + plain scraper", Scraper::kPlain},
      {"ingestion + gzip scraper", Scraper::kGzip}};
  std::printf(
      "timing-sidecar over loopback: %zu topics tracked (13 series each), %zu webhook clients "
      "(keep-alive) sending batches of %zu timing events (half timer.enqueued, half "
      "timer.dequeued), %zu s per phase; the scraper pauses %zu ms between scrapes. Latencies in "
      "ms: p50 / p99 / max (count).\n\n",
      options.topics, options.clients, options.batch, options.seconds, options.scrape_pause_ms);
  std::printf(
      "| phase | timing events ingested per second | POST /v1/events latency | GET /metrics "
      "latency | /metrics body (MB) |\n");
  std::printf("|---|---:|---:|---:|---:|\n");
  for (const auto& [name, scraper] : phases) {
    std::fprintf(stderr, "%s: %zu s\n", name, options.seconds);
    const PhaseResult phase = run_phase(sidecar, options, scraper);
    const bool scraped = scraper != Scraper::kNone;
    std::printf("| %s | %.0f | %s | %s | %s |\n", name, phase.events_per_second,
                latency_text(phase.ingest_latencies_ms).c_str(),
                scraped ? latency_text(phase.scrapes.latencies_ms).c_str() : "",
                scraped ? std::to_string(static_cast<double>(phase.scrapes.last_body_bytes) / 1e6)
                              .substr(0, 5)
                              .c_str()
                        : "");
    std::fflush(stdout);
  }
  return 0;
} catch (const std::exception& failure) {
  std::fprintf(stderr, "http_bench: %s\n", failure.what());
  return 1;
}
