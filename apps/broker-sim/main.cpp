// broker-sim: a simulated RocketMQ broker for timing-sidecar's demo, tests and benchmarks.
// Wiring only: flags, the broker's state, its HTTP listener and the optional webhook pusher.

#include <signal.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <string>

#include "broker_http.hpp"
#include "broker_state.hpp"
#include "fault_injector.hpp"
#include "timing_sidecar/config.hpp"
#include "timing_sidecar/log.hpp"
#include "webhook_pusher.hpp"

using namespace broker_sim;
using timing_sidecar::log;
using timing_sidecar::LogLevel;

namespace {

struct Options {
  std::string listen = "127.0.0.1:10912";
  std::string port_file;
  size_t history = 10'000;
  std::string webhook_url;
  FaultSettings faults;
  uint64_t seed = 0;
  int threads = 16;
  std::string log_level = "info";
};

// Written to a temporary name and renamed, so that a reader polling for the file never sees
// it half-written.
bool write_port_file(const std::string& path, int port) {
  const std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::trunc);
    out << port << '\n';
    if (!out.flush()) return false;
  }
  std::error_code error;
  std::filesystem::rename(temporary, path, error);
  return !error;
}

LogLevel log_level_of(const std::string& name) {
  return name == "debug"   ? LogLevel::kDebug
         : name == "warn"  ? LogLevel::kWarn
         : name == "error" ? LogLevel::kError
                           : LogLevel::kInfo;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  CLI::App app{
      "broker-sim: a simulated RocketMQ broker serving the broker API of timing-sidecar "
      "(GET /v1/topics, GET /v1/events) and an /admin API to drive it."};
  app.add_option("--listen", options.listen, "HOST:PORT to listen on; port 0 picks a free port")
      ->capture_default_str()
      ->check([](const std::string& text) {
        return timing_sidecar::parse_listen_address(text) ? std::string()
                                                          : "expected HOST:PORT or [V6]:PORT";
      });
  app.add_option("--port-file", options.port_file,
                 "Write the bound port to this file once listening");
  app.add_option("--history", options.history, "Events kept for GET /v1/events")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1}, size_t{100'000'000}));
  app.add_option("--webhook-url", options.webhook_url,
                 "Also push every event here (e.g. http://127.0.0.1:9878; path /v1/events "
                 "unless the URL has one)");
  app.add_option("--fault.error-rate", options.faults.error_rate,
                 "Share of /v1/* replies that are 503")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--fault.garbage-rate", options.faults.garbage_rate,
                 "Share of /v1/* replies that are 200 with a body that is not JSON")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--fault.drop-rate", options.faults.drop_rate,
                 "Share of /v1/* requests whose connection is closed without a reply")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--fault.delay-ms", options.faults.delay_ms, "Delay before every /v1/* reply")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{0}, int64_t{600'000}));
  CLI::Option* seed_option = app.add_option(
      "--seed", options.seed, "Seed of the fault and id generators (default: random)");
  app.add_option("--threads", options.threads, "HTTP worker threads; each long-poll holds one")
      ->capture_default_str()
      ->check(CLI::Range(2, 1024));
  app.add_option("--log.level", options.log_level, "debug, info, warn or error")
      ->capture_default_str()
      ->check(CLI::IsMember({"debug", "info", "warn", "error"}));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    return app.exit(error);
  }
  timing_sidecar::configure_logging(log_level_of(options.log_level),
                                    timing_sidecar::LogFormat::kText);
  if (seed_option->count() == 0) options.seed = std::random_device{}();

  // Every thread started from here on inherits the mask; only sigwait below sees the signals.
  sigset_t shutdown_signals;
  sigemptyset(&shutdown_signals);
  sigaddset(&shutdown_signals, SIGINT);
  sigaddset(&shutdown_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &shutdown_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  std::unique_ptr<WebhookPusher> pusher;
  BrokerState::EventSink sink;
  if (!options.webhook_url.empty()) {
    const std::optional<WebhookTarget> target = parse_webhook_url(options.webhook_url);
    if (!target) {
      log(LogLevel::kError, "--webhook-url must be http(s)://HOST:PORT[/PATH]",
          {{"url", options.webhook_url}});
      return 2;
    }
    pusher = std::make_unique<WebhookPusher>(*target);
    sink = [&pusher](const std::string& event_json) { pusher->push(event_json); };
  }
  BrokerState state(options.history, options.seed, sink);
  // A stream of its own, so that turning faults on does not change the ids generated.
  FaultInjector faults(options.faults, options.seed ^ 0x9e3779b97f4a7c15ULL);
  BrokerHttp http(state, faults, pusher.get(), options.threads);

  std::string error;
  if (!http.start(*timing_sidecar::parse_listen_address(options.listen), &error)) {
    log(LogLevel::kError, "cannot start", {{"error", error}});
    return 1;
  }
  if (!options.port_file.empty() && !write_port_file(options.port_file, http.port())) {
    log(LogLevel::kError, "cannot write the port file", {{"path", options.port_file}});
    return 1;
  }
  log(LogLevel::kInfo, "broker-sim started",
      {{"listen", options.listen},
       {"port", std::to_string(http.port())},
       {"history", std::to_string(options.history)},
       {"webhook", options.webhook_url.empty() ? "off" : options.webhook_url},
       {"seed", std::to_string(options.seed)}});

  int signal_number = 0;
  sigwait(&shutdown_signals, &signal_number);
  log(LogLevel::kInfo, "shutting down",
      {{"signal", signal_number == SIGTERM ? "SIGTERM" : "SIGINT"}});
  // Handlers that wait must return before the listener can join its threads.
  state.shutdown();
  faults.shutdown();
  http.stop();
  if (pusher) pusher->stop();
  return 0;
}
