#include "timing_sidecar/remoting_client.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "timing_sidecar/log.hpp"

namespace timing_sidecar::remoting {

namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kReadChunk = 64 * 1024;

int remaining_ms(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() <= 0 ? 0 : static_cast<int>(left.count());
}

}  // namespace

Client::Client(std::string host, int port, std::chrono::milliseconds connect_timeout,
               std::chrono::milliseconds read_timeout, std::optional<Credentials> credentials)
    : host_(std::move(host)),
      port_(port),
      connect_timeout_(connect_timeout),
      read_timeout_(read_timeout),
      credentials_(std::move(credentials)) {}

Client::~Client() {
  close_connection();
}

std::string Client::describe() const {
  return host_ + ":" + std::to_string(port_);
}

void Client::cancel() {
  std::lock_guard lock(fd_mutex_);
  cancelled_ = true;
  // Wakes a poll(2) in flight on the socket; the fd itself is closed by its owner.
  if (fd_ >= 0) shutdown(fd_, SHUT_RDWR);
}

void Client::close_connection() {
  std::lock_guard lock(fd_mutex_);
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
  buffer_.clear();
}

std::optional<SourceError> Client::wait_ready(short events, Clock::time_point deadline,
                                              const char* what) {
  for (;;) {
    pollfd descriptor{fd_, events, 0};
    const int ready = poll(&descriptor, 1, remaining_ms(deadline));
    {
      std::lock_guard lock(fd_mutex_);
      if (cancelled_) return SourceError{"cancelled", "stopping"};
    }
    if (ready > 0) return std::nullopt;
    if (ready == 0) {
      return SourceError{"timeout", std::string(what) + " " + describe() + " timed out"};
    }
    if (errno != EINTR) {
      return SourceError{"connection_lost", std::string("poll: ") + std::strerror(errno)};
    }
  }
}

std::optional<SourceError> Client::connect_if_needed() {
  {
    std::lock_guard lock(fd_mutex_);
    if (cancelled_) return SourceError{"cancelled", "stopping"};
    if (fd_ >= 0) return std::nullopt;
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const int resolved = getaddrinfo(host_.c_str(), std::to_string(port_).c_str(), &hints, &found);
  if (resolved != 0 || found == nullptr) {
    return SourceError{"connect", "cannot resolve " + host_ + ": " + gai_strerror(resolved)};
  }
  const int fd = socket(found->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    freeaddrinfo(found);
    return SourceError{"connect", std::string("socket: ") + std::strerror(errno)};
  }
  const int connected = ::connect(fd, found->ai_addr, found->ai_addrlen);
  const int connect_errno = errno;
  freeaddrinfo(found);
  {
    std::lock_guard lock(fd_mutex_);
    fd_ = fd;
  }
  if (connected != 0 && connect_errno != EINPROGRESS) {
    close_connection();
    return SourceError{"connect",
                       "cannot connect to " + describe() + ": " + std::strerror(connect_errno)};
  }
  if (connected != 0) {
    if (auto error = wait_ready(POLLOUT, Clock::now() + connect_timeout_, "connecting to")) {
      close_connection();
      if (error->reason == "timeout") error->reason = "connect";
      return error;
    }
    int socket_error = 0;
    socklen_t length = sizeof socket_error;
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &socket_error, &length);
    if (socket_error != 0) {
      close_connection();
      return SourceError{"connect",
                         "cannot connect to " + describe() + ": " + std::strerror(socket_error)};
    }
  }
  const int no_delay = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &no_delay, sizeof no_delay);
  return std::nullopt;
}

std::optional<SourceError> Client::send_all(const std::string& bytes, Clock::time_point deadline) {
  size_t sent = 0;
  while (sent < bytes.size()) {
    if (auto error = wait_ready(POLLOUT, deadline, "writing to")) return error;
    const ssize_t written = send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (written < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (written < 0) {
      return SourceError{"connection_lost",
                         "writing to " + describe() + ": " + std::strerror(errno)};
    }
    sent += static_cast<size_t>(written);
  }
  return std::nullopt;
}

std::variant<Command, SourceError> Client::read_response(int32_t opaque,
                                                         Clock::time_point deadline) {
  for (;;) {
    DecodeResult decoded = decode_frame(buffer_);
    if (const auto* error = std::get_if<FrameError>(&decoded)) {
      return SourceError{"malformed", "from " + describe() + ": " + error->message};
    }
    if (auto* frame = std::get_if<Decoded>(&decoded)) {
      Command command = std::move(frame->command);
      buffer_.erase(0, frame->consumed);
      // A request from the broker, or the response to a request given up on: not ours.
      if (!command.is_response() || command.opaque != opaque) continue;
      return command;
    }
    if (auto error = wait_ready(POLLIN, deadline, "waiting for a response from")) return *error;
    const size_t old_size = buffer_.size();
    buffer_.resize(old_size + kReadChunk);
    const ssize_t received = recv(fd_, buffer_.data() + old_size, kReadChunk, 0);
    buffer_.resize(old_size + static_cast<size_t>(received > 0 ? received : 0));
    if (received < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (received <= 0) {
      return SourceError{"connection_lost",
                         received == 0
                             ? "the broker at " + describe() + " closed the connection"
                             : "reading from " + describe() + ": " + std::strerror(errno)};
    }
  }
}

std::variant<Command, SourceError> Client::call(int code) {
  if (auto error = connect_if_needed()) return *error;
  const int32_t opaque = next_opaque_;
  next_opaque_ = next_opaque_ == INT32_MAX ? 1 : next_opaque_ + 1;
  std::map<std::string, std::string> ext_fields;
  if (credentials_) {
    sign_request(ext_fields, "", credentials_->access_key, credentials_->secret_key);
  }
  const auto deadline = Clock::now() + read_timeout_;
  std::variant<Command, SourceError> result = SourceError{};
  if (auto error = send_all(encode_request(code, opaque, ext_fields), deadline)) {
    result = *error;
  } else {
    result = read_response(opaque, deadline);
  }
  if (auto* error = std::get_if<SourceError>(&result)) {
    close_connection();
    return *error;
  }
  Command& response = std::get<Command>(result);
  if (response.code != kSuccess) {
    // The connection is fine: the broker refused this request.
    return SourceError{"broker_error", "request code " + std::to_string(code) + " answered code " +
                                           std::to_string(response.code) + ": " +
                                           excerpt(response.remark)};
  }
  return result;
}

}  // namespace timing_sidecar::remoting
