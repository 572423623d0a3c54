#pragma once

// One line per event worth a human's attention, as logfmt text or JSON, on stderr.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace timing_sidecar {

enum class LogLevel { kDebug, kInfo, kWarn, kError };
enum class LogFormat { kText, kJson };

using LogFields = std::vector<std::pair<std::string_view, std::string>>;

void configure_logging(LogLevel level, LogFormat format);
void log(LogLevel level, std::string_view message, const LogFields& fields = {});

// Someone else's input quoted in a log line or an error message: its first 200 bytes, with
// anything but printable ASCII as '?', and "..." when cut.
std::string excerpt(std::string_view text);

// Renders one line without writing it (for tests).
std::string format_log_line(LogFormat format, LogLevel level, std::string_view message,
                            const LogFields& fields, std::string_view timestamp);

}  // namespace timing_sidecar
