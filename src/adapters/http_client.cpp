#include "timing_sidecar/http_client.hpp"

#include <httplib.h>

#include <stdexcept>
#include <thread>

#include "timing_sidecar/log.hpp"

namespace timing_sidecar {

std::optional<BaseUrl> parse_base_url(std::string_view url) {
  const size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return std::nullopt;
  const std::string_view scheme = url.substr(0, scheme_end);
  if (scheme != "http" && scheme != "https") return std::nullopt;
  const std::string_view rest = url.substr(scheme_end + 3);
  const size_t slash = rest.find('/');
  const std::string_view authority = rest.substr(0, slash);
  std::string path(slash == std::string_view::npos ? std::string_view() : rest.substr(slash));
  if (authority.empty() || authority.find_first_of("@?#") != std::string_view::npos ||
      path.find_first_of("?#") != std::string::npos) {
    return std::nullopt;
  }
  while (!path.empty() && path.back() == '/') path.pop_back();
  return BaseUrl{std::string(scheme) + "://" + std::string(authority), std::move(path)};
}

BaseUrl require_base_url(std::string_view url, std::string_view flag) {
  if (auto parsed = parse_base_url(url)) return *parsed;
  throw std::invalid_argument(std::string(flag) + " must be http(s)://HOST:PORT[/PATH], not \"" +
                              excerpt(url) + "\"");
}

CancellableClient::CancellableClient(const BaseUrl& url)
    : path_prefix_(url.path_prefix),
      client_(std::make_unique<httplib::Client>(url.scheme_host_port)) {
  client_->set_keep_alive(true);
  client_->set_connection_timeout(kConnectTimeout);
}

CancellableClient::~CancellableClient() = default;

HttpResult CancellableClient::get(const std::string& path, std::chrono::milliseconds read_timeout) {
  HttpResult outcome;
  // Announced before cancelled_ is read: cancel() either sees the request or it is not sent.
  in_flight_.store(true);
  if (cancelled_.load()) {
    in_flight_.store(false);
    outcome.failure = HttpFailure::kCancelled;
    return outcome;
  }
  client_->set_read_timeout(read_timeout);
  const auto started = std::chrono::steady_clock::now();
  httplib::Result result = client_->Get((path_prefix_ + path).c_str());
  const auto elapsed = std::chrono::steady_clock::now() - started;
  in_flight_.store(false);

  if (cancelled_.load()) {
    outcome.failure = HttpFailure::kCancelled;
  } else if (result) {
    outcome.status = result->status;
    outcome.body = std::move(result->body);
  } else {
    outcome.error = httplib::to_string(result.error());
    switch (result.error()) {
      case httplib::Error::Connection:
      case httplib::Error::ConnectionTimeout:
      case httplib::Error::BindIPAddress:
      case httplib::Error::SSLConnection:
      case httplib::Error::SSLLoadingCerts:
      case httplib::Error::SSLServerVerification:
        outcome.failure = HttpFailure::kConnect;
        break;
      default:
        // cpp-httplib reports a read timeout and a connection closed under it alike.
        outcome.failure = elapsed + std::chrono::milliseconds(100) >= read_timeout
                              ? HttpFailure::kTimeout
                              : HttpFailure::kConnectionLost;
        break;
    }
  }
  return outcome;
}

void CancellableClient::cancel() {
  cancelled_.store(true);
  while (in_flight_.load()) {
    client_->stop();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

HttpResult HttpBrokerApi::list() {
  return client_.get("/v1/topics", kListReadTimeout);
}

HttpResult HttpBrokerApi::watch(int64_t after, std::chrono::seconds hold) {
  return client_.get(
      "/v1/events?after=" + std::to_string(after) + "&timeout=" + std::to_string(hold.count()),
      hold + kReadTimeoutMargin);
}

HttpResult HttpDashboardApi::topic_list() {
  return client_.get("/topic/list.query?skipSysProcess=true", kReadTimeout);
}

}  // namespace timing_sidecar
