#include <zlib.h>

#include <catch2/catch.hpp>
#include <random>

#include "support/metrics_text.hpp"
#include "timing_sidecar/clock.hpp"
#include "timing_sidecar/exposition.hpp"
#include "timing_sidecar/sidecar.hpp"

using namespace timing_sidecar;
using timing_sidecar::testing::parse_exposition;

namespace {

std::string gunzip(std::string_view gzipped) {
  z_stream stream{};
  REQUIRE(inflateInit2(&stream, 15 + 16) == Z_OK);
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gzipped.data()));
  stream.avail_in = static_cast<uInt>(gzipped.size());
  std::string text;
  int status = Z_OK;
  while (status == Z_OK) {
    char buffer[4096];
    stream.next_out = reinterpret_cast<Bytef*>(buffer);
    stream.avail_out = sizeof buffer;
    status = inflate(&stream, Z_NO_FLUSH);
    text.append(buffer, sizeof buffer - stream.avail_out);
  }
  inflateEnd(&stream);
  REQUIRE(status == Z_STREAM_END);
  REQUIRE(stream.avail_in == 0);
  return text;
}

// The per-topic samples only: the self metrics (process CPU, ...) change from scrape to scrape.
std::map<std::string, double> topic_samples(const std::string& text) {
  std::map<std::string, double> samples;
  for (const auto& [series, value] : parse_exposition(text).samples) {
    if (series.rfind("rocketmq_", 0) == 0) samples[series] = value;
  }
  return samples;
}

}  // namespace

TEST_CASE("scrape: append_gzipped appends a gzip stream of the text, across many steps",
          "[scrape]") {
  std::mt19937 random(7);
  std::string text;
  while (text.size() < 1'000'000) {
    text += "rocketmq_timing_messages{topic=\"t" + std::to_string(random() % 5000) + "\"} " +
            std::to_string(random() % 100) + "\n";
  }
  std::string out = "kept";
  append_gzipped(text, out);
  REQUIRE(out.rfind("kept", 0) == 0);
  CHECK(gunzip(std::string_view(out).substr(4)) == text);

  out.clear();
  append_gzipped("", out);
  CHECK(gunzip(out).empty());
}

TEST_CASE("scrape: a body is gzipped when asked, and a buffer in flight is never reused",
          "[scrape]") {
  ManualClock clock(1'800'000'000'000);
  Config config;
  Sidecar sidecar(config, clock);
  REQUIRE(
      sidecar.ingest(R"([{"type":"topic.created","topic":"a"}])", EventSource::kWebhook).status ==
      200);

  const ScrapeBody plain = sidecar.scrape_body(false);
  const ScrapeBody gzipped = sidecar.scrape_body(true);
  REQUIRE(plain != gzipped);
  const std::map<std::string, double> samples = topic_samples(*plain);
  CHECK(samples.count("rocketmq_timing_messages{topic=\"a\"}") == 1);
  CHECK(topic_samples(gunzip(*gzipped)) == samples);

  // While both are held, a new topic's scrape renders elsewhere and leaves them as they were.
  const std::string plain_text = *plain;
  REQUIRE(
      sidecar.ingest(R"([{"type":"topic.created","topic":"b"}])", EventSource::kWebhook).status ==
      200);
  const ScrapeBody third = sidecar.scrape_body(false);
  CHECK(third->data() != plain->data());
  CHECK(third->data() != gzipped->data());
  CHECK(*plain == plain_text);
  CHECK(topic_samples(*third).count("rocketmq_timing_messages{topic=\"b\"}") == 1);
}

TEST_CASE("scrape: a buffer handed back serves a later scrape", "[scrape]") {
  ManualClock clock(1'800'000'000'000);
  Config config;
  Sidecar sidecar(config, clock);
  ScrapeBody body = sidecar.scrape_body(false);
  const char* buffer = body->data();
  body.reset();
  CHECK(sidecar.scrape_body(false)->data() == buffer);
}
