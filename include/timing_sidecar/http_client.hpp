#pragma once

// GET requests over cpp-httplib for the broker feed and the dashboard: the only part of the
// sources that sees a socket.

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "timing_sidecar/broker_api.hpp"

namespace httplib {
class Client;
}

namespace timing_sidecar {

// "http://host:port/prefix" split for httplib::Client, which takes no path.
struct BaseUrl {
  std::string scheme_host_port;  // "http://127.0.0.1:10912"
  std::string path_prefix;       // "" or "/rocketmq", never with a trailing slash
};

// nullopt unless http or https with a host.
std::optional<BaseUrl> parse_base_url(std::string_view url);
// The same, or std::invalid_argument naming the flag the URL came from.
BaseUrl require_base_url(std::string_view url, std::string_view flag);

// GET requests on one keep-alive connection that cancel() interrupts at once, also while a
// long-poll is held. cpp-httplib's Client::stop() only interrupts a request already on its
// socket, so cancel() repeats it until the request in flight has returned; once cancelled, every
// later get() fails with kCancelled without connecting. Not for concurrent get() calls.
class CancellableClient {
 public:
  // Bounds how long a connect may take, and so how long cancel() may wait for one.
  static constexpr std::chrono::seconds kConnectTimeout{3};

  explicit CancellableClient(const BaseUrl& url);
  ~CancellableClient();
  CancellableClient(const CancellableClient&) = delete;
  CancellableClient& operator=(const CancellableClient&) = delete;

  // `path` is appended to the URL's path prefix.
  HttpResult get(const std::string& path, std::chrono::milliseconds read_timeout);
  void cancel();

 private:
  const std::string path_prefix_;
  std::unique_ptr<httplib::Client> client_;
  std::atomic<bool> cancelled_{false};
  std::atomic<bool> in_flight_{false};
};

// The broker's feed API over HTTP (--broker.url).
class HttpBrokerApi final : public BrokerApi {
 public:
  // Beyond the long-poll hold, so that a dead connection is noticed and a live one is not cut.
  static constexpr std::chrono::seconds kReadTimeoutMargin{10};
  // A list is one request the broker answers at once: no hold.
  static constexpr std::chrono::seconds kListReadTimeout{30};

  explicit HttpBrokerApi(const BaseUrl& url) : client_(url) {}

  HttpResult list() override;
  HttpResult watch(int64_t after, std::chrono::seconds hold) override;
  void cancel() override { client_.cancel(); }

 private:
  CancellableClient client_;
};

// rocketmq-dashboard's topic list over HTTP (--topics.dashboard-url).
class HttpDashboardApi final : public DashboardApi {
 public:
  static constexpr std::chrono::seconds kReadTimeout{10};

  explicit HttpDashboardApi(const BaseUrl& url) : client_(url) {}

  HttpResult topic_list() override;
  void cancel() override { client_.cancel(); }

 private:
  CancellableClient client_;
};

}  // namespace timing_sidecar
