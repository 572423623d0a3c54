#pragma once

// The two HTTP listeners on cpp-httplib, kept thin: every endpoint delegates to Sidecar.
// The web listener only reads (/metrics, /healthz, /readyz, /v1/topics); the webhook listener
// changes state (POST /v1/events), so it is a separate socket that can stay on loopback.

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "timing_sidecar/config.hpp"
#include "timing_sidecar/live_security.hpp"
#include "timing_sidecar/sidecar.hpp"

namespace httplib {
class Server;
}

namespace timing_sidecar {

// What both listeners share: TCP_NODELAY, timeouts that free the threads of idle or stalled
// connections, `threads` workers, and a plain 500 when a handler throws.
void configure_listener(httplib::Server& server, int threads);

class HttpServer {
 public:
  // Called after each accepted webhook batch (e.g. to wake the timer driver).
  using AfterIngest = std::function<void()>;

  // Each request and handshake uses `security` as it is at that moment; it must outlive the
  // server. Throws std::runtime_error when a listener cannot be set up.
  HttpServer(const Config& config, LiveSecurity& security, Sidecar& sidecar,
             AfterIngest after_ingest);
  ~HttpServer();

  // Binds both listeners and starts serving; false with `error` set when a bind fails.
  bool start(std::string* error);
  void stop();

  int web_port() const { return web_port_; }
  int webhook_port() const { return webhook_port_; }

 private:
  void route_web();
  void route_webhook();

  Config config_;
  LiveSecurity& security_;
  Sidecar& sidecar_;
  AfterIngest after_ingest_;
  std::unique_ptr<httplib::Server> web_;
  std::unique_ptr<httplib::Server> webhook_;
  std::thread web_thread_;
  std::thread webhook_thread_;
  int web_port_ = 0;
  int webhook_port_ = 0;
};

}  // namespace timing_sidecar
