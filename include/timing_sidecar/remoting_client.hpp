#pragma once

// One kept TCP connection to a RocketMQ broker's remoting port, one request at a time: send a
// request, wait for the response carrying its opaque. Any failure closes the connection; the next
// call connects again.

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <variant>

#include "timing_sidecar/remoting_codec.hpp"

namespace timing_sidecar::remoting {

struct Credentials {
  std::string access_key;
  std::string secret_key;
};

// What went wrong, as SourceError::reason: connect, timeout, connection_lost, malformed,
// broker_error (a response code other than success; the message carries the broker's remark),
// or cancelled (the client is being stopped).
class Client {
 public:
  Client(std::string host, int port, std::chrono::milliseconds connect_timeout,
         std::chrono::milliseconds read_timeout, std::optional<Credentials> credentials);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Sends request `code` (no extFields but the signature's) and returns its successful response.
  // The whole exchange, writing included, takes at most the read timeout after the connect.
  std::variant<Command, SourceError> call(int code);
  // From another thread: fails the call in flight at once, and every later one.
  void cancel();

 private:
  std::optional<SourceError> connect_if_needed();
  std::optional<SourceError> send_all(const std::string& bytes,
                                      std::chrono::steady_clock::time_point deadline);
  std::variant<Command, SourceError> read_response(int32_t opaque,
                                                   std::chrono::steady_clock::time_point deadline);
  // Waits until the socket is ready for `events` (poll(2)); a SourceError on timeout or cancel.
  std::optional<SourceError> wait_ready(short events,
                                        std::chrono::steady_clock::time_point deadline,
                                        const char* what);
  void close_connection();
  std::string describe() const;

  const std::string host_;
  const int port_;
  const std::chrono::milliseconds connect_timeout_;
  const std::chrono::milliseconds read_timeout_;
  const std::optional<Credentials> credentials_;
  std::mutex fd_mutex_;  // guards fd_ against cancel()
  int fd_ = -1;
  bool cancelled_ = false;
  int32_t next_opaque_ = 1;
  std::string buffer_;  // bytes read past the last decoded frame
};

}  // namespace timing_sidecar::remoting
