#pragma once

// Command-line flags, a TOML config file and TIMING_SIDECAR_* environment variables, with CLI11.
// Precedence: command line > config file > environment > default.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "timing_sidecar/defaults.hpp"
#include "timing_sidecar/duration.hpp"
#include "timing_sidecar/log.hpp"

namespace timing_sidecar {

struct ListenAddress {
  std::string host;
  int port = 0;
};

// When an accepted input reaches the disk (durability.hpp).
enum class StateSync { kAlways, kInterval };

struct Config {
  std::string web_listen_address = "0.0.0.0:9877";
  std::string webhook_listen_address = "127.0.0.1:9878";
  int64_t webhook_max_body_bytes = 1 << 20;
  std::string webhook_secret_file;
  int64_t webhook_tolerance_ms = 5 * 60'000;
  std::string web_config_file;
  int web_threads = 128;
  std::string cluster;
  std::string node_id;
  int64_t timer_precision_ms = kDefaultTimerPrecisionMs;
  int64_t timer_max_delay_ms = kDefaultTimerMaxDelayMs;
  int64_t overdue_grace_ms = kDefaultOverdueGraceMs;
  bool snapshot_per_topic = true;
  int64_t reconcile_interval_ms = 30'000;
  double reconcile_max_drop_ratio = 0.5;
  std::string broker_url;
  int64_t broker_resync_interval_ms = 5 * 60'000;
  int64_t broker_poll_timeout_ms = 30'000;
  std::string topics_file;
  std::string topics_dashboard_url;
  std::string timer_metrics_file;
  std::string broker_remoting_address;  // host:port of the broker's remoting (admin) port
  std::string broker_access_key;        // with broker_secret_key_file: ACL-signed requests
  std::string broker_secret_key_file;
  int64_t sources_poll_interval_ms = 5'000;
  int64_t max_topics = 1'000'000;
  std::string topics_include;  // RE2, fully anchored; empty: every topic
  std::string topics_exclude;  // RE2, fully anchored; empty: none
  int64_t tombstone_retention_ms = timer_max_delay_ms + kTombstoneRetentionMarginMs;
  int64_t max_tombstones = 1'000'000;
  LogLevel log_level = LogLevel::kInfo;
  LogFormat log_format = LogFormat::kText;
  bool demo = false;
  std::string state_dir;  // empty: the state lives in memory only
  StateSync state_sync = StateSync::kAlways;
  int64_t state_compact_bytes = int64_t{64} << 20;
};

// What parse_config says instead of a config: --help or --version text (code 0) or an error
// (code != 0), to be printed by the caller.
struct ConfigExit {
  int code = 0;
  std::string output;
};

std::variant<Config, ConfigExit> parse_config(int argc, const char* const* argv);

// "1048576", "512KiB", "1MiB", "1GiB". nullopt if malformed.
std::optional<int64_t> parse_byte_size(std::string_view text);

// 127.0.0.0/8, ::1 and localhost.
bool is_loopback_host(std::string_view host);

// "host:port" or "[v6]:port"; nullopt if malformed.
std::optional<ListenAddress> parse_listen_address(std::string_view text);

}  // namespace timing_sidecar
