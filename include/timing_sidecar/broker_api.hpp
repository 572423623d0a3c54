#pragma once

// The broker's feed API as the tailer (tailer.hpp) sees it, and the dashboard's topic list as its
// source does, without a transport: the HTTP client implements them (http_client.hpp), tests fake
// them in memory. Replies keep HTTP's status codes
// because they carry meaning (410: the history no longer reaches back).

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace timing_sidecar {

enum class HttpFailure { kNone, kConnect, kTimeout, kConnectionLost, kCancelled };

// A label value for the *_errors_total{reason} families: connect, timeout, connection_lost.
inline std::string_view failure_reason(HttpFailure failure) {
  switch (failure) {
    case HttpFailure::kConnect:
      return "connect";
    case HttpFailure::kTimeout:
      return "timeout";
    case HttpFailure::kConnectionLost:
    case HttpFailure::kCancelled:
    case HttpFailure::kNone:
      break;
  }
  return "connection_lost";
}

struct HttpResult {
  HttpFailure failure = HttpFailure::kNone;
  int status = 0;  // when failure is kNone
  std::string body;
  std::string error;  // what went wrong, for a log line
};

class BrokerApi {
 public:
  virtual ~BrokerApi() = default;

  // GET /v1/topics: {"revision":R,"topics":[...]}, answered at once.
  virtual HttpResult list() = 0;
  // GET /v1/events?after=A&timeout=S: the events after revision A; a broker with nothing newer
  // holds the request up to `hold` before it answers with none.
  virtual HttpResult watch(int64_t after, std::chrono::seconds hold) = 0;
  // From another thread: interrupts a call in flight at once; every later call fails with
  // kCancelled.
  virtual void cancel() = 0;
};

// rocketmq-dashboard's topic list (--topics.dashboard-url), likewise without a transport.
class DashboardApi {
 public:
  virtual ~DashboardApi() = default;

  // GET /topic/list.query?skipSysProcess=true.
  virtual HttpResult topic_list() = 0;
  // As BrokerApi::cancel.
  virtual void cancel() = 0;
};

}  // namespace timing_sidecar
