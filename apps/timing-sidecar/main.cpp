// Wiring only: configuration, the sidecar, its threads and its listeners.

#include <signal.h>

#include <cstdio>
#include <memory>

#include "timing_sidecar/background.hpp"
#include "timing_sidecar/config.hpp"
#include "timing_sidecar/demo.hpp"
#include "timing_sidecar/log.hpp"
#include "timing_sidecar/server.hpp"
#include "timing_sidecar/sidecar.hpp"

using namespace timing_sidecar;

namespace {

std::string display_url(const std::string& listen_address, int port, const char* path) {
  std::string host = parse_listen_address(listen_address)->host;
  if (host == "0.0.0.0" || host == "::") host = "127.0.0.1";
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  return "http://" + host + ":" + std::to_string(port) + path;
}

}  // namespace

int main(int argc, char** argv) {
  auto parsed = parse_config(argc, argv);
  if (auto* exit = std::get_if<ConfigExit>(&parsed)) {
    std::fputs(exit->output.c_str(), exit->code == 0 ? stdout : stderr);
    return exit->code;
  }
  const Config& config = std::get<Config>(parsed);
  configure_logging(config.log_level, config.log_format);

  // Every thread started from here on inherits the mask; only sigwait below sees the signals.
  sigset_t shutdown_signals;
  sigemptyset(&shutdown_signals);
  sigaddset(&shutdown_signals, SIGINT);
  sigaddset(&shutdown_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &shutdown_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  SystemClock clock;
  Sidecar sidecar(config, clock);
  TimerDriver timer_driver(sidecar.engine());
  PeriodicTask sweep(config.reconcile_interval_ms, [&sidecar] { sidecar.sweep(); });
  HttpServer server(config, sidecar, [&timer_driver] { timer_driver.poke(); });
  std::string error;
  if (!server.start(&error)) {
    log(LogLevel::kError, "cannot start", {{"error", error}});
    return 1;
  }
  log(LogLevel::kInfo, "timing-sidecar started",
      {{"version", TIMING_SIDECAR_VERSION},
       {"web", display_url(config.web_listen_address, server.web_port(), "")},
       {"webhook", display_url(config.webhook_listen_address, server.webhook_port(), "")},
       {"state", "in memory only (no --state.dir)"}});

  std::unique_ptr<DemoBroker> demo;
  if (config.demo) {
    demo = std::make_unique<DemoBroker>(sidecar, clock, [&timer_driver] { timer_driver.poke(); });
    std::printf("timing-sidecar demo: metrics at %s\n",
                display_url(config.web_listen_address, server.web_port(), "/metrics").c_str());
    std::fflush(stdout);
  }

  int signal_number = 0;
  sigwait(&shutdown_signals, &signal_number);
  log(LogLevel::kInfo, "shutting down",
      {{"signal", signal_number == SIGTERM ? "SIGTERM" : "SIGINT"}});
  demo.reset();
  server.stop();
  return 0;
}
