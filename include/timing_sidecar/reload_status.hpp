#pragma once

// Whether the files the sidecar reloads are in use as they are on disk, as Prometheus reports its
// own configuration:
//   timing_sidecar_config_last_reload_successful               1 while the last reload of each
//                                                              part succeeded, else 0
//   timing_sidecar_config_last_reload_success_timestamp_seconds the last successful reload that
//                                                              left every part successful
// Parts: "web_config" (--web.config.file and the files it names), "webhook_secret"
// (--webhook.secret-file) and "config" (--config, on SIGHUP).

#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <map>
#include <mutex>
#include <string>

#include "timing_sidecar/clock.hpp"
#include "timing_sidecar/exposition.hpp"

namespace timing_sidecar {

class ReloadStatus {
 public:
  // Starts successful, at the clock's now: the sidecar starts only with files it could use.
  ReloadStatus(prometheus::Registry& registry, const ConstantLabels& labels, const Clock& clock);

  void record(const std::string& part, bool succeeded);
  bool successful() const;

 private:
  bool all_successful_locked() const;

  const Clock& clock_;
  prometheus::Gauge& successful_;
  prometheus::Gauge& success_timestamp_;
  mutable std::mutex mutex_;
  std::map<std::string, bool> parts_;  // part -> its last reload succeeded
};

}  // namespace timing_sidecar
