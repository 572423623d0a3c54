#include "timing_sidecar/config_reload.hpp"

#include <catch2/catch.hpp>

using namespace timing_sidecar;

TEST_CASE("config reload: log, sweep and poll settings apply, the others wait for a restart",
          "[config_reload]") {
  const Config running;
  CHECK(compare_configs(running, running).applied.empty());
  CHECK(compare_configs(running, running).need_restart.empty());

  Config reread = running;
  reread.log_level = LogLevel::kDebug;
  reread.log_format = LogFormat::kJson;
  reread.reconcile_interval_ms = 5'000;
  reread.sources_poll_interval_ms = 1'000;
  reread.web_listen_address = "127.0.0.1:19877";
  reread.state_dir = "/var/lib/elsewhere";
  reread.web_config_file = "/etc/other-web.yml";
  reread.topics_exclude = "tmp-.*";
  const ConfigChanges changes = compare_configs(running, reread);
  CHECK(changes.applied == std::vector<std::string>{"--log.level", "--log.format",
                                                    "--reconcile.interval",
                                                    "--sources.poll-interval"});
  CHECK(changes.need_restart == std::vector<std::string>{"--web.listen-address",
                                                         "--web.config.file", "--topics.exclude",
                                                         "--state.dir"});
}
