// The listeners' shared configuration against real cpp-httplib on loopback: what a client sees
// when a handler throws.

#include <httplib.h>

#include <catch2/catch.hpp>
#include <stdexcept>
#include <thread>

#include "timing_sidecar/server.hpp"

using namespace timing_sidecar;

TEST_CASE("listener: a handler that throws gives a plain 500 with no internal text",
          "[integration]") {
  httplib::Server server;
  configure_listener(server, 4);
  const std::string secret = "secret internals: /var/lib/state at offset 42";
  server.Get("/throws", [&](const httplib::Request&, httplib::Response&) {
    throw std::runtime_error(secret);
  });
  server.Get("/throws-other", [](const httplib::Request&, httplib::Response&) { throw 42; });
  const int port = server.bind_to_any_port("127.0.0.1");
  REQUIRE(port > 0);
  std::thread serving([&] { server.listen_after_bind(); });

  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(5);
  for (const char* path : {"/throws", "/throws-other"}) {
    INFO(path);
    auto reply = client.Get(path);
    REQUIRE(reply);
    CHECK(reply->status == 500);
    CHECK(reply->body == "internal error\n");
    for (const auto& [name, value] : reply->headers) {
      INFO(name << ": " << value);
      CHECK(value.find("internals") == std::string::npos);
      CHECK(name != "EXCEPTION_WHAT");
    }
  }
  // The listener goes on serving after the exceptions.
  server.Get("/ok", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok", "text/plain");
  });
  auto reply = client.Get("/ok");
  REQUIRE(reply);
  CHECK(reply->status == 200);

  server.stop();
  serving.join();
}
