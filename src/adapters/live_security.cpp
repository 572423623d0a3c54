#include "timing_sidecar/live_security.hpp"

#include <stdexcept>

#include "timing_sidecar/log.hpp"
#include "timing_sidecar/signature.hpp"

namespace timing_sidecar {

namespace {

constexpr const char* kWebConfigPart = "web_config";
constexpr const char* kSecretPart = "webhook_secret";

}  // namespace

LiveSecurity::LiveSecurity(std::string web_config_file, std::string secret_file,
                           ReloadStatus& status)
    : web_config_file_(std::move(web_config_file)),
      secret_file_(std::move(secret_file)),
      status_(status),
      basic_auth_(std::make_shared<BasicAuth>(std::map<std::string, std::string>{})),
      webhook_secrets_(std::make_shared<const std::vector<std::string>>()) {
  if (!web_config_file_.empty()) {
    tls_ = load_web_config(web_config_file_).tls();
    load_web_config_file();
  }
  if (!secret_file_.empty()) load_secret_file();
}

void LiveSecurity::reload(bool force) {
  std::lock_guard lock(reload_mutex_);
  if (!web_config_file_.empty()) reload_web_config(force);
  if (!secret_file_.empty()) reload_secret(force);
}

// Watches the files before reading them, so that a write while they are read is seen at the next
// look. Swaps in nothing unless everything loaded.
void LiveSecurity::load_web_config_file() {
  if (web_watch_.paths().empty()) web_watch_.watch({web_config_file_});
  const WebConfig config = load_web_config(web_config_file_);
  if (config.tls()) web_watch_.watch({web_config_file_, config.cert_file, config.key_file});
  if (config.tls() != tls_) {
    throw std::runtime_error(tls_ ? "tls_server_config is gone: turning TLS off needs a restart"
                                  : "tls_server_config is new: turning TLS on needs a restart");
  }
  std::shared_ptr<const TlsIdentity> identity;
  if (config.tls()) identity = TlsIdentity::load(config.cert_file, config.key_file);

  if (identity) tls_identity_.set(std::move(identity));
  if (config.basic_auth_users != users_) {
    users_ = config.basic_auth_users;
    std::atomic_store(&basic_auth_, std::make_shared<BasicAuth>(users_));
  }
}

void LiveSecurity::load_secret_file() {
  secret_watch_.watch({secret_file_});
  std::atomic_store(&webhook_secrets_, std::make_shared<const std::vector<std::string>>(
                                           read_secret_file(secret_file_)));
}

void LiveSecurity::reload_web_config(bool force) {
  if (!web_watch_.changed() && !force) return;
  try {
    load_web_config_file();
  } catch (const std::exception& error) {
    log(LogLevel::kWarn, "web config not reloaded: keeping the last good one",
        {{"file", web_config_file_}, {"error", error.what()}});
    status_.record(kWebConfigPart, false);
    return;
  }
  const std::shared_ptr<const TlsIdentity> identity = tls_identity_.get();
  log(LogLevel::kInfo, "web config reloaded",
      {{"file", web_config_file_},
       {"certificate_serial", identity ? identity->serial() : "none"},
       {"basic_auth_users", std::to_string(users_.size())}});
  status_.record(kWebConfigPart, true);
}

void LiveSecurity::reload_secret(bool force) {
  if (!secret_watch_.changed() && !force) return;
  try {
    load_secret_file();
  } catch (const std::exception& error) {
    log(LogLevel::kWarn, "webhook secret not reloaded: keeping the last good one",
        {{"error", error.what()}});
    status_.record(kSecretPart, false);
    return;
  }
  log(LogLevel::kInfo, "webhook secret reloaded",
      {{"file", secret_file_}, {"secrets", std::to_string(webhook_secrets()->size())}});
  status_.record(kSecretPart, true);
}

}  // namespace timing_sidecar
