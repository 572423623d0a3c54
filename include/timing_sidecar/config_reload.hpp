#pragma once

// What a SIGHUP may change of a running sidecar's flags. The config is read again the way it was
// at start (same command line, --config file and environment); the settings below take effect at
// once, the others only at the next start and are reported as such.

#include <string>
#include <vector>

#include "timing_sidecar/config.hpp"

namespace timing_sidecar {

struct ConfigChanges {
  std::vector<std::string> applied;       // flag names that take effect now
  std::vector<std::string> need_restart;  // flag names left as they are until a restart
};

// The flags --log.level, --log.format, --reconcile.interval and --sources.poll-interval reload;
// the files named by --web.config.file and --webhook.secret-file reload their content, but a new
// path needs a restart like every other flag.
ConfigChanges compare_configs(const Config& running, const Config& reread);

}  // namespace timing_sidecar
