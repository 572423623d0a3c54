#pragma once

// What the listeners check requests against, as the files say now: the TLS identity and the
// basic-auth users of --web.config.file, and the secrets of --webhook.secret-file. A reload
// builds the new state whole, off the request path, and swaps it in; a file that does not load
// keeps its last good state, says what is wrong in one log line and in ReloadStatus, and is tried
// again when it changes.

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "timing_sidecar/file_watch.hpp"
#include "timing_sidecar/reload_status.hpp"
#include "timing_sidecar/tls_identity.hpp"
#include "timing_sidecar/web_config.hpp"

namespace timing_sidecar {

class LiveSecurity {
 public:
  // Reads both files (an empty path: not configured). Throws std::runtime_error on a broken one:
  // at start there is no last good state to keep.
  LiveSecurity(std::string web_config_file, std::string secret_file, ReloadStatus& status);

  // Fixed at start: whether the listeners speak TLS is a restart's business.
  bool tls() const { return tls_; }
  TlsIdentitySlot& tls_identity() { return tls_identity_; }
  std::shared_ptr<BasicAuth> basic_auth() const { return std::atomic_load(&basic_auth_); }
  // Empty: no --webhook.secret-file (unsigned requests, loopback peers only).
  std::shared_ptr<const std::vector<std::string>> webhook_secrets() const {
    return std::atomic_load(&webhook_secrets_);
  }

  // Re-reads the files that changed since the last look, all of them when `force` (SIGHUP).
  void reload(bool force);

 private:
  void load_web_config_file();
  void load_secret_file();
  void reload_web_config(bool force);
  void reload_secret(bool force);

  const std::string web_config_file_;
  const std::string secret_file_;
  ReloadStatus& status_;
  bool tls_ = false;
  TlsIdentitySlot tls_identity_;
  std::shared_ptr<BasicAuth> basic_auth_;                            // atomic_load/atomic_store
  std::shared_ptr<const std::vector<std::string>> webhook_secrets_;  // atomic_load/atomic_store

  std::mutex reload_mutex_;                   // one reload at a time: the periodic look or a SIGHUP
  std::map<std::string, std::string> users_;  // of basic_auth_, to keep its cache when unchanged
  FileWatch web_watch_;
  FileWatch secret_watch_;
};

}  // namespace timing_sidecar
