#include "timing_sidecar/log.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using namespace timing_sidecar;

TEST_CASE("log: logfmt quotes values that need it", "[log]") {
  const std::string line = format_log_line(LogFormat::kText, LogLevel::kWarn, "feed down",
                                           {{"error", "connection refused"}, {"revision", "42"}},
                                           "2026-01-01T00:00:00.000Z");
  CHECK(
      line ==
      R"(ts=2026-01-01T00:00:00.000Z level=warn msg="feed down" error="connection refused" revision=42)");
}

TEST_CASE("log: json lines are valid JSON with the fields", "[log]") {
  const std::string line = format_log_line(LogFormat::kJson, LogLevel::kInfo, "started",
                                           {{"web", "http://x:1"}}, "2026-01-01T00:00:00.000Z");
  const auto parsed = nlohmann::json::parse(line);
  CHECK(parsed["level"] == "info");
  CHECK(parsed["msg"] == "started");
  CHECK(parsed["web"] == "http://x:1");
}
