#include "timing_sidecar/process_metrics.hpp"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <limits>
#include <sstream>
#include <string>

namespace timing_sidecar {

namespace {

prometheus::MetricFamily single_value_family(const std::string& name, const std::string& help,
                                             prometheus::MetricType type, double value) {
  prometheus::ClientMetric metric;
  if (type == prometheus::MetricType::Counter) {
    metric.counter.value = value;
  } else {
    metric.gauge.value = value;
  }
  return {name, help, type, {metric}};
}

double boot_time_seconds() {
  std::ifstream stat("/proc/stat");
  std::string key;
  double value = 0;
  while (stat >> key) {
    if (key == "btime") {
      stat >> value;
      return value;
    }
    stat.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
  }
  return 0;
}

double open_fds() {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return 0;
  double count = 0;
  while (dirent* entry = readdir(dir)) {
    if (entry->d_name[0] != '.') ++count;
  }
  closedir(dir);
  return count - 1;  // the descriptor opendir itself holds
}

}  // namespace

std::vector<prometheus::MetricFamily> ProcessMetrics::Collect() const {
  std::ifstream stat_file("/proc/self/stat");
  std::string stat;
  std::getline(stat_file, stat);
  // Field 2 (comm) may hold spaces: parse from after its closing parenthesis (field 3 on).
  std::istringstream fields(stat.substr(stat.rfind(')') + 2));
  std::string field;
  double utime = 0, stime = 0, start_ticks = 0, vsize = 0, rss_pages = 0;
  for (int number = 3; fields >> field && number <= 24; ++number) {
    if (number == 14) utime = std::stod(field);
    if (number == 15) stime = std::stod(field);
    if (number == 22) start_ticks = std::stod(field);
    if (number == 23) vsize = std::stod(field);
    if (number == 24) rss_pages = std::stod(field);
  }
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  rlimit limit{};
  getrlimit(RLIMIT_NOFILE, &limit);

  using prometheus::MetricType;
  return {
      single_value_family("process_cpu_seconds_total",
                          "Total user and system CPU time spent in seconds.", MetricType::Counter,
                          (utime + stime) / ticks),
      single_value_family("process_resident_memory_bytes", "Resident memory size in bytes.",
                          MetricType::Gauge,
                          rss_pages * static_cast<double>(sysconf(_SC_PAGESIZE))),
      single_value_family("process_virtual_memory_bytes", "Virtual memory size in bytes.",
                          MetricType::Gauge, vsize),
      single_value_family("process_open_fds", "Number of open file descriptors.", MetricType::Gauge,
                          open_fds()),
      single_value_family("process_max_fds", "Maximum number of open file descriptors.",
                          MetricType::Gauge, static_cast<double>(limit.rlim_cur)),
      single_value_family("process_start_time_seconds",
                          "Start time of the process since unix epoch in seconds.",
                          MetricType::Gauge, boot_time_seconds() + start_ticks / ticks),
  };
}

}  // namespace timing_sidecar
