#include "timing_sidecar/worker_pool.hpp"

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

using namespace timing_sidecar;
using namespace std::chrono_literals;

namespace {

// Polls `done` for up to 5 s: threads start and exit asynchronously.
template <typename Predicate>
bool eventually(Predicate done) {
  for (int i = 0; i < 500; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return done();
}

}  // namespace

TEST_CASE("worker pool: threads start with the work, up to the bound", "[worker_pool]") {
  WorkerPool pool(3, 10s);
  CHECK(pool.threads() == 0);
  std::atomic<int> started{0};
  std::atomic<bool> release{false};
  std::atomic<int> finished{0};
  for (int i = 0; i < 5; ++i) {
    pool.enqueue([&] {
      ++started;
      while (!release) std::this_thread::sleep_for(1ms);
      ++finished;
    });
  }
  CHECK(eventually([&] { return started == 3; }));
  CHECK(pool.threads() == 3);  // the other two tasks wait for a worker
  std::this_thread::sleep_for(50ms);
  CHECK(started == 3);
  release = true;
  CHECK(eventually([&] { return finished == 5; }));
  CHECK(pool.threads() == 3);
}

TEST_CASE("worker pool: an idle worker is reused, then exits after the idle timeout",
          "[worker_pool]") {
  WorkerPool pool(8, 200ms);
  std::atomic<int> done{0};
  for (int i = 0; i < 20; ++i) {
    pool.enqueue([&] { ++done; });
    REQUIRE(eventually([&] { return done == i + 1; }));
    std::this_thread::sleep_for(20ms);  // the worker back to waiting
  }
  CHECK(pool.threads() == 1);  // one at a time: the same worker served every task
  CHECK(eventually([&] { return pool.threads() == 0; }));
  pool.enqueue([&] { ++done; });
  CHECK(eventually([&] { return done == 21; }));
}

TEST_CASE("worker pool: shutdown runs what is queued and ends every worker", "[worker_pool]") {
  std::atomic<int> done{0};
  std::atomic<int> starts{0};
  WorkerPool pool(2, 10s, [&] { ++starts; });
  for (int i = 0; i < 50; ++i) {
    pool.enqueue([&] {
      std::this_thread::sleep_for(1ms);
      ++done;
    });
  }
  pool.shutdown();
  CHECK(done == 50);
  CHECK(pool.threads() == 0);
  CHECK(starts <= 2);
  pool.shutdown();  // again: nothing left to do
}
