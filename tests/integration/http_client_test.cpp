// The broker feed's HTTP client on loopback: what the tailer's state machine (tested without
// sockets in tests/unit/tailer_test.cpp) takes for granted of its transport.

#include "timing_sidecar/http_client.hpp"

#include <httplib.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "support/ports.hpp"

using namespace timing_sidecar;
using namespace std::chrono_literals;

namespace {

// A broker API on loopback under a path prefix: it records every request's target, answers
// /v1/topics at once and holds /v1/events for its timeout unless stopped.
class LoopbackBroker {
 public:
  LoopbackBroker() {
    server_.Get("/prefix/v1/topics", [this](const httplib::Request& req, httplib::Response& res) {
      record(req);
      res.status = 201;
      res.set_content(R"({"revision":1,"topics":[]})", "application/json");
    });
    server_.Get("/prefix/v1/events", [this](const httplib::Request& req, httplib::Response& res) {
      record(req);
      std::unique_lock lock(mutex_);
      changed_.wait_for(lock, std::chrono::seconds(std::stoll(req.get_param_value("timeout"))),
                        [this] { return stopping_; });
      res.set_content(R"({"revision":1,"events":[]})", "application/json");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~LoopbackBroker() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    changed_.notify_all();
    server_.stop();
    thread_.join();
  }

  BaseUrl url() const {
    return *parse_base_url("http://127.0.0.1:" + std::to_string(port_) + "/prefix/");
  }
  std::vector<std::string> targets() {
    std::lock_guard lock(mutex_);
    return targets_;
  }
  bool wait_for_requests(size_t count) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, 5s, [&] { return targets_.size() >= count; });
  }

 private:
  void record(const httplib::Request& req) {
    {
      std::lock_guard lock(mutex_);
      targets_.push_back(req.target);
    }
    changed_.notify_all();
  }

  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable changed_;
  bool stopping_ = false;
  std::vector<std::string> targets_;
};

}  // namespace

TEST_CASE("http client: the broker API's requests, with status and body", "[integration]") {
  LoopbackBroker broker;
  HttpBrokerApi api(broker.url());
  const HttpResult listed = api.list();
  CHECK(listed.failure == HttpFailure::kNone);
  CHECK(listed.status == 201);
  CHECK(listed.body == R"({"revision":1,"topics":[]})");
  const HttpResult watched = api.watch(42, 1s);  // held for a second by the broker
  CHECK(watched.failure == HttpFailure::kNone);
  CHECK(watched.status == 200);
  CHECK(broker.targets() ==
        std::vector<std::string>{"/prefix/v1/topics", "/prefix/v1/events?after=42&timeout=1"});
}

TEST_CASE("http client: an unreachable broker is a connect failure", "[integration]") {
  HttpBrokerApi api(
      *parse_base_url("http://127.0.0.1:" + std::to_string(test_support::unused_loopback_port())));
  const HttpResult result = api.list();
  CHECK(result.failure == HttpFailure::kConnect);
  CHECK(failure_reason(result.failure) == "connect");
  CHECK_FALSE(result.error.empty());
}

TEST_CASE("http client: a reply slower than the read timeout is a timeout", "[integration]") {
  LoopbackBroker broker;
  CancellableClient client(broker.url());
  const auto started = std::chrono::steady_clock::now();
  const HttpResult result = client.get("/v1/events?after=0&timeout=5", 300ms);
  CHECK(result.failure == HttpFailure::kTimeout);
  CHECK(failure_reason(result.failure) == "timeout");
  CHECK(std::chrono::steady_clock::now() - started < 3s);
}

TEST_CASE("http client: cancel interrupts a held long-poll at once, and every later request",
          "[integration]") {
  LoopbackBroker broker;
  HttpBrokerApi api(broker.url());
  HttpResult held;
  std::thread poller([&] { held = api.watch(0, 30s); });
  REQUIRE(broker.wait_for_requests(1));
  const auto started = std::chrono::steady_clock::now();
  api.cancel();
  poller.join();
  CHECK(std::chrono::steady_clock::now() - started < 1s);
  CHECK(held.failure == HttpFailure::kCancelled);
  CHECK(api.list().failure == HttpFailure::kCancelled);
  CHECK(broker.targets().size() == 1);  // not even sent
}
