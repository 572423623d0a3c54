#include <atomic>
#include <catch2/catch.hpp>
#include <thread>

#include "timing_sidecar/clock.hpp"
#include "timing_sidecar/reconciler.hpp"
#include "timing_sidecar/sidecar.hpp"

using namespace timing_sidecar;

// Ingest, scrapes, sweeps, lists and the timer driver all at once, as in the running sidecar.
// Run under ThreadSanitizer by scripts/test-sanitizers.sh; here it also checks the end state.
TEST_CASE("engine: concurrent ingest, scrape, reconcile, lists and timers", "[concurrency]") {
  ManualClock clock(1'800'000'000'000);
  Config config;
  Sidecar sidecar(config, clock);
  ListReconciler lists(sidecar, 1.0, "test");
  std::atomic<bool> stop{false};

  auto ingest = [&](int writer) {
    for (int round = 0; round < 300; ++round) {
      std::string body = "[";
      for (int m = 0; m < 20; ++m) {
        body += R"({"type":"timer.enqueued","topic":"w)" + std::to_string(writer) + "-" +
                std::to_string(round % 7) + R"(","id":")" + std::to_string(round) + "-" +
                std::to_string(m) + R"(","deliverAtMs":)" +
                std::to_string(clock.now_ms() + 1000 * (m + 1)) + "},";
      }
      body += R"({"type":"topic.deleted","topic":"w)" + std::to_string(writer) + "-" +
              std::to_string((round + 3) % 7) + R"("}])";
      REQUIRE(sidecar.ingest(body, EventSource::kWebhook).status == 200);
    }
  };
  std::thread writer_a(ingest, 0);
  std::thread writer_b(ingest, 1);
  std::thread timers([&] {
    while (!stop) {
      clock.advance(700);
      sidecar.engine().advance_timers();
      sidecar.engine().next_wakeup_ms();
    }
  });
  std::thread listing([&] {
    while (!stop) {
      TopicList list{{std::nullopt, clock.now_ms()}, {{"w0-1", 4}, {"w1-1", std::nullopt}}};
      lists.apply(list, false);
      sidecar.sweep();
    }
  });
  size_t scrapes = 0;
  while (!stop) {
    const std::string body = sidecar.scrape();
    REQUIRE(body.find("# TYPE rocketmq_timing_messages gauge") != std::string::npos);
    sidecar.topics_json();
    if (++scrapes == 50) break;
  }
  writer_a.join();
  writer_b.join();
  stop = true;
  timers.join();
  listing.join();

  // The series store and the scheduler agree on every pending message after the storm.
  sidecar.sweep();
  const EngineStats stats = sidecar.engine().stats();
  size_t pending = 0;
  for (const TopicSummary& topic : sidecar.engine().topics()) pending += topic.pending;
  CHECK(pending == stats.pending);
  CHECK(stats.topics == sidecar.engine().topics().size());
  CHECK(scrapes > 0);
}
