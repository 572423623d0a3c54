#include "timing_sidecar/log.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <nlohmann/json.hpp>

namespace timing_sidecar {

namespace {

std::atomic<LogLevel> g_level{LogLevel::kInfo};
std::atomic<LogFormat> g_format{LogFormat::kText};
std::mutex g_write_mutex;

std::string_view level_name(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

std::string rfc3339_now() {
  using namespace std::chrono;
  const auto now = system_clock::now();
  const std::time_t seconds = system_clock::to_time_t(now);
  const auto millis = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char buffer[40];
  const size_t length = std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%S", &utc);
  std::snprintf(buffer + length, sizeof buffer - length, ".%03dZ", static_cast<int>(millis));
  return buffer;
}

// logfmt quotes a value that is empty or holds a space, a quote or an equals sign.
void append_logfmt_value(std::string& out, std::string_view value) {
  const bool needs_quotes =
      value.empty() || value.find_first_of(" \"=\n\t") != std::string_view::npos;
  if (!needs_quotes) {
    out += value;
    return;
  }
  out += '"';
  for (char c : value) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  out += '"';
}

}  // namespace

void configure_logging(LogLevel level, LogFormat format) {
  g_level = level;
  g_format = format;
}

std::string format_log_line(LogFormat format, LogLevel level, std::string_view message,
                            const LogFields& fields, std::string_view timestamp) {
  if (format == LogFormat::kJson) {
    nlohmann::ordered_json line = {
        {"ts", timestamp}, {"level", level_name(level)}, {"msg", message}};
    for (const auto& [key, value] : fields) line[std::string(key)] = value;
    return line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  std::string line = "ts=";
  line.append(timestamp).append(" level=").append(level_name(level)).append(" msg=");
  append_logfmt_value(line, message);
  for (const auto& [key, value] : fields) {
    line.append(" ").append(key).append("=");
    append_logfmt_value(line, value);
  }
  return line;
}

void log(LogLevel level, std::string_view message, const LogFields& fields) {
  if (level < g_level.load()) return;
  std::string line = format_log_line(g_format.load(), level, message, fields, rfc3339_now());
  line += '\n';
  std::lock_guard lock(g_write_mutex);
  std::fwrite(line.data(), 1, line.size(), stderr);
}

std::string excerpt(std::string_view text) {
  constexpr size_t kMaxBytes = 200;
  std::string out;
  for (const char c : text.substr(0, kMaxBytes)) {
    const auto byte = static_cast<unsigned char>(c);
    out += byte >= 0x20 && byte < 0x7f ? c : '?';
  }
  if (text.size() > kMaxBytes) out += "...";
  return out;
}

}  // namespace timing_sidecar
