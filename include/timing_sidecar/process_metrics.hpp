#pragma once

// The standard process_* metrics that other Prometheus client libraries export and
// prometheus-cpp does not, read from /proc at collection time.

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <vector>

namespace timing_sidecar {

class ProcessMetrics final : public prometheus::Collectable {
 public:
  std::vector<prometheus::MetricFamily> Collect() const override;
};

}  // namespace timing_sidecar
