#pragma once

#include <httplib.h>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <list>
#include <mutex>
#include <thread>
#include <vector>

namespace timing_sidecar {

// A cpp-httplib task queue whose threads follow the work. A task starts a thread only when no
// worker is idle, up to `max_threads` (beyond, tasks wait in arrival order); a worker idle for
// `idle_timeout` exits. cpp-httplib's own ThreadPool starts all its threads at once and keeps them:
// two listeners at 128 threads ran 256 threads, each with a stack and often a malloc arena of its
// own, to serve a handful of connections. `on_thread_start` runs first on every new worker.
class WorkerPool final : public httplib::TaskQueue {
 public:
  WorkerPool(size_t max_threads, std::chrono::milliseconds idle_timeout,
             std::function<void()> on_thread_start = {});
  ~WorkerPool() override;

  void enqueue(std::function<void()> task) override;
  // Runs the tasks already queued, then ends every worker. Safe to call more than once.
  void shutdown() override;

  // Workers alive now, busy or idle.
  size_t threads() const;

 private:
  void work();
  void join_exited();  // with mutex_ held

  const size_t max_threads_;
  const std::chrono::milliseconds idle_timeout_;
  const std::function<void()> on_thread_start_;

  mutable std::mutex mutex_;
  std::condition_variable work_ready_;
  std::condition_variable worker_exited_;
  std::deque<std::function<void()>> tasks_;
  std::list<std::thread> workers_;
  std::vector<std::thread::id> exited_;
  size_t running_ = 0;
  size_t idle_ = 0;
  bool stopping_ = false;
};

}  // namespace timing_sidecar
