#include "broker_http.hpp"

#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <optional>

#include "drop_connection.hpp"
#include "timing_sidecar/log.hpp"

namespace broker_sim {

using nlohmann::json;
using timing_sidecar::log;
using timing_sidecar::LogLevel;

namespace {

constexpr time_t kKeepAliveTimeoutSeconds = 5;
constexpr time_t kIoTimeoutSeconds = 5;
// A batch of a million enqueues is about 100 MiB of JSON ops; nothing legitimate needs more.
constexpr size_t kMaxBodyBytes = 128u << 20;
constexpr int64_t kDefaultPollSeconds = 30;
constexpr int64_t kMaxPollSeconds = 60;
constexpr size_t kMaxEventsPerReply = 1000;

void send_json(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
}

void send_error(httplib::Response& res, int status, const std::string& message) {
  send_json(res, status, {{"error", message}});
}

void send_reply(httplib::Response& res, const Reply& reply) {
  send_json(res, reply.status, reply.body);
}

// Digits only: "after=1e3", "+5" or "12abc" are client bugs worth a 400, not a guess.
std::optional<int64_t> parse_count(const std::string& text) {
  if (text.empty() || text.size() > 18 ||
      text.find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  return std::stoll(text);
}

std::optional<json> parse_body(const httplib::Request& req, httplib::Response& res) {
  json body = json::parse(req.body, nullptr, false);
  if (body.is_discarded()) {
    send_error(res, 400, "the body is not JSON");
    return std::nullopt;
  }
  return body;
}

json fault_settings_json(const FaultSettings& settings) {
  return {{"errorRate", settings.error_rate},
          {"garbageRate", settings.garbage_rate},
          {"dropRate", settings.drop_rate},
          {"delayMs", settings.delay_ms}};
}

// Members that are absent keep their value, so that one knob can be turned at a time.
std::optional<std::string> update_fault_settings(const json& body, FaultSettings* settings) {
  if (!body.is_object()) return "the body must be a JSON object";
  for (const auto& item : body.items()) {
    const json& value = item.value();
    if (item.key() == "delayMs") {
      if (!value.is_number_integer() || value.get<int64_t>() < 0 ||
          value.get<int64_t>() > 600'000) {
        return "delayMs must be an integer in [0, 600000]";
      }
      settings->delay_ms = value.get<int64_t>();
      continue;
    }
    double* rate = item.key() == "errorRate"     ? &settings->error_rate
                   : item.key() == "garbageRate" ? &settings->garbage_rate
                   : item.key() == "dropRate"    ? &settings->drop_rate
                                                 : nullptr;
    if (rate == nullptr) return "unknown member \"" + item.key() + "\"";
    if (!value.is_number() || !(value.get<double>() >= 0 && value.get<double>() <= 1)) {
      return item.key() + " must be a number in [0, 1]";
    }
    *rate = value.get<double>();
  }
  return std::nullopt;
}

}  // namespace

BrokerHttp::BrokerHttp(BrokerState& state, FaultInjector& faults, const WebhookPusher* pusher,
                       int threads)
    : state_(state),
      faults_(faults),
      pusher_(pusher),
      ops_(state),
      server_(std::make_unique<httplib::Server>()) {
  server_->set_tcp_nodelay(true);
  server_->set_keep_alive_timeout(kKeepAliveTimeoutSeconds);
  server_->set_read_timeout(kIoTimeoutSeconds, 0);
  server_->set_write_timeout(kIoTimeoutSeconds, 0);
  server_->set_payload_max_length(kMaxBodyBytes);
  server_->new_task_queue = [threads] {
    return new httplib::ThreadPool(static_cast<size_t>(threads));
  };
  server_->set_exception_handler(
      [](const httplib::Request& req, httplib::Response& res, std::exception_ptr error) {
        std::string what = "unknown exception";
        try {
          std::rethrow_exception(error);
        } catch (const std::exception& exception) {
          what = exception.what();
        } catch (...) {
        }
        log(LogLevel::kError, "handler failed", {{"path", req.path}, {"error", what}});
        send_error(res, 500, "internal error");
      });
  // cpp-httplib calls this for every status >= 400, also when a handler wrote its own body.
  server_->set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (res.body.empty()) {
      send_error(res, res.status,
                 res.status == 404 ? "no route for " + req.method + " " + req.path
                 : res.status == 413
                     ? "the body is too large"
                     : "the request failed with status " + std::to_string(res.status));
    }
  });
  route_broker_api();
  route_admin_api();
}

BrokerHttp::~BrokerHttp() {
  stop();
}

void BrokerHttp::route_broker_api() {
  server_->set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (req.path.rfind("/v1/", 0) != 0) return httplib::Server::HandlerResponse::Unhandled;
    faults_.delay();
    switch (faults_.draw()) {
      case Fault::kNone:
        return httplib::Server::HandlerResponse::Unhandled;
      case Fault::kDrop:
        drop_connection(req, res);
        break;
      case Fault::kError:
        send_error(res, 503, "injected fault: broker unavailable");
        break;
      case Fault::kGarbage:
        res.status = 200;
        res.set_content(faults_.garbage_body(), "application/json");
        break;
    }
    return httplib::Server::HandlerResponse::Handled;
  });

  server_->Get("/v1/topics", [this](const httplib::Request&, httplib::Response& res) {
    const TopicList list = state_.list();
    json topics = json::array();
    for (const TopicInfo& topic : list.topics) {
      topics.push_back(
          {{"name", topic.name}, {"messageType", topic.message_type}, {"timing", topic.pending}});
    }
    send_json(res, 200, {{"revision", list.revision}, {"topics", std::move(topics)}});
  });

  server_->Get("/v1/events", [this](const httplib::Request& req, httplib::Response& res) {
    const std::optional<int64_t> after = parse_count(req.get_param_value("after"));
    if (!after) {
      send_error(res, 400, "after must be a revision: a non-negative integer");
      return;
    }
    int64_t timeout_seconds = kDefaultPollSeconds;
    if (req.has_param("timeout")) {
      const std::optional<int64_t> timeout = parse_count(req.get_param_value("timeout"));
      if (!timeout) {
        send_error(res, 400, "timeout must be a non-negative integer number of seconds");
        return;
      }
      timeout_seconds = std::min(*timeout, kMaxPollSeconds);
    }
    const FeedResult result =
        state_.wait_for_events(*after, std::chrono::seconds(timeout_seconds), kMaxEventsPerReply);
    if (const auto* gone = std::get_if<FeedGone>(&result)) {
      send_error(res, 410, gone->reason);
      return;
    }
    const auto& batch = std::get<FeedBatch>(result);
    // The events are kept serialized: splicing them avoids re-encoding up to 1000 objects.
    std::string body = "{\"revision\":" + std::to_string(batch.revision) + ",\"events\":[";
    for (size_t i = 0; i < batch.events.size(); ++i) {
      if (i > 0) body += ',';
      body += batch.events[i];
    }
    body += "]}";
    res.set_content(body, "application/json");
  });
}

void BrokerHttp::route_admin_api() {
  server_->Post("/admin/topics", [this](const httplib::Request& req, httplib::Response& res) {
    if (auto body = parse_body(req, res)) send_reply(res, ops_.apply("create", *body));
  });
  server_->Delete(R"(/admin/topics/([^/]+))",
                  [this](const httplib::Request& req, httplib::Response& res) {
                    json fields = {{"name", req.matches[1].str()}};
                    if (req.has_param("silent")) {
                      const std::string silent = req.get_param_value("silent");
                      if (silent != "true" && silent != "false") {
                        send_error(res, 400, "silent must be true or false");
                        return;
                      }
                      fields["silent"] = silent == "true";
                    }
                    send_reply(res, ops_.apply("delete", fields));
                  });
  for (const char* op : {"enqueue", "dequeue", "cancel"}) {
    server_->Post(std::string("/admin/") + op,
                  [this, op](const httplib::Request& req, httplib::Response& res) {
                    if (auto body = parse_body(req, res)) send_reply(res, ops_.apply(op, *body));
                  });
  }
  server_->Post("/admin/batch", [this](const httplib::Request& req, httplib::Response& res) {
    if (auto body = parse_body(req, res)) send_reply(res, ops_.batch(*body));
  });

  server_->Get("/admin/fault", [this](const httplib::Request&, httplib::Response& res) {
    send_json(res, 200, fault_settings_json(faults_.settings()));
  });
  server_->Post("/admin/fault", [this](const httplib::Request& req, httplib::Response& res) {
    auto body = parse_body(req, res);
    if (!body) return;
    FaultSettings settings = faults_.settings();
    if (auto error = update_fault_settings(*body, &settings)) {
      send_error(res, 400, *error);
      return;
    }
    faults_.set_settings(settings);
    log(LogLevel::kInfo, "fault injection changed",
        {{"settings", fault_settings_json(settings).dump()}});
    send_json(res, 200, fault_settings_json(settings));
  });

  server_->Post("/admin/restart-revision", [this](const httplib::Request&, httplib::Response& res) {
    const int64_t revision = state_.restart_revision();
    log(LogLevel::kInfo, "revision counter restarted", {{"revision", std::to_string(revision)}});
    send_json(res, 200, {{"revision", revision}});
  });

  server_->Get("/admin/truth", [this](const httplib::Request&, httplib::Response& res) {
    int64_t revision = 0;
    json topics = json::object();
    for (const auto& [name, pending] : state_.pending_by_topic(&revision)) {
      topics[name] = {{"pending", pending}};
    }
    send_json(res, 200, {{"revision", revision}, {"topics", std::move(topics)}});
  });

  server_->Get("/admin/webhook", [this](const httplib::Request&, httplib::Response& res) {
    if (pusher_ == nullptr) {
      send_json(res, 200, {{"enabled", false}});
      return;
    }
    const WebhookStats stats = pusher_->stats();
    send_json(res, 200,
              {{"enabled", true},
               {"url", pusher_->target().scheme_host_port + pusher_->target().path},
               {"delivered", stats.delivered},
               {"failed", stats.failed},
               {"dropped", stats.dropped},
               {"retries", stats.retries},
               {"queued", stats.queued}});
  });
}

bool BrokerHttp::start(const timing_sidecar::ListenAddress& address, std::string* error) {
  if (address.port == 0) {
    port_ = server_->bind_to_any_port(address.host);
  } else if (server_->bind_to_port(address.host, address.port)) {
    port_ = address.port;
  } else {
    port_ = -1;
  }
  if (port_ <= 0) {
    *error = "cannot listen on " + address.host + ":" + std::to_string(address.port);
    return false;
  }
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  return true;
}

void BrokerHttp::stop() {
  server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace broker_sim
