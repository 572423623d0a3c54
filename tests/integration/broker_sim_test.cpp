// broker-sim, the simulated RocketMQ broker, driven over HTTP as the sidecar and the tests will:
// its broker API (/v1/topics, the /v1/events long-poll and its 410s), its admin API, fault
// injection and the webhook push. Every wait is bounded; every broker runs on 127.0.0.1.

#include <httplib.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "process.hpp"

using nlohmann::json;
using test_support::ChildOptions;
using test_support::ChildProcess;
using test_support::TempDir;
using namespace std::chrono_literals;

namespace {

// A broker-sim on a free loopback port, stopped (SIGTERM) when it goes out of scope.
class BrokerSim {
 public:
  explicit BrokerSim(const std::vector<std::string>& extra_args = {})
      : dir_("broker-sim-test"), process_(start(dir_, extra_args)) {
    const auto port = test_support::wait_for_port_file(dir_.file("port"), 10s, &process_);
    INFO("broker-sim log:\n" << log());
    REQUIRE(port);
    port_ = *port;
  }

  int port() const { return port_; }
  ChildProcess& process() { return process_; }
  std::string log() const { return test_support::read_file(dir_.file("stderr.log")); }

  httplib::Client client(time_t read_timeout_seconds = 5) const {
    httplib::Client client("127.0.0.1", port_);
    client.set_connection_timeout(2, 0);
    client.set_read_timeout(read_timeout_seconds, 0);
    client.set_write_timeout(5, 0);
    return client;
  }

 private:
  static ChildProcess start(const TempDir& dir, const std::vector<std::string>& extra_args) {
    std::vector<std::string> args = {"--listen", "127.0.0.1:0", "--port-file", dir.file("port"),
                                     "--seed",   "42",          "--log.level", "debug"};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    ChildOptions options;
    options.stderr_path = dir.file("stderr.log");
    return ChildProcess(BROKER_SIM_BIN, args, options);
  }

  TempDir dir_;  // declared first: outlives the process, whose log it holds
  ChildProcess process_;
  int port_ = 0;
};

json parse_reply(const httplib::Result& result, int expected_status) {
  INFO("request error: " << httplib::to_string(result.error()));
  REQUIRE(result);
  INFO("body: " << result->body);
  REQUIRE(result->status == expected_status);
  return json::parse(result->body);
}

int status_of(const httplib::Result& result) {
  return result ? result->status : -1;
}

json get(httplib::Client& client, const std::string& path, int expected_status = 200) {
  return parse_reply(client.Get(path.c_str()), expected_status);
}

json post(httplib::Client& client, const std::string& path, const json& body,
          int expected_status = 200) {
  return parse_reply(client.Post(path.c_str(), body.dump(), "application/json"), expected_status);
}

std::vector<std::string> types_of(const json& events) {
  std::vector<std::string> types;
  for (const json& event : events) types.push_back(event.at("type").get<std::string>());
  return types;
}

void require_increasing_revisions(const json& events) {
  for (size_t i = 1; i < events.size(); ++i) {
    REQUIRE(events[i].at("revision").get<int64_t>() > events[i - 1].at("revision").get<int64_t>());
  }
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Runs a long-poll on a client of its own, so that the test can change the broker meanwhile.
std::future<httplib::Result> long_poll(const BrokerSim& broker, const std::string& path) {
  return std::async(std::launch::async, [&broker, path] {
    httplib::Client client = broker.client(15);
    return client.Get(path.c_str());
  });
}

}  // namespace

TEST_CASE("broker-sim: topics and pending counts show in /v1/topics and /admin/truth") {
  BrokerSim broker;
  httplib::Client client = broker.client();

  json created = post(client, "/admin/topics", {{"name", "orders"}});
  CHECK(created["created"] == true);
  CHECK(created["revision"] == 1);
  created = post(client, "/admin/topics", {{"name", "orders"}});
  CHECK(created["created"] == false);
  CHECK(created["revision"] == 1);

  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    json reply = post(client, "/admin/enqueue", {{"topic", "orders"}, {"delayMs", 60'000}});
    CHECK(reply["id"].get<std::string>().size() == 32);
    ids.push_back(reply["id"]);
  }
  // Enqueueing into an unknown topic creates it first, as RocketMQ's auto-create does.
  json enqueued =
      post(client, "/admin/enqueue",
           {{"topic", "payments"}, {"id", "pay-1"}, {"deliverAtMs", 4'000'000'000'000}});
  CHECK(enqueued["id"] == "pay-1");
  CHECK(enqueued["revision"] == 6);
  CHECK(post(client, "/admin/dequeue", {{"topic", "orders"}, {"id", ids[0]}})["revision"] == 7);
  CHECK(post(client, "/admin/cancel", {{"topic", "orders"}, {"id", ids[1]}})["revision"] == 8);

  json topics = get(client, "/v1/topics");
  CHECK(topics["revision"] == 8);
  CHECK(topics["topics"] == json::parse(R"([
    {"name":"orders","messageType":"DELAY","timing":1},
    {"name":"payments","messageType":"DELAY","timing":1}])"));
  CHECK(get(client, "/admin/truth") == json::parse(R"({"revision":8,"topics":{
    "orders":{"pending":1},"payments":{"pending":1}}})"));

  // A deleted topic's pending messages are gone with it, also when it comes back.
  CHECK(status_of(client.Delete("/admin/topics/payments")) == 200);
  post(client, "/admin/enqueue", {{"topic", "payments"}, {"delayMs", 1000}});
  CHECK(get(client, "/admin/truth")["topics"]["payments"]["pending"] == 1);

  SECTION("refusals") {
    post(client, "/admin/dequeue", {{"topic", "orders"}, {"id", ids[0]}}, 404);
    post(client, "/admin/cancel", {{"topic", "nosuch"}, {"id", "x"}}, 404);
    post(client, "/admin/enqueue", {{"topic", "orders"}, {"id", ids[2]}, {"delayMs", 5}}, 409);
    post(client, "/admin/enqueue", {{"topic", "bad topic"}, {"delayMs", 5}}, 400);
    post(client, "/admin/enqueue", {{"topic", std::string(128, 'a')}, {"delayMs", 5}}, 400);
    post(client, "/admin/enqueue", {{"topic", "orders"}, {"delay", 5}}, 400);
    post(client, "/admin/enqueue", {{"topic", "orders"}}, 400);
    post(client, "/admin/enqueue", {{"topic", "orders"}, {"deliverAtMs", 1'700'000'000}}, 400);
    post(client, "/admin/topics", {{"name", "x"}, {"messageType", "SLOW"}}, 400);
    CHECK(parse_reply(client.Delete("/admin/topics/nosuch"), 404).contains("error"));
    CHECK(
        parse_reply(client.Post("/admin/topics", "{", "application/json"), 400).contains("error"));
    CHECK(get(client, "/admin/truth")["revision"] == 11);
  }
}

TEST_CASE("broker-sim: the feed returns events in order with increasing revisions") {
  BrokerSim broker;
  httplib::Client client = broker.client();

  post(client, "/admin/topics", {{"name", "A"}, {"messageType", "DELAY"}});
  const std::string id = post(client, "/admin/enqueue", {{"topic", "B"}, {"delayMs", 10}})["id"];
  post(client, "/admin/dequeue", {{"topic", "B"}, {"id", id}});
  post(client, "/admin/enqueue", {{"topic", "A"}, {"id", "m1"}, {"delayMs", 10}});
  post(client, "/admin/cancel", {{"topic", "A"}, {"id", "m1"}});
  CHECK(status_of(client.Delete("/admin/topics/B")) == 200);

  json feed = get(client, "/v1/events?after=0&timeout=1");
  CHECK(feed["revision"] == 7);
  CHECK(types_of(feed["events"]) == std::vector<std::string>{"topic.created", "topic.created",
                                                             "timer.enqueued", "timer.dequeued",
                                                             "timer.enqueued", "timer.cancelled",
                                                             "topic.deleted"});
  for (size_t i = 0; i < feed["events"].size(); ++i) CHECK(feed["events"][i]["revision"] == i + 1);
  CHECK(feed["events"][0] ==
        json::parse(R"({"type":"topic.created","topic":"A","messageType":"DELAY","revision":1})"));
  CHECK(feed["events"][2]["id"] == id);
  CHECK(feed["events"][2]["deliverAtMs"].is_number_integer());
  CHECK(feed["events"][5] ==
        json::parse(R"({"type":"timer.cancelled","topic":"A","id":"m1","revision":6})"));
  CHECK(feed["events"][6] == json::parse(R"({"type":"topic.deleted","topic":"B","revision":7})"));

  json later = get(client, "/v1/events?after=5&timeout=1");
  CHECK(types_of(later["events"]) == std::vector<std::string>{"timer.cancelled", "topic.deleted"});

  SECTION("a waiting long-poll returns as soon as an event arrives") {
    const auto start = std::chrono::steady_clock::now();
    auto pending = long_poll(broker, "/v1/events?after=7&timeout=30");
    std::this_thread::sleep_for(200ms);
    post(client, "/admin/enqueue", {{"topic", "A"}, {"id", "m2"}, {"delayMs", 10}});
    REQUIRE(pending.wait_for(5s) == std::future_status::ready);
    json woken = parse_reply(pending.get(), 200);
    CHECK(seconds_since(start) < 5);
    REQUIRE(woken["events"].size() == 1);
    CHECK(woken["events"][0]["id"] == "m2");
    CHECK(woken["events"][0]["revision"] == 8);
  }

  SECTION("large backlogs come in pages of 1000") {
    post(client, "/admin/batch",
         {{"ops", {{{"op", "enqueue"}, {"topic", "A"}, {"count", 1500}, {"maxDelayMs", 60'000}}}}});
    json first = get(client, "/v1/events?after=7&timeout=1");
    REQUIRE(first["events"].size() == 1000);
    CHECK(first["revision"] == 1507);
    require_increasing_revisions(first["events"]);
    const int64_t last = first["events"].back()["revision"];
    CHECK(last == 1007);
    json second = get(client, "/v1/events?after=" + std::to_string(last) + "&timeout=1");
    REQUIRE(second["events"].size() == 500);
    CHECK(second["events"][0]["revision"] == 1008);
    CHECK(second["events"].back()["revision"] == 1507);
  }
}

TEST_CASE("broker-sim: an idle long-poll ends empty at its timeout") {
  BrokerSim broker;
  httplib::Client client = broker.client();
  post(client, "/admin/topics", {{"name", "A"}});

  const auto start = std::chrono::steady_clock::now();
  json feed = get(client, "/v1/events?after=1&timeout=1");
  const double elapsed = seconds_since(start);
  CHECK(elapsed >= 0.9);
  CHECK(elapsed < 4);
  CHECK(feed == json::parse(R"({"revision":1,"events":[]})"));
  CHECK(get(client, "/v1/events?after=1&timeout=0")["events"].empty());

  get(client, "/v1/events?timeout=1", 400);
  get(client, "/v1/events?after=-1&timeout=1", 400);
  get(client, "/v1/events?after=abc", 400);
  get(client, "/v1/events?after=1&timeout=1s", 400);
}

TEST_CASE("broker-sim: 410 Gone once the history has overflowed") {
  BrokerSim broker({"--history", "5"});
  httplib::Client client = broker.client();
  for (int i = 0; i < 4; ++i) post(client, "/admin/topics", {{"name", "T" + std::to_string(i)}});
  for (int i = 0; i < 4; ++i) post(client, "/admin/enqueue", {{"topic", "T0"}, {"delayMs", 1000}});

  // Revisions 1-8 happened; 4-8 are kept, so after=3 is the oldest position still served.
  json gone = get(client, "/v1/events?after=0&timeout=1", 410);
  CHECK(gone["error"].get<std::string>().find("relist") != std::string::npos);
  get(client, "/v1/events?after=2&timeout=1", 410);
  json kept = get(client, "/v1/events?after=3&timeout=1");
  REQUIRE(kept["events"].size() == 5);
  CHECK(kept["events"][0]["revision"] == 4);
  CHECK(kept["events"][4]["revision"] == 8);

  // The list is what a client relists from: it is whole whatever the history lost.
  json topics = get(client, "/v1/topics");
  CHECK(topics["revision"] == 8);
  CHECK(topics["topics"].size() == 4);
  CHECK(topics["topics"][0]["timing"] == 4);
}

TEST_CASE("broker-sim: 410 Gone after restart-revision, and a relist recovers") {
  BrokerSim broker;
  httplib::Client client = broker.client();
  post(client, "/admin/topics", {{"name", "A"}});
  post(client, "/admin/enqueue", {{"topic", "B"}, {"delayMs", 60'000}});
  post(client, "/admin/enqueue", {{"topic", "B"}, {"delayMs", 60'000}});
  REQUIRE(get(client, "/v1/topics")["revision"] == 4);

  // A long-poll already waiting learns of the restart at once, not at its timeout.
  const auto start = std::chrono::steady_clock::now();
  auto waiting = long_poll(broker, "/v1/events?after=4&timeout=30");
  std::this_thread::sleep_for(200ms);
  CHECK(post(client, "/admin/restart-revision", json::object())["revision"] == 2);
  REQUIRE(waiting.wait_for(5s) == std::future_status::ready);
  parse_reply(waiting.get(), 410);
  CHECK(seconds_since(start) < 5);

  json ahead = get(client, "/v1/events?after=4&timeout=1", 410);
  CHECK(ahead["error"].get<std::string>().find("ahead") != std::string::npos);
  get(client, "/v1/events?after=1&timeout=1", 410);

  json topics = get(client, "/v1/topics");
  CHECK(topics["revision"] == 2);
  CHECK(topics["topics"] == json::parse(R"([
    {"name":"A","messageType":"DELAY","timing":0},
    {"name":"B","messageType":"DELAY","timing":2}])"));
  CHECK(get(client, "/v1/events?after=2&timeout=0")["events"].empty());
  post(client, "/admin/enqueue", {{"topic", "A"}, {"delayMs", 10}});
  json resumed = get(client, "/v1/events?after=2&timeout=1");
  REQUIRE(resumed["events"].size() == 1);
  CHECK(resumed["events"][0]["revision"] == 3);
}

TEST_CASE("broker-sim: a silent delete shows only in the topic list") {
  BrokerSim broker;
  httplib::Client client = broker.client();
  post(client, "/admin/topics", {{"name", "kept"}});
  post(client, "/admin/enqueue", {{"topic", "lost"}, {"delayMs", 60'000}});

  json deleted = parse_reply(client.Delete("/admin/topics/lost?silent=true"), 200);
  CHECK(deleted["revision"] == 4);
  json feed = get(client, "/v1/events?after=3&timeout=1");
  CHECK(feed["events"].empty());
  CHECK(feed["revision"] == 4);
  CHECK(types_of(get(client, "/v1/events?after=0&timeout=1")["events"]) ==
        std::vector<std::string>{"topic.created", "topic.created", "timer.enqueued"});
  json topics = get(client, "/v1/topics");
  CHECK(topics["revision"] == 4);
  REQUIRE(topics["topics"].size() == 1);
  CHECK(topics["topics"][0]["name"] == "kept");
  CHECK(status_of(client.Delete("/admin/topics/kept?silent=maybe")) == 400);
}

TEST_CASE("broker-sim: fault injection applies to /v1 only") {
  SECTION("errors, garbage, drops and delays set at run time") {
    BrokerSim broker;
    httplib::Client client = broker.client();
    post(client, "/admin/topics", {{"name", "A"}});

    post(client, "/admin/fault", {{"errorRate", 1}});
    CHECK(parse_reply(client.Get("/v1/topics"), 503).contains("error"));
    CHECK(status_of(client.Get("/v1/events?after=0&timeout=1")) == 503);
    CHECK(get(client, "/admin/truth")["revision"] == 1);

    post(client, "/admin/fault", {{"errorRate", 0}, {"garbageRate", 1}});
    for (int i = 0; i < 10; ++i) {
      auto result = client.Get("/v1/topics");
      REQUIRE(result);
      CHECK(result->status == 200);
      CHECK_FALSE(json::accept(result->body));
    }

    // The connection is closed with no reply: the client gets no response at all.
    post(client, "/admin/fault", {{"garbageRate", 0}, {"dropRate", 1}});
    for (const char* path : {"/v1/topics", "/v1/events?after=0&timeout=1"}) {
      auto result = client.Get(path);
      CHECK_FALSE(result);
      CHECK(result.error() == httplib::Error::Read);
    }
    CHECK(get(client, "/admin/truth")["revision"] == 1);

    json settings = post(client, "/admin/fault", {{"dropRate", 0}, {"delayMs", 400}});
    CHECK(settings ==
          json::parse(R"({"errorRate":0.0,"garbageRate":0.0,"dropRate":0.0,"delayMs":400})"));
    auto start = std::chrono::steady_clock::now();
    get(client, "/v1/topics");
    CHECK(seconds_since(start) >= 0.35);
    start = std::chrono::steady_clock::now();
    get(client, "/admin/truth");
    CHECK(seconds_since(start) < 0.35);

    post(client, "/admin/fault", {{"delayMs", 0}});
    CHECK(get(client, "/v1/topics")["revision"] == 1);
    CHECK(get(client, "/admin/fault")["delayMs"] == 0);

    post(client, "/admin/fault", {{"errorRate", 1.5}}, 400);
    post(client, "/admin/fault", {{"loss", 0.5}}, 400);
    post(client, "/admin/fault", {{"delayMs", -1}}, 400);
  }

  SECTION("from the command line") {
    BrokerSim broker({"--fault.error-rate", "1"});
    httplib::Client client = broker.client();
    CHECK(status_of(client.Get("/v1/topics")) == 503);
    CHECK(get(client, "/admin/fault")["errorRate"] == 1.0);
  }
}

namespace {

// A stand-in for the sidecar's webhook: records every POST body, failing the first
// `failures` of them with 503.
class WebhookReceiver {
 public:
  explicit WebhookReceiver(int failures) : failures_(failures) {
    server_.Post("/v1/events", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard lock(mutex_);
      if (failures_ > 0) {
        --failures_;
        res.status = 503;
        return;
      }
      for (const json& event : json::parse(req.body)) events_.push_back(event);
      received_.notify_all();
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~WebhookReceiver() {
    server_.stop();
    thread_.join();
  }

  int port() const { return port_; }

  // The events received once there are `count` of them, or all there are after `timeout`.
  json wait_for(size_t count, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    received_.wait_for(lock, timeout, [&] { return events_.size() >= count; });
    return events_;
  }

 private:
  httplib::Server server_;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable received_;
  json events_ = json::array();
  int failures_;
  int port_ = 0;
};

}  // namespace

TEST_CASE("broker-sim: every event is pushed to the webhook, in order") {
  const int failures = GENERATE(0, 1);
  WebhookReceiver receiver(failures);
  REQUIRE(receiver.port() > 0);
  BrokerSim broker({"--webhook-url", "http://127.0.0.1:" + std::to_string(receiver.port())});
  httplib::Client client = broker.client();

  post(client, "/admin/topics", {{"name", "A"}});
  const std::string id = post(client, "/admin/enqueue", {{"topic", "B"}, {"delayMs", 10}})["id"];
  post(client, "/admin/batch",
       {{"ops",
         {{{"op", "enqueue"}, {"topic", "A"}, {"count", 20}, {"maxDelayMs", 1000}},
          {{"op", "dequeue"}, {"topic", "B"}, {"id", id}},
          {{"op", "create"}, {"name", "C"}},
          {{"op", "delete"}, {"name", "C"}, {"silent", true}},
          {{"op", "delete"}, {"name", "A"}}}}});

  json feed = get(client, "/v1/events?after=0&timeout=1");
  REQUIRE(feed["events"].size() == 26);
  json pushed = receiver.wait_for(26, 10s);
  CHECK(pushed == feed["events"]);
  require_increasing_revisions(pushed);

  json stats;
  for (int i = 0; i < 100; ++i) {
    stats = get(client, "/admin/webhook");
    if (stats["delivered"] == 26) break;
    std::this_thread::sleep_for(20ms);
  }
  CHECK(stats["enabled"] == true);
  CHECK(stats["delivered"] == 26);
  CHECK(stats["failed"] == 0);
  CHECK(stats["dropped"] == 0);
  CHECK(stats["retries"] >= failures);
}

TEST_CASE("broker-sim: batch ops validate first and report each result") {
  BrokerSim broker;
  httplib::Client client = broker.client();

  json reply = post(client, "/admin/batch", json::parse(R"({"ops":[
    {"op":"create","name":"A","messageType":"NORMAL"},
    {"op":"enqueue","topic":"A","count":100,"maxDelayMs":60000},
    {"op":"dequeue","topic":"A","count":10},
    {"op":"enqueue","topic":"A","id":"fixed","delayMs":0},
    {"op":"cancel","topic":"A","id":"fixed"},
    {"op":"cancel","topic":"A","id":"fixed"},
    {"op":"dequeue","topic":"nosuch","count":1}]})"));
  const json& results = reply["results"];
  REQUIRE(results.size() == 7);
  CHECK(results[0]["created"] == true);
  CHECK(results[1]["ids"].size() == 100);
  CHECK(results[2]["ids"].size() == 10);
  CHECK(results[3]["id"] == "fixed");
  CHECK(results[4]["status"] == 200);
  CHECK(results[5]["status"] == 404);
  CHECK(results[6]["status"] == 404);
  CHECK(reply["revision"] == 1 + 100 + 10 + 2);
  CHECK(get(client, "/v1/topics")["topics"][0] ==
        json::parse(R"({"name":"A","messageType":"NORMAL","timing":90})"));

  // The dequeued ones are the earliest due, as the broker's timer delivers them.
  json feed = get(client, "/v1/events?after=1&timeout=1");
  std::vector<int64_t> due;
  for (const json& event : feed["events"]) {
    if (event["type"] == "timer.enqueued" && event["id"] != "fixed")
      due.push_back(event["deliverAtMs"]);
  }
  std::sort(due.begin(), due.end());
  int64_t latest_dequeued = 0;
  for (const json& event : feed["events"]) {
    if (event["type"] != "timer.dequeued") continue;
    for (const json& enqueued : feed["events"]) {
      if (enqueued["type"] == "timer.enqueued" && enqueued["id"] == event["id"]) {
        latest_dequeued = std::max(latest_dequeued, enqueued["deliverAtMs"].get<int64_t>());
      }
    }
  }
  CHECK(latest_dequeued == due[9]);

  // One malformed op and nothing is applied.
  json refused = post(client, "/admin/batch", json::parse(R"({"ops":[
    {"op":"create","name":"B"},
    {"op":"enqueue","topic":"B","count":5}]})"),
                      400);
  CHECK(refused["error"].get<std::string>().rfind("ops[1]:", 0) == 0);
  post(client, "/admin/batch", json::parse(R"({"ops":[{"op":"explode","name":"B"}]})"), 400);
  post(client, "/admin/batch", json::parse(R"({"ops":[{"name":"B"}]})"), 400);
  post(client, "/admin/batch", json::parse(R"({"operations":[]})"), 400);
  CHECK(get(client, "/admin/truth")["revision"] == reply["revision"]);
}

TEST_CASE("broker-sim: SIGTERM ends pending long-polls and exits 0 promptly") {
  BrokerSim broker;
  httplib::Client client = broker.client();
  post(client, "/admin/topics", {{"name", "A"}});
  post(client, "/admin/fault", {{"delayMs", 30'000}});
  auto delayed = long_poll(broker, "/v1/topics");
  std::this_thread::sleep_for(300ms);
  post(client, "/admin/fault", {{"delayMs", 0}});
  std::vector<std::future<httplib::Result>> polls;
  for (int i = 0; i < 2; ++i) polls.push_back(long_poll(broker, "/v1/events?after=1&timeout=60"));
  std::this_thread::sleep_for(300ms);

  const auto start = std::chrono::steady_clock::now();
  const test_support::ExitStatus status = broker.process().terminate(10s);
  INFO("broker-sim log:\n" << broker.log());
  CHECK(seconds_since(start) < 3);
  CHECK(status.code == 0);
  CHECK_FALSE(status.killed);
  CHECK(delayed.wait_for(5s) == std::future_status::ready);
  for (const auto& poll : polls) CHECK(poll.wait_for(5s) == std::future_status::ready);
}

TEST_CASE("broker-sim: refuses bad command lines") {
  const std::vector<std::vector<std::string>> bad = {
      {"--fault.error-rate", "2"},
      {"--listen", "nowhere"},
      {"--history", "0"},
      {"--webhook-url", "ftp://127.0.0.1:1"},
      {"--webhook-url", "http://127.0.0.1:port"},
  };
  for (const auto& args : bad) {
    TempDir dir("broker-sim-test");
    ChildOptions options;
    options.stderr_path = dir.file("stderr.log");
    ChildProcess process(BROKER_SIM_BIN, args, options);
    const auto status = process.wait_for_exit(5s);
    INFO(args[0] << " " << args[1] << ": " << test_support::read_file(dir.file("stderr.log")));
    REQUIRE(status);
    CHECK(status->code != 0);
  }
}
