// Wiring only: configuration, the sidecar, its threads and its listeners.

#include <signal.h>

#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string_view>

#include "timing_sidecar/allocator.hpp"
#include "timing_sidecar/background.hpp"
#include "timing_sidecar/config.hpp"
#include "timing_sidecar/config_reload.hpp"
#include "timing_sidecar/demo.hpp"
#include "timing_sidecar/durability.hpp"
#include "timing_sidecar/live_security.hpp"
#include "timing_sidecar/log.hpp"
#include "timing_sidecar/notify.hpp"
#include "timing_sidecar/reload_status.hpp"
#include "timing_sidecar/server.hpp"
#include "timing_sidecar/sidecar.hpp"
#include "timing_sidecar/sources.hpp"

using namespace timing_sidecar;

namespace {

std::string display_url(const std::string& listen_address, bool tls, int port, const char* path) {
  std::string host = parse_listen_address(listen_address)->host;
  if (host == "0.0.0.0" || host == "::") host = "127.0.0.1";
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  return (tls ? "https://" : "http://") + host + ":" + std::to_string(port) + path;
}

// How often the web config, the files it names and the webhook secret file are checked for a
// change (a stat each).
constexpr int64_t kSecurityFilesCheckIntervalMs = 1000;

// How often the allocator's free pages go back to the system: often enough that a burst's parse
// buffers do not stay resident for long, seldom enough that the walk over the heap costs nothing.
constexpr int64_t kReleaseFreeMemoryIntervalMs = 5000;

std::string join(const std::vector<std::string>& names) {
  std::string text;
  for (const std::string& name : names) text += (text.empty() ? "" : ",") + name;
  return text;
}

// SIGHUP: the command line, --config and the environment read again, and what can change on a
// running sidecar applied. A config that does not parse leaves everything as it is.
void reload_config(int argc, char** argv, Config& running, PeriodicTask& sweep, Sources& sources,
                   ReloadStatus& status) {
  auto parsed = parse_config(argc, argv);
  if (auto* exit = std::get_if<ConfigExit>(&parsed)) {
    std::string error = exit->output;
    while (!error.empty() && error.back() == '\n') error.pop_back();
    log(LogLevel::kWarn, "config not reloaded: keeping the running one", {{"error", error}});
    status.record("config", false);
    return;
  }
  const Config& reread = std::get<Config>(parsed);
  const ConfigChanges changes = compare_configs(running, reread);
  configure_logging(reread.log_level, reread.log_format);
  if (reread.reconcile_interval_ms != running.reconcile_interval_ms) {
    sweep.set_interval_ms(reread.reconcile_interval_ms);
  }
  if (reread.sources_poll_interval_ms != running.sources_poll_interval_ms) {
    sources.set_poll_interval_ms(reread.sources_poll_interval_ms);
  }
  running.log_level = reread.log_level;
  running.log_format = reread.log_format;
  running.reconcile_interval_ms = reread.reconcile_interval_ms;
  running.sources_poll_interval_ms = reread.sources_poll_interval_ms;
  if (!changes.need_restart.empty()) {
    log(LogLevel::kWarn, "config changes need a restart: left as they are until then",
        {{"flags", join(changes.need_restart)}});
  }
  log(LogLevel::kInfo, "config reloaded",
      {{"applied", changes.applied.empty() ? "nothing changed" : join(changes.applied)}});
  status.record("config", true);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::string_view(argv[1]) == "notify") return run_notify(argc - 1, argv + 1);
  tune_allocator();
  // Every thread started from here on inherits the mask; only sigwait below sees the signals. A
  // SIGHUP is never the default action, which ends the process, even before the loop waits.
  sigset_t handled_signals;
  sigemptyset(&handled_signals);
  sigaddset(&handled_signals, SIGINT);
  sigaddset(&handled_signals, SIGTERM);
  sigaddset(&handled_signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &handled_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto parsed = parse_config(argc, argv);
  if (auto* exit = std::get_if<ConfigExit>(&parsed)) {
    std::fputs(exit->output.c_str(), exit->code == 0 ? stdout : stderr);
    return exit->code;
  }
  Config config = std::get<Config>(parsed);
  configure_logging(config.log_level, config.log_format);

  SystemClock system_clock;
  // Inputs are applied, and replayed after a crash, at the time journaled with them.
  JournalClock clock(system_clock);
  Sidecar sidecar(config, clock);
  // Recovered before any thread or listener starts; outlives them all.
  std::unique_ptr<Durability> durability;
  std::string state = "in memory only (no --state.dir)";
  if (!config.state_dir.empty()) {
    try {
      durability = std::make_unique<Durability>(durability_config(config), sidecar.engine(), clock,
                                                sidecar.metrics().registry());
      const RecoveryReport report = durability->recover();
      sidecar.attach_input_log(durability.get());
      LogFields fields = {{"dir", config.state_dir},
                          {"snapshot", report.snapshot_loaded ? "loaded" : "none"},
                          {"journal_records", std::to_string(report.journal_records)},
                          {"pending", std::to_string(report.pending)},
                          {"topics", std::to_string(report.topics)},
                          {"tombstones", std::to_string(report.tombstones)},
                          {"duration", format_duration(report.duration.count())}};
      if (report.feed_position) {
        fields.emplace_back("feed_revision", std::to_string(report.feed_position->revision));
      }
      if (report.damage) fields.emplace_back("damage", *report.damage);
      log(LogLevel::kInfo, "state recovered", fields);
    } catch (const std::exception& failure) {
      log(LogLevel::kError, "cannot start", {{"error", failure.what()}});
      return 1;
    }
    state = config.state_dir + " (sync " +
            (config.state_sync == StateSync::kAlways ? "always" : "interval") + ")";
  }
  TimerDriver timer_driver(sidecar.engine());
  PeriodicTask sweep(config.reconcile_interval_ms, [&sidecar] { sidecar.sweep(); });
  ReloadStatus reload_status(sidecar.metrics().registry(), sidecar.engine().config().labels,
                             system_clock);
  std::unique_ptr<LiveSecurity> security;
  std::unique_ptr<HttpServer> server;
  try {
    security = std::make_unique<LiveSecurity>(config.web_config_file, config.webhook_secret_file,
                                              reload_status);
    server = std::make_unique<HttpServer>(config, *security, sidecar,
                                          [&timer_driver] { timer_driver.poke(); });
  } catch (const std::exception& failure) {
    log(LogLevel::kError, "cannot start", {{"error", failure.what()}});
    return 1;
  }
  PeriodicTask security_files(kSecurityFilesCheckIntervalMs,
                              [&security] { security->reload(false); });
  PeriodicTask release_memory(kReleaseFreeMemoryIntervalMs, release_free_memory);
  std::string error;
  if (!server->start(&error)) {
    log(LogLevel::kError, "cannot start", {{"error", error}});
    return 1;
  }
  log(LogLevel::kInfo, "timing-sidecar started",
      {{"version", TIMING_SIDECAR_VERSION},
       {"web", display_url(config.web_listen_address, security->tls(), server->web_port(), "")},
       {"webhook",
        display_url(config.webhook_listen_address, security->tls(), server->webhook_port(), "")},
       {"tls", security->tls() ? "on" : "off"},
       {"webhook_auth", security->webhook_secrets()->empty() ? "loopback only" : "signed"},
       {"state", state}});

  std::unique_ptr<Sources> sources;
  try {
    sources = std::make_unique<Sources>(config, sidecar, system_clock,
                                        [&timer_driver] { timer_driver.poke(); });
  } catch (const std::invalid_argument& error) {
    log(LogLevel::kError, "cannot start", {{"error", error.what()}});
    return 1;
  }

  std::unique_ptr<DemoBroker> demo;
  if (config.demo) {
    demo = std::make_unique<DemoBroker>(sidecar, clock, [&timer_driver] { timer_driver.poke(); });
    std::printf(
        "timing-sidecar demo: metrics at %s\n",
        display_url(config.web_listen_address, security->tls(), server->web_port(), "/metrics")
            .c_str());
    std::fflush(stdout);
  }

  int signal_number = 0;
  while (sigwait(&handled_signals, &signal_number) == 0 && signal_number == SIGHUP) {
    log(LogLevel::kInfo, "reloading", {{"signal", "SIGHUP"}});
    reload_config(argc, argv, config, sweep, *sources, reload_status);
    security->reload(true);
  }
  log(LogLevel::kInfo, "shutting down",
      {{"signal", signal_number == SIGTERM ? "SIGTERM" : "SIGINT"}});
  demo.reset();
  sources.reset();
  server->stop();
  return 0;
}
