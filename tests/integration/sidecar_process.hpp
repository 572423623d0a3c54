#pragma once

// Starts timing-sidecar on ports the kernel picks (127.0.0.1:0) and learns them from its
// start-up log line, so tests never race for a port.

#include <httplib.h>

#include <regex>
#include <string>
#include <vector>

#include "integration/process.hpp"

namespace test_support {

class Sidecar {
 public:
  Sidecar(const TempDir& dir, const std::string& name, std::vector<std::string> args)
      : log_path_(dir.file(name + ".log")) {
    args.insert(args.begin(),
                {"--web.listen-address", "127.0.0.1:0", "--webhook.listen-address", "127.0.0.1:0"});
    process_ = std::make_unique<ChildProcess>(TIMING_SIDECAR_BIN, args,
                                              ChildOptions{dir.file(name + ".out"), log_path_});
    // The start-up line in either log format: logfmt (web=...) or JSON ("web":"...").
    const std::regex started(
        R"(timing-sidecar started.*web"?[=:]"?https?://127\.0\.0\.1:(\d+).*webhook"?[=:]"?https?://127\.0\.0\.1:(\d+))");
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    std::smatch match;
    std::string log;
    while (std::chrono::steady_clock::now() < deadline && process_->running()) {
      log = read_file(log_path_);
      if (std::regex_search(log, match, started)) {
        web_port_ = std::stoi(match[1]);
        webhook_port_ = std::stoi(match[2]);
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    throw std::runtime_error("timing-sidecar did not start:\n" + read_file(log_path_));
  }

  httplib::Client web() const { return client(web_port_); }
  httplib::Client webhook() const { return client(webhook_port_); }
  int web_port() const { return web_port_; }
  int webhook_port() const { return webhook_port_; }
  ChildProcess& process() { return *process_; }
  std::string log() const { return read_file(log_path_); }

  std::string metrics() const {
    auto reply = web().Get("/metrics");
    if (!reply || reply->status != 200) throw std::runtime_error("GET /metrics failed");
    return reply->body;
  }

 private:
  static httplib::Client client(int port) {
    httplib::Client client("127.0.0.1", port);
    client.set_connection_timeout(2);
    client.set_read_timeout(10);
    return client;
  }

  std::string log_path_;
  std::unique_ptr<ChildProcess> process_;
  int web_port_ = 0;
  int webhook_port_ = 0;
};

}  // namespace test_support
