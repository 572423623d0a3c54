#include "timing_sidecar/config.hpp"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <vector>

#include "timing_sidecar/sidecar.hpp"

using namespace timing_sidecar;

namespace {

std::variant<Config, ConfigExit> parse(std::vector<const char*> args) {
  args.insert(args.begin(), "timing-sidecar");
  return parse_config(static_cast<int>(args.size()), args.data());
}

Config parse_ok(std::vector<const char*> args) {
  auto result = parse(std::move(args));
  if (auto* exit = std::get_if<ConfigExit>(&result)) FAIL(exit->output);
  return std::get<Config>(result);
}

std::string parse_error(std::vector<const char*> args) {
  auto result = parse(std::move(args));
  REQUIRE(std::holds_alternative<ConfigExit>(result));
  CHECK(std::get<ConfigExit>(result).code != 0);
  return std::get<ConfigExit>(result).output;
}

}  // namespace

TEST_CASE("config: durations in Prometheus's syntax", "[config]") {
  CHECK(parse_duration_ms("500ms") == 500);
  CHECK(parse_duration_ms("30s") == 30'000);
  CHECK(parse_duration_ms("5m") == 300'000);
  CHECK(parse_duration_ms("1h30m") == 5'400'000);
  CHECK(parse_duration_ms("3d") == 259'200'000);
  CHECK_FALSE(parse_duration_ms(""));
  CHECK_FALSE(parse_duration_ms("30"));
  CHECK_FALSE(parse_duration_ms("5x"));
  CHECK_FALSE(parse_duration_ms("-5s"));
  CHECK_FALSE(parse_duration_ms("99999999999999999999s"));
  CHECK(format_duration(259'200'000) == "3d");
  CHECK(format_duration(5'400'500) == "1h30m500ms");
}

TEST_CASE("config: sizes and listen addresses", "[config]") {
  CHECK(parse_byte_size("1048576") == 1 << 20);
  CHECK(parse_byte_size("1MiB") == 1 << 20);
  CHECK(parse_byte_size("512KiB") == 512 << 10);
  CHECK_FALSE(parse_byte_size("1MB"));
  CHECK_FALSE(parse_byte_size("lots"));
  auto v4 = parse_listen_address("0.0.0.0:9877");
  REQUIRE(v4);
  CHECK(v4->host == "0.0.0.0");
  CHECK(v4->port == 9877);
  auto v6 = parse_listen_address("[::1]:9878");
  REQUIRE(v6);
  CHECK(v6->host == "::1");
  CHECK_FALSE(parse_listen_address("9877"));
  CHECK_FALSE(parse_listen_address("host:99999"));
  CHECK_FALSE(parse_listen_address(":80"));
}

TEST_CASE("config: defaults", "[config]") {
  const Config config = parse_ok({});
  CHECK(config.web_listen_address == "0.0.0.0:9877");
  CHECK(config.webhook_listen_address == "127.0.0.1:9878");
  CHECK(config.webhook_max_body_bytes == 1 << 20);
  CHECK(config.timer_max_delay_ms == 3LL * 86'400'000);
  CHECK(config.reconcile_interval_ms == 30'000);
  CHECK(config.snapshot_per_topic);
}

TEST_CASE("config: flags, a TOML file and the environment, in CLI11's precedence", "[config]") {
  const std::string path =
      (std::filesystem::temp_directory_path() / "timing_sidecar_config_test.toml").string();
  {
    std::ofstream file(path);
    file << "web.listen-address = \"127.0.0.1:19000\"\n"
            "reconcile.interval = \"10s\"\n"
            "cluster = \"from-file\"\n"
            "snapshot.per-topic = false\n";
  }
  setenv("TIMING_SIDECAR_CLUSTER", "from-env", 1);
  setenv("TIMING_SIDECAR_NODE_ID", "env-node", 1);
  const Config config = parse_ok({"--config", path.c_str(), "--reconcile.interval", "1m"});
  unsetenv("TIMING_SIDECAR_CLUSTER");
  unsetenv("TIMING_SIDECAR_NODE_ID");
  CHECK(config.web_listen_address == "127.0.0.1:19000");
  CHECK(config.reconcile_interval_ms == 60'000);  // command line beats the file
  CHECK(config.cluster == "from-file");           // the file beats the environment
  CHECK(config.node_id == "env-node");            // the environment beats the default
  CHECK_FALSE(config.snapshot_per_topic);
}

TEST_CASE("config: bad input is refused with a message naming the flag", "[config]") {
  CHECK_THAT(parse_error({"--reconcile.interval", "soon"}),
             Catch::Contains("--reconcile.interval") && Catch::Contains("not a duration"));
  CHECK_THAT(parse_error({"--web.listen-address", "9877"}), Catch::Contains("host:port"));
  CHECK_THAT(parse_error({"--log.format", "xml"}), Catch::Contains("--log.format"));
  CHECK_THAT(parse_error({"--no-such-flag"}), Catch::Contains("--no-such-flag"));
  CHECK_THAT(parse_error({"--timer.precision", "2m"}), Catch::Contains("--timer.precision"));
  const std::string path =
      (std::filesystem::temp_directory_path() / "timing_sidecar_config_bad.toml").string();
  {
    std::ofstream file(path);
    file << "web.listen-adress = \"127.0.0.1:1\"\n";
  }
  CHECK_THAT(parse_error({"--config", path.c_str()}), Catch::Contains("listen-adress"));
}

TEST_CASE("config: --help explains every flag and --version prints the version", "[config]") {
  auto help = parse({"--help"});
  REQUIRE(std::holds_alternative<ConfigExit>(help));
  CHECK(std::get<ConfigExit>(help).code == 0);
  for (const char* flag : {"--web.listen-address", "--webhook.listen-address", "--webhook.max-body",
                           "--timer.max-delay", "--reconcile.interval", "--broker.url", "--cluster",
                           "--node-id", "--demo"}) {
    CHECK_THAT(std::get<ConfigExit>(help).output, Catch::Contains(flag));
  }
  auto version = parse({"--version"});
  REQUIRE(std::holds_alternative<ConfigExit>(version));
  CHECK_THAT(std::get<ConfigExit>(version).output, Catch::Contains(TIMING_SIDECAR_VERSION));
}

TEST_CASE("config: the remoting source's flags", "[config][remoting]") {
  const Config config =
      parse_ok({"--broker.remoting-address", "127.0.0.1:10911", "--broker.access-key", "ak",
                "--broker.secret-key-file", "/etc/timing-sidecar/broker-secret"});
  CHECK(config.broker_remoting_address == "127.0.0.1:10911");
  CHECK(config.broker_access_key == "ak");
  CHECK(config.broker_secret_key_file == "/etc/timing-sidecar/broker-secret");
  CHECK_THAT(parse_error({"--broker.remoting-address", "broker"}),
             Catch::Contains("--broker.remoting-address broker: expected host:port"));
  CHECK_THAT(parse_error({"--broker.remoting-address", "broker:0"}),
             Catch::Contains("expected host:port"));
  CHECK_THAT(parse_error({"--broker.remoting-address", "b:10911", "--broker.access-key", "ak"}),
             Catch::Contains("go together"));
  CHECK_THAT(parse_error({"--broker.access-key", "ak", "--broker.secret-key-file", "f"}),
             Catch::Contains("give that too"));
}

TEST_CASE("config: the model's own defaults are the flags' defaults", "[config]") {
  const Config config = parse_ok({});
  CHECK(config.tombstone_retention_ms == 4LL * 86'400'000);
  const SchedulerConfig scheduler;
  CHECK(scheduler.max_delay_ms == config.timer_max_delay_ms);
  CHECK(scheduler.precision_ms == config.timer_precision_ms);
  CHECK(scheduler.overdue_grace_ms == config.overdue_grace_ms);
  const EventLimits limits;
  CHECK(limits.max_delay_ms == config.timer_max_delay_ms);
  CHECK(limits.clock_slack_ms == config.timer_precision_ms);
}

TEST_CASE("config: event limits and the engine's scheduler follow the flags", "[config]") {
  const Config config = parse_ok({"--timer.max-delay", "1h", "--timer.precision", "5s"});
  const EventLimits limits = event_limits(config, 1'800'000'000'000);
  CHECK(limits.now_ms == 1'800'000'000'000);
  CHECK(limits.max_delay_ms == 3'600'000);
  CHECK(limits.clock_slack_ms == 5'000);
  const EngineConfig engine = engine_config(config);
  CHECK(engine.scheduler.max_delay_ms == 3'600'000);
  CHECK(engine.scheduler.precision_ms == 5'000);
  CHECK(config.tombstone_retention_ms == 3'600'000 + kTombstoneRetentionMarginMs);
}
