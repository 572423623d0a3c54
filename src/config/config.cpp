#include "timing_sidecar/config.hpp"

#include <CLI/CLI.hpp>
#include <array>
#include <cctype>
#include <charconv>
#include <sstream>

#include "timing_sidecar/config_file.hpp"
#include "timing_sidecar/topic_filter.hpp"

namespace timing_sidecar {

namespace {

std::string env_name(std::string_view flag) {
  std::string name = "TIMING_SIDECAR_";
  for (char c : flag.substr(2)) {
    name += (c == '.' || c == '-') ? '_' : static_cast<char>(std::toupper(c));
  }
  return name;
}

const CLI::Validator kDuration(
    [](std::string& value) -> std::string {
      if (parse_duration_ms(value)) return {};
      return "'" + value + "' is not a duration (write e.g. 500ms, 30s, 5m, 1h30m, 3d)";
    },
    "DURATION");

const CLI::Validator kByteSize(
    [](std::string& value) -> std::string {
      if (parse_byte_size(value)) return {};
      return "'" + value + "' is not a size in bytes (write e.g. 1048576, 512KiB, 1MiB)";
    },
    "SIZE");

const CLI::Validator kListenAddress(
    [](std::string& value) -> std::string {
      if (parse_listen_address(value)) return {};
      return "'" + value + "' is not host:port (e.g. 0.0.0.0:9877, 127.0.0.1:9878, [::1]:9878)";
    },
    "HOST:PORT");

// Options share one shape: a flag, its environment variable, and the default shown by --help.
class Flags {
 public:
  explicit Flags(CLI::App& app) : app_(app) {}

  template <typename T>
  CLI::Option* value(const std::string& flag, T& target, const std::string& help) {
    return app_.add_option(flag, target, help)->envname(env_name(flag))->capture_default_str();
  }

  CLI::Option* duration(const std::string& flag, int64_t& target_ms, const std::string& help) {
    return app_
        .add_option_function<std::string>(
            flag, [&target_ms](const std::string& value) { target_ms = *parse_duration_ms(value); },
            help)
        ->check(kDuration)
        ->envname(env_name(flag))
        ->default_str(format_duration(target_ms));
  }

 private:
  CLI::App& app_;
};

}  // namespace

std::optional<int64_t> parse_byte_size(std::string_view text) {
  int64_t number = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (error != std::errc() || end == text.data() || number < 0) return std::nullopt;
  const std::string_view suffix(end, static_cast<size_t>(text.data() + text.size() - end));
  int shift = 0;
  if (suffix == "KiB") {
    shift = 10;
  } else if (suffix == "MiB") {
    shift = 20;
  } else if (suffix == "GiB") {
    shift = 30;
  } else if (!suffix.empty() && suffix != "B") {
    return std::nullopt;
  }
  if (number > (INT64_MAX >> shift)) return std::nullopt;
  return number << shift;
}

bool is_loopback_host(std::string_view host) {
  return host == "localhost" || host == "::1" || host.substr(0, 4) == "127." ||
         host.substr(0, 11) == "::ffff:127.";
}

std::optional<ListenAddress> parse_listen_address(std::string_view text) {
  ListenAddress address;
  size_t colon;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return std::nullopt;
    }
    address.host = std::string(text.substr(1, close - 1));
    colon = close + 1;
  } else {
    colon = text.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    address.host = std::string(text.substr(0, colon));
  }
  const std::string_view port = text.substr(colon + 1);
  auto [end, error] = std::from_chars(port.data(), port.data() + port.size(), address.port);
  if (address.host.empty() || error != std::errc() || end != port.data() + port.size() ||
      address.port < 0 || address.port > 65535) {
    return std::nullopt;
  }
  return address;
}

std::variant<Config, ConfigExit> parse_config(int argc, const char* const* argv) {
  Config config;
  CLI::App app{
      "timing-sidecar: per-topic Prometheus metrics of Apache RocketMQ timing messages that stay "
      "exactly right when topics are deleted.",
      "timing-sidecar"};
  app.set_version_flag("--version", std::string("timing-sidecar ") + TIMING_SIDECAR_VERSION);
  app.set_config("--config", "",
                 "A TOML file whose keys are the flag names without dashes, as dotted keys "
                 "(web.listen-address = \"0.0.0.0:9877\") or in tables ([web])");
  // Reads the file when it is parsed, so it knows every flag added below.
  app.config_formatter(make_toml_config(app));
  app.allow_config_extras(CLI::config_extras_mode::error);
  app.get_formatter()->column_width(40);

  Flags flags(app);
  flags
      .value("--web.listen-address", config.web_listen_address,
             "Where GET /metrics, /healthz, /readyz and /v1/topics are served")
      ->check(kListenAddress);
  flags
      .value("--webhook.listen-address", config.webhook_listen_address,
             "Where POST /v1/events is served; keep it on loopback (the broker shares the pod)")
      ->check(kListenAddress);
  std::string max_body = "1MiB";
  flags.value("--webhook.max-body", max_body, "Largest webhook body accepted; larger ones get 413")
      ->check(kByteSize);
  flags
      .value("--webhook.secret-file", config.webhook_secret_file,
             "File holding the HMAC-SHA256 secrets that sign webhook requests "
             "(X-Timing-Signature), one per line, re-read when it changes; without it the webhook "
             "must listen on loopback")
      ->check(CLI::ExistingFile);
  flags.duration("--webhook.tolerance", config.webhook_tolerance_ms,
                 "How far a signed request's timestamp may be from now");
  flags
      .value("--web.config.file", config.web_config_file,
             "TLS and basic auth, in the exporter-toolkit's web config format; re-read, with "
             "the files it names, when they change")
      ->check(CLI::ExistingFile);
  flags
      .value("--web.threads", config.web_threads,
             "Worker threads per listener; each keep-alive connection holds one while open")
      ->check(CLI::Range(2, 1024));
  flags.value("--cluster", config.cluster, "Constant label cluster on every per-topic series");
  flags.value("--node-id", config.node_id, "Constant label node_id on every per-topic series");
  flags.duration("--timer.precision", config.timer_precision_ms,
                 "Tick of the delay scheduler, as RocketMQ's timerPrecisionMs");
  flags.duration("--timer.max-delay", config.timer_max_delay_ms,
                 "Longest delay accepted for a timing message, as RocketMQ's timerMaxDelaySec");
  flags.duration("--overdue.grace", config.overdue_grace_ms,
                 "How long past its delivery time a message may stay pending before it is overdue");
  app.add_flag("--snapshot.per-topic,!--no-snapshot.per-topic", config.snapshot_per_topic,
               "rocketmq_timer_message_snapshot per topic (true) or broker-wide (false)")
      ->envname(env_name("--snapshot.per-topic"))
      ->capture_default_str();
  flags.duration("--reconcile.interval", config.reconcile_interval_ms,
                 "Period of the sweep that drops series of topics no longer live");
  flags
      .value("--reconcile.max-drop-ratio", config.reconcile_max_drop_ratio,
             "A list that would drop more than this share of the tracked topics is applied only "
             "when the next list confirms it")
      ->check(CLI::Range(0.0, 1.0));
  flags.value("--broker.url", config.broker_url,
              "Base URL of the broker's HTTP API to list and watch (e.g. http://127.0.0.1:10912)");
  flags.duration("--broker.resync-interval", config.broker_resync_interval_ms,
                 "List the broker's topics again this often, as informers resync");
  flags.duration("--broker.poll-timeout", config.broker_poll_timeout_ms,
                 "How long the broker may hold a long-poll of /v1/events");
  flags.value("--topics.file", config.topics_file,
              "RocketMQ's store/config/topics.json, watched for changes: an authoritative list");
  flags.value("--topics.dashboard-url", config.topics_dashboard_url,
              "rocketmq-dashboard base URL; its /topic/list.query is an authoritative list");
  flags.value("--timer-metrics.file", config.timer_metrics_file,
              "RocketMQ's store/config/timermetrics: the broker's own per-topic counts, exported "
              "for live topics with no message-level events");
  flags.value("--broker.remoting-address", config.broker_remoting_address,
              "host:port of the broker's remoting port (10911 by default): its topic list, "
              "timer counts and timer figures are polled over RocketMQ's own protocol");
  flags.value("--broker.access-key", config.broker_access_key,
              "ACL access key for --broker.remoting-address (with --broker.secret-key-file)");
  flags.value("--broker.secret-key-file", config.broker_secret_key_file,
              "File holding the ACL secret key that signs --broker.remoting-address requests");
  flags.duration("--sources.poll-interval", config.sources_poll_interval_ms,
                 "How often the files, the dashboard and the remoting port are polled");
  flags
      .value("--max-topics", config.max_topics,
             "Events that would track a topic beyond this many are ignored and counted")
      ->check(CLI::PositiveNumber);
  flags.value("--topics.include", config.topics_include,
              "Track only topics whose whole name matches this RE2 expression (default: all)");
  flags.value("--topics.exclude", config.topics_exclude,
              "Never track topics whose whole name matches this RE2 expression");
  int64_t tombstone_retention_ms = -1;  // -1: derived from --timer.max-delay
  flags
      .duration("--tombstone.retention", tombstone_retention_ms,
                "How long a deleted topic is remembered so that late events cannot revive it")
      ->default_str("timer.max-delay + 1d");
  flags
      .value("--max-tombstones", config.max_tombstones,
             "Deleted topics remembered at most; beyond it the oldest are forgotten first")
      ->check(CLI::PositiveNumber);
  std::string log_level = "info";
  flags.value("--log.level", log_level, "debug, info, warn or error")
      ->check(CLI::IsMember({"debug", "info", "warn", "error"}));
  std::string log_format = "text";
  flags.value("--log.format", log_format, "text (logfmt) or json")
      ->check(CLI::IsMember({"text", "json"}));
  flags.value("--state.dir", config.state_dir,
              "Directory of the journal and snapshot that make the state survive a crash; "
              "without it the state lives in memory only");
  std::string state_sync = "always";
  flags
      .value("--state.sync", state_sync,
             "always: an accepted batch is on disk (fdatasync) before it is acknowledged; "
             "interval: the journal is synced every second, so a crash of the machine may lose "
             "the last second (a crash of the process loses nothing)")
      ->check(CLI::IsMember({"always", "interval"}));
  std::string compact_bytes = "64MiB";
  flags
      .value("--state.compact-bytes", compact_bytes,
             "Write a snapshot and start the journal afresh once it has grown by this much, or "
             "by the size of the last snapshot when that is larger")
      ->check(kByteSize);
  app.add_flag("--demo", config.demo,
               "Run with an in-process simulated broker that creates, fills and deletes topics");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    std::ostringstream out, err;
    const int code = app.exit(error, out, err);
    return ConfigExit{code, code == 0 ? out.str() : err.str()};
  }

  auto fail = [](const std::string& message) {
    return ConfigExit{2,
                      "timing-sidecar: " + message + "\nRun with --help for more information.\n"};
  };
  config.webhook_max_body_bytes = *parse_byte_size(max_body);
  config.state_sync = state_sync == "interval" ? StateSync::kInterval : StateSync::kAlways;
  config.state_compact_bytes = *parse_byte_size(compact_bytes);
  if (config.state_compact_bytes < 1) return fail("--state.compact-bytes must be positive");
  if (config.timer_precision_ms < 1 || config.timer_precision_ms > 60'000) {
    return fail("--timer.precision must be between 1ms and 1m");
  }
  if (config.timer_max_delay_ms < config.timer_precision_ms) {
    return fail("--timer.max-delay must be at least --timer.precision");
  }
  if (config.reconcile_interval_ms < 1) return fail("--reconcile.interval must be positive");
  config.tombstone_retention_ms = tombstone_retention_ms == -1
                                      ? config.timer_max_delay_ms + kTombstoneRetentionMarginMs
                                      : tombstone_retention_ms;
  if (config.tombstone_retention_ms < 1) return fail("--tombstone.retention must be positive");
  if (config.webhook_secret_file.empty() &&
      !is_loopback_host(parse_listen_address(config.webhook_listen_address)->host)) {
    return fail("--webhook.listen-address " + config.webhook_listen_address +
                " is not loopback: give --webhook.secret-file so that requests are signed");
  }
  if (config.broker_poll_timeout_ms < 1000)
    return fail("--broker.poll-timeout must be at least 1s");
  if (config.sources_poll_interval_ms < 1) return fail("--sources.poll-interval must be positive");
  if (auto filter = TopicFilter::make(config.topics_include, config.topics_exclude);
      auto* error = std::get_if<std::string>(&filter)) {
    return fail(*error);
  }
  if (config.broker_access_key.empty() != config.broker_secret_key_file.empty()) {
    return fail("--broker.access-key and --broker.secret-key-file go together");
  }
  if (!config.broker_access_key.empty() && config.broker_remoting_address.empty()) {
    return fail("--broker.access-key signs --broker.remoting-address requests: give that too");
  }
  if (!config.broker_remoting_address.empty()) {
    const auto address = parse_listen_address(config.broker_remoting_address);
    if (!address || address->port == 0) {
      return fail("--broker.remoting-address " + config.broker_remoting_address +
                  ": expected host:port");
    }
  }
  config.log_level = log_level == "debug"   ? LogLevel::kDebug
                     : log_level == "warn"  ? LogLevel::kWarn
                     : log_level == "error" ? LogLevel::kError
                                            : LogLevel::kInfo;
  config.log_format = log_format == "json" ? LogFormat::kJson : LogFormat::kText;
  return config;
}

}  // namespace timing_sidecar
