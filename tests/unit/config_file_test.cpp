#include "timing_sidecar/config_file.hpp"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <vector>

#include "timing_sidecar/config.hpp"

using namespace timing_sidecar;

namespace {

std::string write_file(const std::string& name, const std::string& text) {
  const std::string path = (std::filesystem::temp_directory_path() / name).string();
  std::ofstream(path) << text;
  return path;
}

std::variant<Config, ConfigExit> parse_file(const std::string& path,
                                            std::vector<const char*> more = {}) {
  std::vector<const char*> args = {"timing-sidecar", "--config", path.c_str()};
  args.insert(args.end(), more.begin(), more.end());
  return parse_config(static_cast<int>(args.size()), args.data());
}

Config parse_ok(const std::string& path, std::vector<const char*> more = {}) {
  auto result = parse_file(path, std::move(more));
  if (auto* exit = std::get_if<ConfigExit>(&result)) FAIL(exit->output);
  return std::get<Config>(result);
}

std::string parse_error(const std::string& path) {
  auto result = parse_file(path);
  REQUIRE(std::holds_alternative<ConfigExit>(result));
  CHECK(std::get<ConfigExit>(result).code != 0);
  return std::get<ConfigExit>(result).output;
}

}  // namespace

TEST_CASE("config file: tables, dotted keys and inline tables name the same flags", "[config]") {
  const Config tables = parse_ok(write_file("ts_config_tables.toml",
                                            "cluster = \"c1\"\n"
                                            "[web]\n"
                                            "listen-address = \"127.0.0.1:19001\"\n"
                                            "threads = 4\n"
                                            "[webhook]\n"
                                            "listen-address = \"127.0.0.1:19002\"\n"
                                            "max-body = \"2MiB\"\n"
                                            "[reconcile]\n"
                                            "interval = \"10s\"\n"
                                            "max-drop-ratio = 0.25\n"
                                            "[snapshot]\n"
                                            "per-topic = false\n"));
  const Config dotted = parse_ok(write_file("ts_config_dotted.toml",
                                            "cluster = \"c1\"\n"
                                            "web.listen-address = \"127.0.0.1:19001\"\n"
                                            "web.threads = 4\n"
                                            "webhook.listen-address = \"127.0.0.1:19002\"\n"
                                            "webhook.max-body = \"2MiB\"\n"
                                            "reconcile = { interval = \"10s\", "
                                            "max-drop-ratio = 0.25 }\n"
                                            "\"snapshot.per-topic\" = false\n"));
  for (const Config* config : {&tables, &dotted}) {
    CHECK(config->cluster == "c1");
    CHECK(config->web_listen_address == "127.0.0.1:19001");
    CHECK(config->web_threads == 4);
    CHECK(config->webhook_listen_address == "127.0.0.1:19002");
    CHECK(config->webhook_max_body_bytes == 2 << 20);
    CHECK(config->reconcile_interval_ms == 10'000);
    CHECK(config->reconcile_max_drop_ratio == 0.25);
    CHECK_FALSE(config->snapshot_per_topic);
  }
}

TEST_CASE("config file: command line > file > environment > default, with tables", "[config]") {
  const std::string path = write_file("ts_config_precedence.toml",
                                      "[web]\nlisten-address = \"127.0.0.1:19003\"\n"
                                      "[reconcile]\ninterval = \"10s\"\n");
  setenv("TIMING_SIDECAR_WEB_LISTEN_ADDRESS", "127.0.0.1:19004", 1);
  setenv("TIMING_SIDECAR_CLUSTER", "from-env", 1);
  const Config config = parse_ok(path, {"--reconcile.interval", "1m"});
  unsetenv("TIMING_SIDECAR_WEB_LISTEN_ADDRESS");
  unsetenv("TIMING_SIDECAR_CLUSTER");
  CHECK(config.reconcile_interval_ms == 60'000);
  CHECK(config.web_listen_address == "127.0.0.1:19003");
  CHECK(config.cluster == "from-env");
  CHECK(config.node_id.empty());
}

TEST_CASE("config file: an unknown key is named with its place and the closest flag", "[config]") {
  const std::string in_table =
      write_file("ts_config_typo_table.toml", "[web]\n\nlisten-adress = \"127.0.0.1:1\"\n");
  CHECK_THAT(parse_error(in_table),
             Catch::Contains(in_table + ":3:1: unknown key web.listen-adress") &&
                 Catch::Contains("did you mean web.listen-address?"));
  const std::string dotted =
      write_file("ts_config_typo_dotted.toml", "cluster = \"a\"\nweb.listen-adress = \"x:1\"\n");
  CHECK_THAT(parse_error(dotted), Catch::Contains(dotted + ":2:") &&
                                      Catch::Contains("did you mean web.listen-address?"));
  const std::string unrelated = write_file("ts_config_unrelated.toml", "colour = \"blue\"\n");
  CHECK_THAT(parse_error(unrelated), Catch::Contains(unrelated + ":1:1: unknown key colour") &&
                                         !Catch::Contains("did you mean"));
}

TEST_CASE("config file: TOML syntax and value errors carry file, line and column", "[config]") {
  const std::string syntax =
      write_file("ts_config_syntax.toml", "cluster = \"a\"\nweb.listen-address = 127.0.0.1:1\n");
  CHECK_THAT(parse_error(syntax), Catch::Contains(syntax + ":2:"));
  const std::string date =
      write_file("ts_config_date.toml", "cluster = \"a\"\nnode-id = 1979-05-27\n");
  CHECK_THAT(parse_error(date), Catch::Contains(date + ":2:11: node-id takes a string"));
  const std::string invalid =
      write_file("ts_config_invalid.toml", "[reconcile]\ninterval = \"soon\"\n");
  CHECK_THAT(parse_error(invalid), Catch::Contains("not a duration"));
}

TEST_CASE("config file: the keys are the app's flags, whichever are added", "[config]") {
  CLI::App app;
  std::string include;
  app.set_config("--config");
  app.config_formatter(make_toml_config(app));
  app.allow_config_extras(CLI::config_extras_mode::error);
  app.add_option("--topics.include", include);
  const std::string path =
      write_file("ts_config_added_flag.toml", "[topics]\ninclude = \"orders-.*\"\n");
  std::vector<const char*> args = {"app", "--config", path.c_str()};
  app.parse(static_cast<int>(args.size()), args.data());
  CHECK(include == "orders-.*");

  CHECK(closest_key("web.listen-adress", {"web.listen-address", "webhook.listen-address"}) ==
        "web.listen-address");
  CHECK(closest_key("topics.fle", {"topics.file", "cluster"}) == "topics.file");
  CHECK(closest_key("colour", {"cluster", "node-id"}).empty());
}
