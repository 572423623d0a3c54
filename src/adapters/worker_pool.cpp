#include "timing_sidecar/worker_pool.hpp"

#include <algorithm>

namespace timing_sidecar {

WorkerPool::WorkerPool(size_t max_threads, std::chrono::milliseconds idle_timeout,
                       std::function<void()> on_thread_start)
    : max_threads_(std::max<size_t>(1, max_threads)),
      idle_timeout_(idle_timeout),
      on_thread_start_(std::move(on_thread_start)) {}

WorkerPool::~WorkerPool() {
  shutdown();
}

void WorkerPool::enqueue(std::function<void()> task) {
  std::lock_guard lock(mutex_);
  join_exited();
  tasks_.push_back(std::move(task));
  if (tasks_.size() > idle_ && running_ < max_threads_) {
    workers_.emplace_back([this] { work(); });
    ++running_;
  } else {
    work_ready_.notify_one();
  }
}

void WorkerPool::shutdown() {
  std::unique_lock lock(mutex_);
  stopping_ = true;
  work_ready_.notify_all();
  worker_exited_.wait(lock, [this] { return running_ == 0; });
  join_exited();
}

size_t WorkerPool::threads() const {
  std::lock_guard lock(mutex_);
  return running_;
}

void WorkerPool::work() {
  if (on_thread_start_) on_thread_start_();
  std::unique_lock lock(mutex_);
  for (;;) {
    if (!tasks_.empty()) {
      std::function<void()> task = std::move(tasks_.front());
      tasks_.pop_front();
      lock.unlock();
      task();
      task = nullptr;  // what it holds is released outside the lock
      lock.lock();
      continue;
    }
    if (stopping_) break;
    ++idle_;
    const bool woken =
        work_ready_.wait_for(lock, idle_timeout_, [this] { return stopping_ || !tasks_.empty(); });
    --idle_;
    if (!woken) break;
  }
  --running_;
  exited_.push_back(std::this_thread::get_id());
  worker_exited_.notify_all();
}

void WorkerPool::join_exited() {
  // A thread in exited_ holds no lock any more and only returns: joining it here is brief.
  for (const std::thread::id id : exited_) {
    auto worker = std::find_if(workers_.begin(), workers_.end(),
                               [id](const std::thread& thread) { return thread.get_id() == id; });
    worker->join();
    workers_.erase(worker);
  }
  exited_.clear();
}

}  // namespace timing_sidecar
