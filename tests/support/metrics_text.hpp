#pragma once

// Reads Prometheus text exposition back into samples, so tests compare values, not bytes.

#include <map>
#include <sstream>
#include <string>

namespace timing_sidecar::testing {

struct Exposition {
  std::map<std::string, double> samples;  // `name{labels}` exactly as written -> value
  std::map<std::string, int> help_lines;  // family -> number of HELP lines
  std::map<std::string, int> type_lines;

  double value(const std::string& series, double missing = -1) const {
    auto it = samples.find(series);
    return it == samples.end() ? missing : it->second;
  }
  bool has(const std::string& series) const { return samples.count(series) != 0; }
  // Number of samples whose series starts with `prefix`.
  size_t count(const std::string& prefix) const {
    size_t n = 0;
    for (const auto& [series, value] : samples) n += series.rfind(prefix, 0) == 0;
    return n;
  }
};

inline Exposition parse_exposition(const std::string& text) {
  Exposition result;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("# HELP ", 0) == 0 || line.rfind("# TYPE ", 0) == 0) {
      std::istringstream words(line.substr(7));
      std::string family;
      words >> family;
      ++(line[2] == 'H' ? result.help_lines : result.type_lines)[family];
      continue;
    }
    if (line.empty() || line[0] == '#') continue;
    const size_t space = line.rfind(' ');
    result.samples[line.substr(0, space)] = std::stod(line.substr(space + 1));
  }
  return result;
}

}  // namespace timing_sidecar::testing
