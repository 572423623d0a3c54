#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace timing_sidecar {

// Reads the --config file as TOML for CLI11: `[web]` tables and dotted keys such as
// `web.listen-address` alike name the flag --web.listen-address. The keys it accepts are the long
// names of `app`'s options at the time the file is read, so a flag added to the app is accepted in
// the file without more code. Errors carry the file, line and column; an unknown key is named
// together with the closest known one.
std::shared_ptr<CLI::Config> make_toml_config(const CLI::App& app);

// The candidate nearest to `key` by edit distance, or "" when none is near enough to be a likely
// misspelling.
std::string closest_key(std::string_view key, const std::vector<std::string>& candidates);

}  // namespace timing_sidecar
