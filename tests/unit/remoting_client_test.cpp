#include "timing_sidecar/remoting_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "support/ports.hpp"

using namespace timing_sidecar;
using namespace timing_sidecar::remoting;
using namespace std::chrono_literals;

namespace {

// A one-connection broker on 127.0.0.1: `answer` gets each request and writes what it likes.
class FakeBroker {
 public:
  explicit FakeBroker(std::function<bool(int fd, const Command& request)> answer)
      : answer_(std::move(answer)) {
    listener_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    REQUIRE(bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    REQUIRE(listen(listener_, 4) == 0);
    REQUIRE(getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length) == 0);
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~FakeBroker() {
    shutdown(listener_, SHUT_RDWR);
    thread_.join();
    close(listener_);
  }
  int port() const { return port_; }

 private:
  void serve() {
    const int fd = accept(listener_, nullptr, nullptr);
    if (fd < 0) return;
    std::string buffer;
    char chunk[4096];
    for (;;) {
      const DecodeResult decoded = decode_frame(buffer);
      if (const auto* frame = std::get_if<Decoded>(&decoded)) {
        const Command request = frame->command;
        buffer.erase(0, frame->consumed);
        if (!answer_(fd, request)) break;
        continue;
      }
      const ssize_t received = recv(fd, chunk, sizeof chunk, 0);
      if (received <= 0) break;
      buffer.append(chunk, static_cast<size_t>(received));
    }
    close(fd);
  }

  std::function<bool(int, const Command&)> answer_;
  int listener_ = -1;
  int port_ = 0;
  std::thread thread_;
};

// On the broker's thread, where Catch's assertions must not run: a short write shows as the
// client's failure.
void write_all(int fd, const std::string& bytes) {
  (void)send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
}

Command response_to(const Command& request, int code = kSuccess, std::string body = "") {
  Command response;
  response.code = code;
  response.opaque = request.opaque;
  response.flag = kFlagResponse;
  response.language = "JAVA";
  response.body = std::move(body);
  if (code != kSuccess) response.remark = "not today";
  return response;
}

SourceError expect_error(const std::variant<Command, SourceError>& result) {
  REQUIRE(std::holds_alternative<SourceError>(result));
  return std::get<SourceError>(result);
}

}  // namespace

TEST_CASE("the response is the one carrying the request's opaque", "[remoting]") {
  std::mutex mutex;  // the broker's thread writes, the test reads
  std::vector<Command> requests;
  FakeBroker broker([&](int fd, const Command& request) {
    {
      std::lock_guard lock(mutex);
      requests.push_back(request);
    }
    Command stale = response_to(request, kSuccess, "stale");
    stale.opaque = request.opaque - 1;
    Command from_broker = response_to(request, kSuccess, "a request of the broker's");
    from_broker.flag = 0;
    write_all(fd, encode_command(stale) + encode_command(from_broker) +
                      encode_command(response_to(request, kSuccess, "mine")));
    return true;
  });
  Client client("127.0.0.1", broker.port(), 1s, 2s, Credentials{"ak", "sk"});
  for (int call = 0; call < 2; ++call) {
    const auto result = client.call(kGetTimerMetrics);
    REQUIRE(std::holds_alternative<Command>(result));
    CHECK(std::get<Command>(result).body == "mine");
  }
  // One kept connection, a new opaque per request, signed.
  std::lock_guard lock(mutex);
  REQUIRE(requests.size() == 2);
  CHECK(requests[0].opaque != requests[1].opaque);
  CHECK(requests[0].code == kGetTimerMetrics);
  CHECK(requests[0].ext_fields.at("AccessKey") == "ak");
  CHECK(requests[0].ext_fields.at("Signature") == acl_signature({{"AccessKey", "ak"}}, "", "sk"));
}

TEST_CASE("each failure has its reason", "[remoting]") {
  SECTION("connect") {
    Client client("127.0.0.1", test_support::unused_loopback_port(), 1s, 1s, std::nullopt);
    CHECK(expect_error(client.call(kGetAllTopicConfig)).reason == "connect");
  }
  SECTION("timeout") {
    FakeBroker broker([](int, const Command&) { return true; });  // never answers
    Client client("127.0.0.1", broker.port(), 1s, 300ms, std::nullopt);
    const auto started = std::chrono::steady_clock::now();
    CHECK(expect_error(client.call(kGetAllTopicConfig)).reason == "timeout");
    CHECK(std::chrono::steady_clock::now() - started < 2s);
  }
  SECTION("connection_lost") {
    FakeBroker broker([](int, const Command&) { return false; });  // closes
    Client client("127.0.0.1", broker.port(), 1s, 2s, std::nullopt);
    CHECK(expect_error(client.call(kGetAllTopicConfig)).reason == "connection_lost");
  }
  SECTION("malformed") {
    FakeBroker broker([](int fd, const Command&) {
      write_all(fd, "HTTP/1.1 400 Bad Request\r\n\r\n");
      return true;
    });
    Client client("127.0.0.1", broker.port(), 1s, 2s, std::nullopt);
    CHECK(expect_error(client.call(kGetAllTopicConfig)).reason == "malformed");
  }
  SECTION("broker_error, with the remark") {
    FakeBroker broker([](int fd, const Command& request) {
      write_all(fd, encode_command(response_to(request, 1)));
      return true;
    });
    Client client("127.0.0.1", broker.port(), 1s, 2s, std::nullopt);
    const SourceError error = expect_error(client.call(kGetTimerMetrics));
    CHECK(error.reason == "broker_error");
    CHECK_THAT(error.message, Catch::Contains("answered code 1: not today"));
  }
}

TEST_CASE("cancel fails the call in flight at once", "[remoting]") {
  FakeBroker broker([](int, const Command&) { return true; });
  Client client("127.0.0.1", broker.port(), 1s, 10s, std::nullopt);
  std::thread canceller([&] {
    std::this_thread::sleep_for(200ms);
    client.cancel();
  });
  const auto started = std::chrono::steady_clock::now();
  CHECK(expect_error(client.call(kGetAllTopicConfig)).reason == "cancelled");
  CHECK(std::chrono::steady_clock::now() - started < 5s);
  canceller.join();
  CHECK(expect_error(client.call(kGetAllTopicConfig)).reason == "cancelled");
}
