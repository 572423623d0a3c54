// The one periodic loop, without sleeping: intervals of an hour (never reached) or zero, and the
// test waits on the runs themselves.

#include "timing_sidecar/periodic_task.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <mutex>

using namespace timing_sidecar;
using namespace std::chrono_literals;

namespace {

constexpr int64_t kHourMs = 3'600'000;

class Runs {
 public:
  void add() {
    {
      std::lock_guard lock(mutex_);
      ++count_;
    }
    changed_.notify_all();
  }
  int count() {
    std::lock_guard lock(mutex_);
    return count_;
  }
  bool reach(int count) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, 5s, [&] { return count_ >= count; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  int count_ = 0;
};

}  // namespace

TEST_CASE("a periodic task started at once runs at once, then waits its interval") {
  Runs runs;
  bool interrupted = false;
  {
    PeriodicTask task(
        kHourMs, [&] { runs.add(); }, PeriodicTask::Start::kAtOnce, [&] { interrupted = true; });
    REQUIRE(runs.reach(1));
  }
  CHECK(runs.count() == 1);
  CHECK(interrupted);
}

TEST_CASE("a periodic task waits its interval first, and stops promptly within it") {
  Runs runs;
  const auto started = std::chrono::steady_clock::now();
  {
    PeriodicTask task(kHourMs, [&] { runs.add(); });
  }
  CHECK(std::chrono::steady_clock::now() - started < 1s);
  CHECK(runs.count() == 0);
}

TEST_CASE("a new interval counts from now") {
  Runs runs;
  PeriodicTask task(kHourMs, [&] { runs.add(); });
  task.set_interval_ms(0);
  CHECK(runs.reach(3));  // every 0 ms from now on
}

TEST_CASE("a run may ask for the next one sooner than the interval (a backoff)") {
  Runs runs;
  PeriodicTask* self = nullptr;
  std::mutex started;
  std::unique_lock hold(started);
  PeriodicTask task(
      kHourMs,
      [&] {
        { std::lock_guard wait_for_self(started); }
        if (runs.count() < 2) self->next_run_in(0ms);
        runs.add();
      },
      PeriodicTask::Start::kAtOnce);
  self = &task;
  hold.unlock();
  CHECK(runs.reach(3));
  CHECK(runs.count() == 3);  // then back to the hour
}
