// The sources beside the webhook, end to end: timing-sidecar tailing a real broker-sim (deletions
// seen and missed, lost history, restarts, outages, faults) and reading RocketMQ's topics.json
// and timermetrics as the broker writes them. Every wait is a bounded poll on a condition; every
// process runs on 127.0.0.1 and is stopped when its test ends.

#include <fcntl.h>
#include <httplib.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "integration/process.hpp"
#include "integration/sidecar_process.hpp"
#include "support/metrics_text.hpp"
#include "support/ports.hpp"

using nlohmann::json;
using test_support::ChildOptions;
using test_support::ChildProcess;
using test_support::now_ms;
using test_support::Sidecar;
using test_support::TempDir;
using timing_sidecar::testing::parse_exposition;
using namespace std::chrono_literals;

namespace {

using Pending = std::map<std::string, int64_t>;  // topic -> pending messages

template <typename Condition>
bool eventually(Condition condition, std::chrono::milliseconds timeout = 15s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(20ms);
  }
  return true;
}

std::string describe(const Pending& pending) {
  std::string text = "{";
  for (const auto& [topic, count] : pending) {
    text += (text.size() > 1 ? ", " : "") + topic + ": " + std::to_string(count);
  }
  return text + "}";
}

// broker-sim on 127.0.0.1, stopped with SIGTERM when it goes out of scope. Port 0 picks a free
// port; a given one lets a test start a broker again where the sidecar already looks.
class BrokerSim {
 public:
  BrokerSim(const TempDir& dir, const std::string& name, int port = 0,
            std::vector<std::string> args = {})
      : log_path_(dir.file(name + ".log")) {
    const std::string port_file = dir.file(name + ".port");
    std::filesystem::remove(port_file);
    args.insert(args.begin(), {"--listen", "127.0.0.1:" + std::to_string(port), "--port-file",
                               port_file, "--seed", "7"});
    process_ = std::make_unique<ChildProcess>(BROKER_SIM_BIN, args, ChildOptions{"", log_path_});
    const auto bound = test_support::wait_for_port_file(port_file, 10s, process_.get());
    INFO("broker-sim log:\n" << test_support::read_file(log_path_));
    REQUIRE(bound);
    port_ = *bound;
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int port() const { return port_; }

  json post(const std::string& path, const json& body) {
    auto reply = client().Post(path.c_str(), body.dump(), "application/json");
    REQUIRE(reply);
    INFO(path << " " << body.dump() << " -> " << reply->body);
    REQUIRE(reply->status == 200);
    return json::parse(reply->body);
  }
  void create(const std::string& topic) { post("/admin/topics", {{"name", topic}}); }
  void enqueue(const std::string& topic, const std::string& id) {
    post("/admin/enqueue", {{"topic", topic}, {"id", id}, {"delayMs", 600'000}});
  }
  void dequeue(const std::string& topic, const std::string& id) {
    post("/admin/dequeue", {{"topic", topic}, {"id", id}});
  }
  void cancel(const std::string& topic, const std::string& id) {
    post("/admin/cancel", {{"topic", topic}, {"id", id}});
  }
  void fault(const json& settings) { post("/admin/fault", settings); }
  void remove(const std::string& topic, bool silent = false) {
    auto reply =
        client().Delete(("/admin/topics/" + topic + (silent ? "?silent=true" : "")).c_str());
    REQUIRE(reply);
    REQUIRE(reply->status == 200);
  }

  Pending truth() {
    const json truth = admin_truth();
    Pending pending;
    for (const auto& [topic, state] : truth["topics"].items()) {
      pending[topic] = state["pending"].get<int64_t>();
    }
    return pending;
  }
  int64_t revision() { return admin_truth()["revision"].get<int64_t>(); }

 private:
  json admin_truth() {
    auto reply = client().Get("/admin/truth");
    REQUIRE(reply);
    REQUIRE(reply->status == 200);
    return json::parse(reply->body);
  }

  httplib::Client client() const {
    httplib::Client client("127.0.0.1", port_);
    client.set_connection_timeout(2);
    client.set_read_timeout(10);
    return client;
  }

  std::string log_path_;
  std::unique_ptr<ChildProcess> process_;
  int port_ = 0;
};

// What the sidecar exports, from GET /v1/topics; empty when it does not answer.
Pending sidecar_pending(const Sidecar& sidecar) {
  auto reply = sidecar.web().Get("/v1/topics");
  Pending pending;
  if (!reply || reply->status != 200) return pending;
  const json topics = json::parse(reply->body);
  for (const json& topic : topics["topics"]) {
    pending[topic["name"].get<std::string>()] = topic["pending"].get<int64_t>();
  }
  return pending;
}

double metric(const Sidecar& sidecar, const std::string& series) {
  return parse_exposition(sidecar.metrics()).value(series, 0);
}

bool exports_topic(const Sidecar& sidecar, const std::string& topic) {
  return sidecar.metrics().find("topic=\"" + topic + "\"") != std::string::npos;
}

int readyz(const Sidecar& sidecar) {
  auto reply = sidecar.web().Get("/readyz");
  return reply ? reply->status : -1;
}

void require_equal(const Sidecar& sidecar, const Pending& expected,
                   std::chrono::milliseconds timeout = 20s) {
  Pending seen;
  const bool equal = eventually(
      [&] {
        seen = sidecar_pending(sidecar);
        return seen == expected;
      },
      timeout);
  INFO("expected " << describe(expected) << "\nsidecar  " << describe(seen) << "\nsidecar log:\n"
                   << sidecar.log());
  REQUIRE(equal);
}

// The sidecar converges on the broker's truth, and both stay put: nothing pending in flight.
void require_converged(const Sidecar& sidecar, BrokerSim& broker,
                       std::chrono::milliseconds timeout = 20s) {
  require_equal(sidecar, broker.truth(), timeout);
}

std::string fixture(const std::string& name) {
  return test_support::read_file(
      (std::filesystem::path(__FILE__).parent_path().parent_path() / "fixtures" / name).string());
}

void write_file(const std::string& path, const std::string& contents) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << contents;
  REQUIRE(out.flush());
}

// As RocketMQ's MixAll.string2File persists its config files: the new content goes to
// <file>.tmp, the old one to <file>.bak, then the file is deleted and the temporary renamed
// into its place. `modified_ms` back-dates the file, as if written then.
void rocketmq_write(const std::string& path, const std::string& contents,
                    std::optional<int64_t> modified_ms = std::nullopt) {
  write_file(path + ".tmp", contents);
  if (modified_ms) {
    const timespec when{static_cast<time_t>(*modified_ms / 1000),
                        static_cast<long>(*modified_ms % 1000) * 1'000'000};
    const timespec times[2] = {when, when};
    REQUIRE(utimensat(AT_FDCWD, (path + ".tmp").c_str(), times, 0) == 0);
  }
  if (std::filesystem::exists(path)) {
    std::filesystem::copy_file(path, path + ".bak",
                               std::filesystem::copy_options::overwrite_existing);
    std::filesystem::remove(path);
  }
  std::filesystem::rename(path + ".tmp", path);
}

// topics.json in RocketMQ's shape, with every topic as mqadmin updateTopic -a
// +message.type=DELAY writes it.
std::string topics_json(int64_t counter, const std::vector<std::string>& topics) {
  json table = json::object();
  for (const std::string& topic : topics) {
    table[topic] = {{"attributes", {{"message.type", "DELAY"}}},
                    {"order", false},
                    {"perm", 6},
                    {"readQueueNums", 8},
                    {"topicFilterType", "SINGLE_TAG"},
                    {"topicName", topic},
                    {"topicSysFlag", 0},
                    {"writeQueueNums", 8}};
  }
  return json{{"dataVersion", {{"counter", counter}, {"stateVersion", 0}, {"timestamp", now_ms()}}},
              {"topicConfigTable", table}}
      .dump(1, '\t');
}

std::vector<std::string> numbered(const std::string& prefix, int count) {
  std::vector<std::string> names;
  for (int i = 0; i < count; ++i) names.push_back(prefix + std::to_string(i));
  return names;
}

void post_webhook(const Sidecar& sidecar, const json& event) {
  auto reply = sidecar.webhook().Post("/v1/events", event.dump(), "application/json");
  REQUIRE(reply);
  INFO(reply->body);
  REQUIRE(reply->status == 200);
}

// rocketmq-dashboard's GET /topic/list.query under a path prefix, served from the test with a
// reply the test changes.
class FakeDashboard {
 public:
  FakeDashboard() {
    server_.Get("/rocketmq/topic/list.query",
                [this](const httplib::Request& req, httplib::Response& res) {
                  std::lock_guard lock(mutex_);
                  if (req.get_param_value("skipSysProcess") != "true") res.status = 400;
                  res.set_content(reply_, "application/json");
                });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~FakeDashboard() {
    server_.stop();
    thread_.join();
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/rocketmq"; }
  void reply(const std::string& body) {
    std::lock_guard lock(mutex_);
    reply_ = body;
  }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mutex_;
  std::string reply_;
};

std::string dashboard_list(const std::vector<std::string>& topics) {
  return json{{"status", 0},
              {"data", {{"topicList", topics}, {"brokerAddr", nullptr}}},
              {"errMsg", nullptr}}
      .dump();
}

std::vector<std::string> broker_args(const BrokerSim& broker, std::vector<std::string> more = {}) {
  std::vector<std::string> args = {"--broker.url", broker.url(), "--log.level", "debug"};
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

}  // namespace

TEST_CASE("feed: a deletion through the feed removes the topic's series at once", "[integration]") {
  TempDir dir("feed-test");
  BrokerSim broker(dir, "broker");
  broker.create("orders");
  for (int i = 0; i < 3; ++i) broker.enqueue("orders", "o" + std::to_string(i));
  broker.enqueue("payments", "p0");
  broker.enqueue("payments", "p1");

  Sidecar sidecar(dir, "sidecar", broker_args(broker));
  require_equal(sidecar, {{"orders", 3}, {"payments", 2}});
  CHECK(readyz(sidecar) == 200);
  // The broker still held its whole history: replayed, no list needed.
  CHECK(metric(sidecar, R"(timing_sidecar_feed_relists_total{cause="gone"})") == 0);
  CHECK(metric(sidecar, "timing_sidecar_feed_up") == 1);

  broker.remove("orders");
  REQUIRE(eventually([&] { return !exports_topic(sidecar, "orders"); }));
  require_converged(sidecar, broker);
  CHECK(metric(sidecar, R"(timing_sidecar_events_total{source="feed",type="topic.deleted"})") == 1);
  CHECK(metric(sidecar, "timing_sidecar_feed_revision") == broker.revision());

  // Shutting down does not wait out the long-poll the sidecar holds on the broker (30 s).
  const auto stopping = std::chrono::steady_clock::now();
  sidecar.process().send_signal(SIGTERM);
  const auto status = sidecar.process().wait_for_exit(10s);
  REQUIRE(status);
  CHECK(status->code == 0);
  CHECK(std::chrono::steady_clock::now() - stopping < 2s);
}

TEST_CASE("feed: a deletion the feed never showed is caught by the next list", "[integration]") {
  TempDir dir("feed-test");
  BrokerSim broker(dir, "broker");
  for (const std::string topic : {"a", "b", "c"}) broker.enqueue(topic, topic + "-1");
  Sidecar sidecar(dir, "sidecar", broker_args(broker, {"--broker.resync-interval", "1s"}));
  require_converged(sidecar, broker);

  broker.remove("b", /*silent=*/true);
  REQUIRE(eventually([&] { return !exports_topic(sidecar, "b"); }));
  require_converged(sidecar, broker);
  CHECK(metric(sidecar, R"(timing_sidecar_feed_relists_total{cause="resync"})") >= 1);
  CHECK(metric(sidecar, R"(timing_sidecar_list_drops_total{outcome="dropped",source="broker"})") ==
        1);
}

TEST_CASE("feed: a history too short to replay leads to a list with the broker's counts",
          "[integration]") {
  TempDir dir("feed-test");
  BrokerSim broker(dir, "broker", 0, {"--history", "5"});
  for (int i = 0; i < 4; ++i) broker.enqueue("x", "x" + std::to_string(i));
  for (int i = 0; i < 3; ++i) broker.enqueue("y", "y" + std::to_string(i));

  Sidecar sidecar(dir, "sidecar", broker_args(broker));
  require_converged(sidecar, broker);
  CHECK(readyz(sidecar) == 200);
  CHECK(metric(sidecar, R"(timing_sidecar_feed_relists_total{cause="gone"})") == 1);
  CHECK(metric(sidecar, "timing_sidecar_topics_incomplete") == 2);

  // Messages only the adopted counts knew of still leave when they are dequeued.
  broker.dequeue("x", "x0");
  broker.cancel("y", "y1");
  broker.enqueue("y", "y3");
  require_equal(sidecar, {{"x", 3}, {"y", 3}});
  require_converged(sidecar, broker);
}

TEST_CASE("feed: a broker that restarts its revision counter is relisted, and later events apply",
          "[integration]") {
  TempDir dir("feed-test");
  BrokerSim broker(dir, "broker");
  broker.create("early");
  broker.enqueue("early", "e0");
  for (int i = 0; i < 20; ++i) broker.enqueue("busy", "b" + std::to_string(i));
  broker.enqueue("late", "l0");  // created at revision 24 of the old counter
  Sidecar sidecar(dir, "sidecar", broker_args(broker));
  require_converged(sidecar, broker);

  CHECK(broker.post("/admin/restart-revision", json::object())["revision"] == 3);
  // Revisions 4 and 5 of the new counter: below the old ones the sidecar remembers for "late".
  broker.enqueue("late", "l1");
  broker.remove("early");
  require_equal(sidecar, {{"busy", 20}, {"late", 2}});
  require_converged(sidecar, broker);
  CHECK(metric(sidecar, R"(timing_sidecar_feed_relists_total{cause="gone"})") +
            metric(sidecar, R"(timing_sidecar_feed_relists_total{cause="revision_backwards"})") ==
        1);
  CHECK(metric(sidecar, R"(timing_sidecar_events_ignored_total{reason="stale_revision"})") == 0);
}

TEST_CASE("feed: with --state.dir a sidecar killed and restarted resumes where its state left it",
          "[integration]") {
  TempDir dir("feed-test");
  // A history of 30 events: more than the sidecar misses while down, less than the whole.
  BrokerSim broker(dir, "broker", 0, {"--history", "30"});
  for (int i = 0; i < 10; ++i) broker.enqueue("kept", "k" + std::to_string(i));
  for (int i = 0; i < 5; ++i) broker.enqueue("doomed", "d" + std::to_string(i));
  const std::vector<std::string> args =
      broker_args(broker, {"--state.dir", dir.file("state"), "--state.sync", "always"});
  {
    Sidecar first(dir, "first", args);
    require_converged(first, broker);
    first.process().send_signal(SIGKILL);
    REQUIRE(first.process().wait_for_exit(10s));
  }
  // Missed while down; a replay from revision 0 now meets 410 Gone.
  broker.dequeue("kept", "k0");
  broker.remove("doomed");
  for (int i = 0; i < 20; ++i) broker.enqueue("new", "n" + std::to_string(i));

  Sidecar second(dir, "second", args);
  require_equal(second, {{"kept", 9}, {"new", 20}});
  require_converged(second, broker);
  CHECK(readyz(second) == 200);
  CHECK(metric(second, R"(timing_sidecar_feed_relists_total{cause="gone"})") == 0);
  CHECK(metric(second, "timing_sidecar_topics_incomplete") == 0);
  CHECK(metric(second, "timing_sidecar_feed_revision") == broker.revision());
}

TEST_CASE("feed: a broker down for a while and back: nothing lost, nothing stale",
          "[integration]") {
  TempDir dir("feed-test");
  const int port = test_support::unused_loopback_port();
  Sidecar sidecar(dir, "sidecar",
                  {"--broker.url", "http://127.0.0.1:" + std::to_string(port),
                   "--broker.resync-interval", "1s", "--log.level", "debug"});
  // No broker yet: the sidecar says so and is not ready.
  REQUIRE(eventually([&] {
    return metric(sidecar, R"(timing_sidecar_feed_errors_total{reason="connect"})") > 0;
  }));
  CHECK(readyz(sidecar) == 503);
  CHECK(metric(sidecar, "timing_sidecar_feed_up") == 0);

  {
    BrokerSim first(dir, "first", port);
    first.enqueue("a", "a0");
    first.enqueue("a", "a1");
    first.enqueue("b", "b0");
    first.enqueue("c", "c0");
    // Enough history that the restarted broker's fresh counter stays below it.
    for (int i = 0; i < 40; ++i) first.enqueue("c", "c-extra" + std::to_string(i));
    for (int i = 0; i < 40; ++i) first.dequeue("c", "c-extra" + std::to_string(i));
    require_converged(sidecar, first);
    CHECK(readyz(sidecar) == 200);
  }
  REQUIRE(eventually([&] { return metric(sidecar, "timing_sidecar_feed_up") == 0; }));
  // While the broker is away the last known state stays exported: nothing is lost.
  CHECK(sidecar_pending(sidecar) == Pending{{"a", 2}, {"b", 1}, {"c", 1}});
  CHECK(readyz(sidecar) == 200);

  // The broker comes back without "b" (deleted meanwhile) and with "d", its counter fresh.
  BrokerSim second(dir, "second", port);
  second.post("/admin/batch",
              {{"ops",
                {{{"op", "enqueue"}, {"topic", "a"}, {"id", "a0"}, {"delayMs", 600'000}},
                 {{"op", "enqueue"}, {"topic", "a"}, {"id", "a1"}, {"delayMs", 600'000}},
                 {{"op", "enqueue"}, {"topic", "c"}, {"id", "c0"}, {"delayMs", 600'000}},
                 {{"op", "enqueue"}, {"topic", "d"}, {"id", "d0"}, {"delayMs", 600'000}}}}});
  require_equal(sidecar, {{"a", 2}, {"c", 1}, {"d", 1}}, 40s);
  CHECK(metric(sidecar, "timing_sidecar_feed_up") == 1);
  CHECK(metric(sidecar, R"(timing_sidecar_feed_relists_total{cause="gone"})") +
            metric(sidecar, R"(timing_sidecar_feed_relists_total{cause="revision_backwards"})") >=
        1);
  // And what happens next still counts.
  second.dequeue("a", "a0");
  second.enqueue("d", "d1");
  require_converged(sidecar, second);
}

TEST_CASE("feed: a window of errors loses nothing once it closes", "[integration]") {
  TempDir dir("feed-test");
  BrokerSim broker(dir, "broker");
  for (const std::string topic : {"a", "b"}) {
    broker.enqueue(topic, topic + "0");
    broker.enqueue(topic, topic + "1");
  }
  Sidecar sidecar(dir, "sidecar", broker_args(broker, {"--broker.poll-timeout", "1s"}));
  require_converged(sidecar, broker);

  broker.fault({{"errorRate", 1}});
  REQUIRE(eventually([&] { return metric(sidecar, "timing_sidecar_feed_up") == 0; }));
  broker.enqueue("a", "a2");
  broker.cancel("a", "a0");
  broker.remove("b");
  broker.enqueue("e", "e0");
  broker.fault({{"errorRate", 0}});

  require_equal(sidecar, {{"a", 2}, {"e", 1}}, 60s);
  require_converged(sidecar, broker);
  CHECK(metric(sidecar, R"(timing_sidecar_feed_errors_total{reason="http_status"})") > 0);
  CHECK(metric(sidecar, R"(timing_sidecar_feed_relists_total{cause="gone"})") == 0);
  CHECK(sidecar.log().find("broker feed down") != std::string::npos);
  CHECK(eventually([&] { return metric(sidecar, "timing_sidecar_feed_up") == 1; }));
}

TEST_CASE("feed: a list that would drop 90% is held back until the next list confirms it",
          "[integration]") {
  TempDir dir("feed-test");
  BrokerSim broker(dir, "broker");
  const std::vector<std::string> topics = numbered("t", 10);
  for (const std::string& topic : topics) broker.enqueue(topic, topic + "-m");
  Sidecar sidecar(dir, "sidecar", broker_args(broker, {"--broker.resync-interval", "2s"}));
  require_converged(sidecar, broker);

  for (size_t i = 1; i < topics.size(); ++i) broker.remove(topics[i], /*silent=*/true);
  const std::string held =
      R"(timing_sidecar_list_drops_total{outcome="held_back",source="broker"})";
  REQUIRE(eventually([&] { return metric(sidecar, held) == 9; }));
  // Held back: every series is still there until the next list, two seconds on.
  CHECK(sidecar_pending(sidecar).size() == 10);
  require_converged(sidecar, broker);
  CHECK(metric(sidecar, R"(timing_sidecar_list_drops_total{outcome="dropped",source="broker"})") ==
        9);
}

TEST_CASE("feed: fault injection ends with the sidecar equal to the broker's truth",
          "[integration]") {
  TempDir dir("feed-test");
  BrokerSim broker(dir, "broker");
  Sidecar sidecar(
      dir, "sidecar",
      broker_args(broker, {"--broker.resync-interval", "1s", "--broker.poll-timeout", "1s"}));
  broker.fault({{"errorRate", 0.2}, {"garbageRate", 0.2}, {"dropRate", 0.15}, {"delayMs", 20}});

  // Enqueues, dequeues, cancels, deletions and re-creations, over a few seconds so that the
  // sidecar polls and lists through the faults as they happen.
  std::mt19937 random(11);
  const std::vector<std::string> topics = numbered("f", 6);
  std::map<std::string, std::vector<std::string>> ids;
  int next_id = 0;
  for (int round = 0; round < 60; ++round) {
    const std::string& topic = topics[random() % topics.size()];
    auto& pending = ids[topic];
    switch (random() % 6) {
      case 0:
      case 1:
      case 2:
        pending.push_back("m" + std::to_string(next_id++));
        broker.enqueue(topic, pending.back());
        break;
      case 3:
        if (!pending.empty()) {
          broker.dequeue(topic, pending.back());
          pending.pop_back();
        }
        break;
      case 4:
        if (!pending.empty()) {
          broker.cancel(topic, pending.front());
          pending.erase(pending.begin());
        }
        break;
      case 5:
        if (broker.truth().count(topic) != 0) {
          broker.remove(topic);
          pending.clear();
        }
        break;
    }
    std::this_thread::sleep_for(50ms);  // pacing: the workload spans many polls
  }
  broker.fault({{"errorRate", 0}, {"garbageRate", 0}, {"dropRate", 0}, {"delayMs", 0}});
  require_converged(sidecar, broker, 60s);
  CHECK(metric(sidecar, R"(timing_sidecar_feed_errors_total{reason="http_status"})") > 0);
  CHECK(metric(sidecar, R"(timing_sidecar_feed_errors_total{reason="malformed"})") > 0);
  CHECK(metric(sidecar, R"(timing_sidecar_feed_errors_total{reason="connection_lost"})") > 0);
}

TEST_CASE("feed: timermetrics alone reads topics.json beside it, as RocketMQ rewrites both",
          "[integration]") {
  TempDir dir("feed-test");
  const std::string store = dir.file("config");
  std::filesystem::create_directories(store);
  Sidecar sidecar(dir, "sidecar",
                  {"--timer-metrics.file", store + "/timermetrics", "--sources.poll-interval",
                   "100ms", "--log.level", "debug"});
  // Neither file exists yet: not ready, and counted.
  REQUIRE(eventually([&] {
    return metric(sidecar,
                  R"(timing_sidecar_source_errors_total{reason="missing",source="topics_file"})") >
           0;
  }));
  CHECK(readyz(sidecar) == 503);
  CHECK_THAT(sidecar.log(), Catch::Contains("the topics.json beside it"));

  rocketmq_write(store + "/timermetrics", fixture("timermetrics"));
  rocketmq_write(store + "/topics.json", fixture("topics.json"));
  REQUIRE(eventually([&] { return readyz(sidecar) == 200; }));
  // The broker's own counts for live topics; "deleted-last-week" is only in timermetrics, as
  // RocketMQ keeps counts of deleted topics, and system topics are never exported.
  require_equal(sidecar, {{"%DLQ%order-consumers", 0},
                          {"%RETRY%order-consumers", 0},
                          {"DefaultCluster", 0},
                          {"audit-log", 0},
                          {"order-timeouts", 5},
                          {"payment-reminders", 0}});
  const std::string metrics = sidecar.metrics();
  for (const char* hidden : {"deleted-last-week", "SCHEDULE_TOPIC_XXXX", "TBW102", "rmq_sys_",
                             "%LMQ%", "RMQ_SYS_TRANS_HALF_TOPIC", "OFFSET_MOVED_EVENT"}) {
    INFO(hidden);
    CHECK(metrics.find(hidden) == std::string::npos);
  }

  // A deletion rewrites topics.json; the broker's count moves in timermetrics.
  json topics = json::parse(fixture("topics.json"));
  topics["dataVersion"]["counter"] = 13;
  topics["topicConfigTable"].erase("payment-reminders");
  rocketmq_write(store + "/topics.json", topics.dump(1, '\t'));
  json counts = json::parse(fixture("timermetrics"));
  counts["timingCount"]["order-timeouts"]["count"] = 2;
  rocketmq_write(store + "/timermetrics", counts.dump(1, '\t'));
  REQUIRE(eventually([&] { return !exports_topic(sidecar, "payment-reminders"); }));
  require_equal(sidecar, {{"%DLQ%order-consumers", 0},
                          {"%RETRY%order-consumers", 0},
                          {"DefaultCluster", 0},
                          {"audit-log", 0},
                          {"order-timeouts", 2}});

  // Caught half-written in place: refused and counted, the last good list stays.
  topics["dataVersion"]["counter"] = 14;
  topics["topicConfigTable"].erase("audit-log");
  const std::string next = topics.dump(1, '\t');
  write_file(store + "/topics.json", next.substr(0, next.size() / 2));
  REQUIRE(eventually([&] {
    return metric(
               sidecar,
               R"(timing_sidecar_source_errors_total{reason="malformed",source="topics_file"})") >
           0;
  }));
  CHECK(exports_topic(sidecar, "audit-log"));
  CHECK(metric(sidecar, R"(timing_sidecar_source_up{source="topics_file"})") == 0);
  write_file(store + "/topics.json", next);
  REQUIRE(eventually([&] { return !exports_topic(sidecar, "audit-log"); }));
  CHECK(metric(sidecar, R"(timing_sidecar_source_up{source="topics_file"})") == 1);
}

TEST_CASE("feed: a topic created after a list's snapshot survives that list", "[integration]") {
  TempDir dir("feed-test");
  const std::string file = dir.file("topics.json");
  rocketmq_write(file, topics_json(1, {"listed"}));
  Sidecar sidecar(
      dir, "sidecar",
      {"--topics.file", file, "--sources.poll-interval", "100ms", "--log.level", "debug"});
  require_equal(sidecar, {{"listed", 0}});

  // "before" is first seen before the next file is written, "after" after: the clocks are
  // milliseconds, so each step waits a little for the next to be strictly later.
  post_webhook(sidecar, {{"type", "topic.created"}, {"topic", "before"}});
  std::this_thread::sleep_for(50ms);
  const int64_t written_ms = now_ms();
  std::this_thread::sleep_for(50ms);
  post_webhook(sidecar, {{"type", "topic.created"}, {"topic", "after"}});
  rocketmq_write(file, topics_json(2, {"listed", "new"}), written_ms);

  REQUIRE(eventually([&] { return exports_topic(sidecar, "new"); }));
  // The file knew of "before" and left it out: dropped. It could not know of "after": kept.
  require_equal(sidecar, {{"after", 0}, {"listed", 0}, {"new", 0}});
}

TEST_CASE("feed: a topics.json that would drop 90% waits for the next to confirm it",
          "[integration]") {
  TempDir dir("feed-test");
  const std::string file = dir.file("topics.json");
  const std::vector<std::string> topics = numbered("t", 10);
  rocketmq_write(file, topics_json(1, topics));
  Sidecar sidecar(
      dir, "sidecar",
      {"--topics.file", file, "--sources.poll-interval", "100ms", "--log.level", "debug"});
  REQUIRE(eventually([&] { return sidecar_pending(sidecar).size() == 10; }));

  rocketmq_write(file, topics_json(2, {"t0"}));
  const std::string held =
      R"(timing_sidecar_list_drops_total{outcome="held_back",source="topics_file"})";
  REQUIRE(eventually([&] { return metric(sidecar, held) == 9; }));
  CHECK(sidecar_pending(sidecar).size() == 10);

  // The broker writes the file again (any change): the same list, now confirmed.
  rocketmq_write(file, topics_json(3, {"t0"}));
  require_equal(sidecar, {{"t0", 0}});
  CHECK(metric(sidecar,
               R"(timing_sidecar_list_drops_total{outcome="dropped",source="topics_file"})") == 9);
}

TEST_CASE("feed: the dashboard's topic list is a list source, and its own errors change nothing",
          "[integration]") {
  TempDir dir("feed-test");
  FakeDashboard dashboard;
  const std::string refusal = fixture("dashboard-error.json");
  dashboard.reply(refusal);
  Sidecar sidecar(dir, "sidecar",
                  {"--topics.dashboard-url", dashboard.url(), "--sources.poll-interval", "100ms",
                   "--log.level", "debug"});
  const std::string refused =
      R"(timing_sidecar_source_errors_total{reason="dashboard_status",source="dashboard"})";
  REQUIRE(eventually([&] { return metric(sidecar, refused) > 0; }));
  CHECK(readyz(sidecar) == 503);

  dashboard.reply(dashboard_list({"a", "b", "c", "TBW102", "rmq_sys_wheel_timer"}));
  require_equal(sidecar, {{"a", 0}, {"b", 0}, {"c", 0}});
  CHECK(readyz(sidecar) == 200);

  dashboard.reply(refusal);
  const double refusals = metric(sidecar, refused);
  REQUIRE(eventually([&] { return metric(sidecar, refused) > refusals; }));
  CHECK(sidecar_pending(sidecar) == Pending{{"a", 0}, {"b", 0}, {"c", 0}});

  dashboard.reply(dashboard_list({"a", "b"}));
  require_equal(sidecar, {{"a", 0}, {"b", 0}});
}
