#include "timing_sidecar/server.hpp"

#include <httplib.h>
#include <sys/resource.h>

#include <charconv>
#include <nlohmann/json.hpp>
#include <optional>

#include "timing_sidecar/exposition.hpp"
#include "timing_sidecar/log.hpp"
#include "timing_sidecar/signature.hpp"
#include "timing_sidecar/web_pages.hpp"
#include "timing_sidecar/webhook_gate.hpp"
#include "timing_sidecar/worker_pool.hpp"

namespace timing_sidecar {

namespace {

constexpr time_t kKeepAliveTimeoutSeconds = 5;
constexpr time_t kReadTimeoutSeconds = 5;

void send(httplib::Response& res, const HttpReply& reply) {
  res.status = reply.status;
  res.set_content(reply.body, "application/json");
}

std::unique_ptr<httplib::Server> make_listener(LiveSecurity& security) {
  if (!security.tls()) return std::make_unique<httplib::Server>();
  auto server = std::make_unique<httplib::SSLServer>([&security](SSL_CTX& context) {
    security.tls_identity().serve_from(context);
    return true;
  });
  if (!server->is_valid()) throw std::runtime_error("cannot create a TLS context");
  return server;
}

int64_t unix_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// How much lower the webhook's workers run than the rest of the sidecar (a nice increment). When
// the cores are busy, a burst of events then waits a little, where a scrape, which Prometheus times
// out, would get a fraction of a core: at 100,000 topics under saturating ingestion on 2 cores, a
// gzipped scrape took 1.5 s at the same priority and 0.5 s with this.
constexpr int kWebhookNiceIncrement = 10;

// How long a worker thread with nothing to do stays for the next request before it exits.
constexpr std::chrono::seconds kWorkerIdleTimeout{10};

std::optional<std::string> query_parameter(const httplib::Request& req, const char* name) {
  if (!req.has_param(name)) return std::nullopt;
  return req.get_param_value(name);
}

constexpr const char* kHtmlContentType = "text/html; charset=utf-8";

// A JSON error reply as an HTML page, for the views people read.
void send_html_error(httplib::Response& res, const HttpReply& reply) {
  res.status = reply.status;
  res.set_content(
      render_error_page(reply.status, nlohmann::json::parse(reply.body).value("error", "")),
      kHtmlContentType);
}

bool bind_listener(httplib::Server& server, const std::string& address_text, int* port,
                   std::string* error) {
  const ListenAddress address = *parse_listen_address(address_text);
  if (address.port == 0) {
    *port = server.bind_to_any_port(address.host);
  } else if (server.bind_to_port(address.host, address.port)) {
    *port = address.port;
  } else {
    *port = -1;
  }
  if (*port <= 0) {
    *error = "cannot listen on " + address_text;
    return false;
  }
  return true;
}

}  // namespace

void configure_listener(httplib::Server& server, int threads) {
  server.set_tcp_nodelay(true);
  server.set_keep_alive_timeout(kKeepAliveTimeoutSeconds);
  server.set_read_timeout(kReadTimeoutSeconds, 0);
  server.set_write_timeout(kReadTimeoutSeconds, 0);
  server.new_task_queue = [threads] {
    return new WorkerPool(static_cast<size_t>(threads), kWorkerIdleTimeout);
  };
  // A plain 500: never the exception's text, which may hold internals.
  server.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
        res.status = 500;
        res.set_content("internal error\n", "text/plain");
      });
}

HttpServer::HttpServer(const Config& config, LiveSecurity& security, Sidecar& sidecar,
                       AfterIngest after_ingest)
    : config_(config),
      security_(security),
      sidecar_(sidecar),
      after_ingest_(std::move(after_ingest)),
      web_(make_listener(security)),
      webhook_(make_listener(security)) {
  configure_listener(*web_, config_.web_threads);
  configure_listener(*webhook_, config_.web_threads);
  webhook_->new_task_queue = [threads = static_cast<size_t>(config_.web_threads)] {
    return new WorkerPool(threads, kWorkerIdleTimeout, [] {
      // Linux keeps a nice value per thread: this one only. Raising it needs no privilege.
      setpriority(PRIO_PROCESS, 0, getpriority(PRIO_PROCESS, 0) + kWebhookNiceIncrement);
    });
  };
  route_web();
  route_webhook();
}

HttpServer::~HttpServer() {
  stop();
}

void HttpServer::route_web() {
  // Basic auth guards what the sidecar knows; the probes stay open for the kubelet.
  web_->set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    const std::shared_ptr<BasicAuth> basic_auth = security_.basic_auth();
    if (!basic_auth->enabled() || req.path == "/healthz" || req.path == "/readyz" ||
        basic_auth->allows(req.get_header_value("Authorization"))) {
      return httplib::Server::HandlerResponse::Unhandled;
    }
    res.status = 401;
    res.set_header("WWW-Authenticate", "Basic realm=\"timing-sidecar\"");
    res.set_content("unauthorized\n", "text/plain");
    return httplib::Server::HandlerResponse::Handled;
  });
  web_->Get("/metrics", [this](const httplib::Request& req, httplib::Response& res) {
    // Prometheus asks for gzip. The sidecar compresses, faster than cpp-httplib would (level 6).
    const bool gzip = req.get_header_value("Accept-Encoding").find("gzip") != std::string::npos;
    const ScrapeBody body = sidecar_.scrape_body(gzip);
    if (gzip) res.set_header("Content-Encoding", "gzip");
    // Sent from the scrape buffer, which goes back once the response is destroyed: set_content
    // would copy the body (100 MB at 100,000 topics), and cpp-httplib compresses only bodies it
    // holds, never those of a provider of known length.
    res.set_content_provider(body->size(), std::string(kTextContentType),
                             [body](size_t offset, size_t length, httplib::DataSink& sink) {
                               return sink.write(body->data() + offset, length);
                             });
  });
  web_->Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok\n", "text/plain");
  });
  web_->Get("/readyz", [this](const httplib::Request&, httplib::Response& res) {
    const bool ready = sidecar_.ready();
    res.status = ready ? 200 : 503;
    res.set_content(ready ? "ready\n" : "not ready: waiting for the first topic list\n",
                    "text/plain");
  });
  web_->Get("/v1/topics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(sidecar_.topics_json(), "application/json");
  });
  // Topic names hold no '/': one path segment, percent-decoded by cpp-httplib.
  web_->Get(R"(/v1/topics/([^/]+))", [this](const httplib::Request& req, httplib::Response& res) {
    send(res, sidecar_.topic_json(req.matches[1].str(), query_parameter(req, "limit")));
  });
  web_->Get(R"(/topics/([^/]+))", [this](const httplib::Request& req, httplib::Response& res) {
    const std::optional<std::string> limit = query_parameter(req, "limit");
    const auto answer = sidecar_.topic_detail(req.matches[1].str(), limit);
    if (const auto* reply = std::get_if<HttpReply>(&answer)) return send_html_error(res, *reply);
    const size_t shown = limit ? std::stoul(*limit) : Sidecar::kDefaultMessageLimit;
    res.set_content(render_topic_page(std::get<TopicDetail>(answer), shown), kHtmlContentType);
  });
  web_->Get("/", [this](const httplib::Request& req, httplib::Response& res) {
    LandingPage page;
    if (const std::optional<std::string> offset = query_parameter(req, "offset")) {
      const char* end = offset->data() + offset->size();
      if (std::from_chars(offset->data(), end, page.offset).ptr != end || offset->empty()) {
        return send_html_error(
            res, {400, nlohmann::json{{"error", "offset must be a whole number"}}.dump()});
      }
    }
    page.version = TIMING_SIDECAR_VERSION;
    page.now_ms = sidecar_.now_ms();
    page.sources = source_states(sidecar_.metrics().registry().Collect());
    page.topics = sidecar_.engine().topics();
    res.set_content(render_landing_page(std::move(page)), kHtmlContentType);
  });
}

void HttpServer::route_webhook() {
  // Runs before cpp-httplib reads the body: it enforces its payload limit only when a
  // Content-Length is given, and inflates compressed bodies without bound.
  auto refuse_unsafe_body = [this](const httplib::Request& req) -> std::optional<HttpReply> {
    const auto header = [&req](const char* name) -> std::optional<std::string> {
      if (!req.has_header(name)) return std::nullopt;
      return req.get_header_value(name);
    };
    const std::optional<std::string> transfer_encoding = header("Transfer-Encoding");
    const std::optional<std::string> content_encoding = header("Content-Encoding");
    const std::optional<std::string> content_length = header("Content-Length");
    const WebhookRequestHead head{req.method, req.remote_addr, transfer_encoding, content_encoding,
                                  content_length};
    const std::optional<WebhookRefusal> refusal = refuse_webhook_head(
        head, !security_.webhook_secrets()->empty(), config_.webhook_max_body_bytes);
    if (!refusal) return std::nullopt;
    return sidecar_.reject(refusal->reason, refusal->status, refusal->message);
  };
  auto refuse = [](httplib::Response& res, const HttpReply& reply) {
    send(res, reply);
    // The unread body stays in the socket: this connection cannot carry another request.
    res.set_header("Connection", "close");
  };
  webhook_->set_expect_100_continue_handler(
      [refuse_unsafe_body, refuse](const httplib::Request& req, httplib::Response& res) {
        if (auto reply = refuse_unsafe_body(req)) {
          refuse(res, *reply);
          return reply->status;
        }
        return 100;
      });
  webhook_->set_pre_routing_handler(
      [refuse_unsafe_body, refuse](const httplib::Request& req, httplib::Response& res) {
        if (auto reply = refuse_unsafe_body(req)) {
          refuse(res, *reply);
          return httplib::Server::HandlerResponse::Handled;
        }
        return httplib::Server::HandlerResponse::Unhandled;
      });
  webhook_->set_payload_max_length(static_cast<size_t>(config_.webhook_max_body_bytes));
  webhook_->Post("/v1/events", [this](const httplib::Request& req, httplib::Response& res) {
    const std::shared_ptr<const std::vector<std::string>> secrets = security_.webhook_secrets();
    if (!secrets->empty()) {
      const SignatureCheck check =
          verify_request(req.get_header_value(std::string(kSignatureHeader).c_str()), *secrets,
                         req.body, unix_seconds(), config_.webhook_tolerance_ms / 1000);
      if (check != SignatureCheck::kValid) {
        send(res, sidecar_.reject("unauthorized", 401, describe(check)));
        return;
      }
    }
    const HttpReply reply = sidecar_.ingest(req.body, EventSource::kWebhook);
    send(res, reply);
    if (reply.status == 200 && after_ingest_) after_ingest_();
  });
}

bool HttpServer::start(std::string* error) {
  if (!bind_listener(*web_, config_.web_listen_address, &web_port_, error) ||
      !bind_listener(*webhook_, config_.webhook_listen_address, &webhook_port_, error)) {
    return false;
  }
  web_thread_ = std::thread([this] { web_->listen_after_bind(); });
  webhook_thread_ = std::thread([this] { webhook_->listen_after_bind(); });
  return true;
}

void HttpServer::stop() {
  web_->stop();
  webhook_->stop();
  if (web_thread_.joinable()) web_thread_.join();
  if (webhook_thread_.joinable()) webhook_thread_.join();
}

}  // namespace timing_sidecar
