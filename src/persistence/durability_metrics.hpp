#pragma once

// Durability's self metrics, shared by the source files of its rooms (durability.hpp).

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include "timing_sidecar/durability.hpp"
#include "timing_sidecar/exposition.hpp"

namespace timing_sidecar {

struct Durability::Metrics {
  Metrics(prometheus::Registry& registry, const ConstantLabels& labels);

  prometheus::Counter& corrupt_records;
  prometheus::Counter& write_errors;
  prometheus::Gauge& journal_bytes;
  prometheus::Counter& snapshots;
};

}  // namespace timing_sidecar
