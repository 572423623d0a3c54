#include "drop_connection.hpp"

#include <dirent.h>
#include <httplib.h>
#include <netdb.h>
#include <sys/socket.h>

#include <cstdlib>
#include <optional>
#include <string>

#include "timing_sidecar/log.hpp"

namespace broker_sim {

namespace {

struct Endpoint {
  std::string host;
  int port = 0;
};

// The same numeric form cpp-httplib fills remote_addr with (getnameinfo, NI_NUMERICHOST).
std::optional<Endpoint> endpoint_of(const sockaddr_storage& address, socklen_t length) {
  char host[NI_MAXHOST];
  char service[NI_MAXSERV];
  if (getnameinfo(reinterpret_cast<const sockaddr*>(&address), length, host, sizeof(host), service,
                  sizeof(service), NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
    return std::nullopt;
  }
  return Endpoint{host, std::atoi(service)};
}

std::optional<int> find_connection_socket(const httplib::Request& req) {
  DIR* directory = opendir("/proc/self/fd");
  if (directory == nullptr) return std::nullopt;
  std::optional<int> found;
  while (dirent* entry = readdir(directory)) {
    const int fd = std::atoi(entry->d_name);
    if (fd <= 2 || fd == dirfd(directory)) continue;
    sockaddr_storage peer{};
    socklen_t peer_length = sizeof(peer);
    sockaddr_storage local{};
    socklen_t local_length = sizeof(local);
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_length) != 0 ||
        getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_length) != 0) {
      continue;
    }
    const auto remote = endpoint_of(peer, peer_length);
    const auto ours = endpoint_of(local, local_length);
    if (remote && ours && remote->host == req.remote_addr && remote->port == req.remote_port &&
        ours->port == req.local_port) {
      found = fd;
      break;
    }
  }
  closedir(directory);
  return found;
}

}  // namespace

void drop_connection(const httplib::Request& req, httplib::Response& res) {
  if (auto fd = find_connection_socket(req)) {
    shutdown(*fd, SHUT_RDWR);
  } else {
    timing_sidecar::log(timing_sidecar::LogLevel::kWarn,
                        "cannot find the connection's socket: cutting the reply instead",
                        {{"peer", req.remote_addr + ":" + std::to_string(req.remote_port)}});
  }
  res.status = 200;
  res.set_content_provider(1, "application/json",
                           [](size_t, size_t, httplib::DataSink&) { return false; });
}

}  // namespace broker_sim
