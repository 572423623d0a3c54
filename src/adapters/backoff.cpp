#include "timing_sidecar/backoff.hpp"

#include <algorithm>

namespace timing_sidecar {

std::chrono::milliseconds Backoff::ceiling() const {
  // 2^9 * 100 ms is beyond the cap already: the shift never overflows.
  const int doublings = std::min(failures_, 9);
  return std::min(kMaxCeiling, kInitialCeiling * (int64_t{1} << doublings));
}

std::chrono::milliseconds Backoff::next() {
  const std::chrono::milliseconds bound = ceiling();
  failures_ = std::min(failures_ + 1, 64);
  return std::chrono::milliseconds(std::uniform_int_distribution<int64_t>(0, bound.count())(rng_));
}

}  // namespace timing_sidecar
