#pragma once

// --web.config.file in the format of the Prometheus exporter-toolkit, the subset we support:
//   tls_server_config: {cert_file, key_file}     TLS on both listeners
//   basic_auth_users: {name: bcrypt hash}         basic auth on /metrics and /v1/topics
// Anything else in the file is refused by name, so an operator never believes a setting took
// effect when it did not.

#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>

namespace timing_sidecar {

struct WebConfig {
  std::string cert_file;  // both empty: no TLS
  std::string key_file;
  std::map<std::string, std::string> basic_auth_users;  // name -> bcrypt hash

  bool tls() const { return !cert_file.empty(); }
};

// Throws std::runtime_error with the file, the key and what is wrong.
WebConfig load_web_config(const std::string& path);

// Checks an Authorization header against the users' bcrypt hashes. bcrypt is slow on purpose, so
// credentials already verified are remembered (by their SHA-256), as the exporter-toolkit does.
class BasicAuth {
 public:
  explicit BasicAuth(std::map<std::string, std::string> users);
  bool enabled() const { return !users_.empty(); }
  bool allows(std::string_view authorization_header);

 private:
  std::map<std::string, std::string> users_;
  std::mutex mutex_;
  std::set<std::string> verified_;  // SHA-256 of "user:password"
};

}  // namespace timing_sidecar
