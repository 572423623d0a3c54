// kill -9 at random points while a client posts batches, restart on the same --state.dir, and the
// sidecar must show exactly what a model of the acknowledged batches says: every batch that got
// its 200, and the one in flight at the kill either wholly or not at all.

#include <signal.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <set>
#include <thread>

#include "integration/sidecar_process.hpp"
#include "support/metrics_text.hpp"

using test_support::now_ms;
using test_support::Sidecar;
using test_support::TempDir;
using timing_sidecar::testing::parse_exposition;

namespace {

struct TopicCounts {
  uint64_t pending = 0;
  uint64_t enqueued = 0;
  uint64_t dequeued = 0;
  bool operator==(const TopicCounts& other) const {
    return pending == other.pending && enqueued == other.enqueued && dequeued == other.dequeued;
  }
};

using Topics = std::map<std::string, TopicCounts>;

std::string describe(const Topics& topics) {
  std::string text;
  for (const auto& [name, counts] : topics) {
    text += name + " pending=" + std::to_string(counts.pending) +
            " enqueued=" + std::to_string(counts.enqueued) +
            " dequeued=" + std::to_string(counts.dequeued) + "\n";
  }
  return text;
}

// The sidecar's rules for events without revisions, as far as GET /v1/topics shows them.
class Model {
 public:
  struct Reply {
    int accepted = 0;
    int ignored = 0;
  };

  Reply apply(const nlohmann::json& batch) {
    Reply reply;
    for (const nlohmann::json& event : batch) {
      const std::string type = event["type"];
      const std::string name = event["topic"];
      auto known = topics_.find(name);
      const bool tombstoned = known != topics_.end() && !known->second.live;
      if (type == "topic.deleted") {
        topics_[name] = Topic{};
        ++reply.accepted;
        continue;
      }
      if (tombstoned && type != "topic.created") {
        ++reply.ignored;  // RocketMQ's late events for a deleted topic
        continue;
      }
      ++reply.accepted;
      Topic& topic = topics_[name];
      if (!topic.live) topic = Topic{true, {}, 0, 0};  // new, or revived from zero
      const std::string id = event.value("id", "");
      if (type == "timer.enqueued") {
        topic.enqueued += topic.pending.insert(id).second ? 1 : 0;
      } else if (type == "timer.dequeued") {
        ++topic.dequeued;
        topic.pending.erase(id);
      } else if (type == "timer.cancelled") {
        topic.pending.erase(id);
      }
    }
    return reply;
  }

  Topics expected() const {
    Topics topics;
    for (const auto& [name, topic] : topics_) {
      if (topic.live) topics[name] = {topic.pending.size(), topic.enqueued, topic.dequeued};
    }
    return topics;
  }

  std::vector<std::string> tombstoned() const {
    std::vector<std::string> names;
    for (const auto& [name, topic] : topics_) {
      if (!topic.live) names.push_back(name);
    }
    return names;
  }

  // A random batch over a few topics, from the state the model is in.
  nlohmann::json batch(std::mt19937_64& random) {
    auto pick = [&random](int low, int high) {
      return std::uniform_int_distribution<int>(low, high)(random);
    };
    nlohmann::json events = nlohmann::json::array();
    for (int count = pick(1, 8); count > 0; --count) {
      const std::string topic = "topic-" + std::to_string(pick(0, 5));
      const int kind = pick(0, 99);
      if (kind < 4) {
        events.push_back({{"type", "topic.deleted"}, {"topic", topic}});
      } else if (kind < 10) {
        events.push_back({{"type", "topic.created"}, {"topic", topic}});
      } else if (kind < 40) {
        const std::string id =
            some_pending(topic, random).value_or("never-" + std::to_string(kind));
        events.push_back({{"type", kind < 30 ? "timer.dequeued" : "timer.cancelled"},
                          {"topic", topic},
                          {"id", id}});
      } else {
        // Now and then an id already pending: a duplicate changes nothing.
        const std::string id = kind < 45 ? some_pending(topic, random).value_or("dup")
                                         : "m" + std::to_string(next_id_++);
        events.push_back({{"type", "timer.enqueued"},
                          {"topic", topic},
                          {"id", id},
                          {"deliverAtMs", now_ms() + pick(-5'000, 86'400'000)}});
      }
    }
    return events;
  }

 private:
  struct Topic {
    bool live = false;
    std::set<std::string> pending;
    uint64_t enqueued = 0;
    uint64_t dequeued = 0;
  };

  std::optional<std::string> some_pending(const std::string& name, std::mt19937_64& random) {
    auto it = topics_.find(name);
    if (it == topics_.end() || it->second.pending.empty()) return std::nullopt;
    auto id = it->second.pending.begin();
    std::advance(id, static_cast<long>(random() % it->second.pending.size()));
    return *id;
  }

  std::map<std::string, Topic> topics_;
  uint64_t next_id_ = 0;
};

Topics shown_topics(const Sidecar& sidecar) {
  auto reply = sidecar.web().Get("/v1/topics");
  REQUIRE(reply);
  REQUIRE(reply->status == 200);
  const nlohmann::json body = nlohmann::json::parse(reply->body);
  Topics topics;
  for (const nlohmann::json& topic : body["topics"]) {
    topics[topic["name"]] = {topic["pending"], topic["enqueued"], topic["dequeued"]};
  }
  return topics;
}

// What one client connection did until the sidecar went away.
struct ClientRun {
  std::vector<nlohmann::json> acknowledged;
  std::optional<nlohmann::json> in_flight;  // sent, no reply: applied wholly or not at all
  std::vector<std::string> mismatches;      // replies the model did not predict
};

// Posts batches one after the other until a request fails, applying each acknowledged batch to
// the model and checking its reply against the model's.
ClientRun run_client(const Sidecar& sidecar, Model& model, std::mt19937_64& random) {
  ClientRun run;
  httplib::Client client = sidecar.webhook();
  while (true) {
    nlohmann::json batch = model.batch(random);
    auto reply = client.Post("/v1/events", batch.dump(), "application/json");
    if (!reply) {
      run.in_flight = std::move(batch);
      return run;
    }
    if (reply->status != 200) {
      run.mismatches.push_back("status " + std::to_string(reply->status) + ": " + reply->body);
      return run;
    }
    const Model::Reply expected = model.apply(batch);
    const auto body = nlohmann::json::parse(reply->body);
    if (body["accepted"] != expected.accepted || body["ignored"] != expected.ignored) {
      run.mismatches.push_back("reply " + reply->body + " to " + batch.dump());
    }
    run.acknowledged.push_back(std::move(batch));
  }
}

}  // namespace

TEST_CASE("crash: after kill -9 the sidecar shows every acknowledged batch", "[integration]") {
  constexpr int kRoundsPerSeed = 8;
  for (const uint64_t seed : {11u, 23u, 37u}) {
    INFO("seed " << seed);
    std::mt19937_64 random(seed);
    TempDir dir("crash-test");
    const std::string state = dir.file("state");
    // Small enough that snapshots are written while batches keep coming.
    const std::vector<std::string> compact = {"--state.compact-bytes",
                                              seed == 11 ? "16KiB" : "64KiB"};
    Model model;
    size_t acknowledged = 0;
    for (int round = 0; round < kRoundsPerSeed; ++round) {
      INFO("round " << round);
      // --state.sync=interval also loses nothing when only the process dies.
      std::vector<std::string> args = {"--state.dir", state, "--state.sync",
                                       round % 2 == 0 ? "always" : "interval"};
      args.insert(args.end(), compact.begin(), compact.end());
      Sidecar sidecar(dir, "round-" + std::to_string(round), args);
      INFO(sidecar.log());
      REQUIRE(describe(shown_topics(sidecar)) == describe(model.expected()));

      // Drawn before the client starts: the client thread draws from `random` from then on
      // (sharing it would be a data race, and the seed would not replay the run).
      const auto kill_after =
          std::chrono::milliseconds(std::uniform_int_distribution<int>(30, 400)(random));
      ClientRun run;
      std::thread client([&] { run = run_client(sidecar, model, random); });
      std::this_thread::sleep_for(kill_after);
      sidecar.process().send_signal(SIGKILL);
      client.join();
      sidecar.process().wait_for_exit(std::chrono::seconds(5));
      CHECK(run.mismatches.empty());
      acknowledged += run.acknowledged.size();

      // The restart at the top of the next round checks the model without the batch in flight;
      // when the sidecar had it, the model takes it too.
      if (run.in_flight) {
        Sidecar restarted(dir, "check-" + std::to_string(round), args);
        const std::string shown = describe(shown_topics(restarted));
        Model with_in_flight = model;
        with_in_flight.apply(*run.in_flight);
        if (shown == describe(with_in_flight.expected())) model = with_in_flight;
        CHECK(shown == describe(model.expected()));
      }
    }
    CHECK(acknowledged > 20 * kRoundsPerSeed);  // the kills came amid a stream, not before it

    // A clean restart: counters go on (rate() sees no reset) and tombstones still hold.
    std::vector<std::string> args = {"--state.dir", state};
    std::string before;
    {
      Sidecar sidecar(dir, "clean-1", args);
      before = sidecar.metrics();
      CHECK(sidecar.process().terminate().code == 0);
    }
    Sidecar sidecar(dir, "clean-2", args);
    const auto metrics_before = parse_exposition(before);
    const auto metrics_after = parse_exposition(sidecar.metrics());
    for (const auto& [series, value] : metrics_before.samples) {
      if (series.rfind("rocketmq_timer_", 0) != 0 || series.find("_total{") == std::string::npos) {
        continue;
      }
      INFO(series);
      CHECK(metrics_after.value(series) == value);
    }
    for (const std::string& deleted : model.tombstoned()) {
      auto reply = sidecar.webhook().Post(
          "/v1/events",
          nlohmann::json({{"type", "timer.dequeued"}, {"topic", deleted}, {"id", "late"}}).dump(),
          "application/json");
      REQUIRE(reply);
      CHECK(nlohmann::json::parse(reply->body)["ignored"] == 1);
    }
    CHECK(describe(shown_topics(sidecar)) == describe(model.expected()));
  }
}
