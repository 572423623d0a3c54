#include "timing_sidecar/demo.hpp"

#include <array>
#include <chrono>
#include <map>
#include <random>
#include <string>

namespace timing_sidecar {

namespace {

constexpr std::array<const char*, 4> kTopics = {"demo-orders", "demo-payments", "demo-reminders",
                                                "demo-coupons"};
// One delay per snapshot range, so every timer_bound_s has messages.
constexpr std::array<int64_t, 9> kDelaysMs = {
    3'000, 40'000, 200'000, 600'000, 2'400'000, 10'800'000, 21'600'000, 72'000'000, 172'800'000};
constexpr int64_t kTickMs = 1000;
constexpr int64_t kShortLivedTopicPeriodMs = 60'000;

struct PendingMessage {
  std::string topic;
  int64_t deliver_at_ms;
  bool stuck;
};

std::string message_id(std::mt19937_64& random) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string id(32, '0');
  for (char& c : id) c = kHex[random() % 16];
  return id;
}

Event timer_event(EventType type, const std::string& topic, const std::string& id) {
  Event event;
  event.type = type;
  event.topic = topic;
  event.id = id;
  return event;
}

}  // namespace

DemoBroker::DemoBroker(Sidecar& sidecar, const Clock& clock, std::function<void()> after_apply)
    : sidecar_(sidecar),
      clock_(clock),
      after_apply_(std::move(after_apply)),
      thread_([this] { run(); }) {}

DemoBroker::~DemoBroker() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void DemoBroker::run() {
  std::mt19937_64 random(42);
  std::map<std::string, PendingMessage> pending;  // by id
  std::vector<Event> batch;
  for (const char* topic : kTopics) {
    Event created;
    created.type = EventType::kTopicCreated;
    created.topic = topic;
    batch.push_back(created);
  }
  std::string short_lived;
  int64_t next_short_lived_ms = clock_.now_ms();
  int generation = 0;

  std::unique_lock lock(mutex_);
  while (!wake_.wait_for(lock, std::chrono::milliseconds(kTickMs), [this] { return stopping_; })) {
    const int64_t now_ms = clock_.now_ms();
    for (const char* topic : kTopics) {
      const std::string id = message_id(random);
      Event enqueued = timer_event(EventType::kTimerEnqueued, topic, id);
      enqueued.deliver_at_ms = now_ms + kDelaysMs[random() % kDelaysMs.size()];
      batch.push_back(enqueued);
      pending[id] = {topic, enqueued.deliver_at_ms, random() % 40 == 0};
    }
    for (auto it = pending.begin(); it != pending.end();) {
      const PendingMessage& message = it->second;
      if (message.deliver_at_ms <= now_ms && !message.stuck) {
        batch.push_back(timer_event(EventType::kTimerDequeued, message.topic, it->first));
        it = pending.erase(it);
      } else if (random() % 2000 == 0) {
        batch.push_back(timer_event(EventType::kTimerCancelled, message.topic, it->first));
        it = pending.erase(it);
      } else {
        ++it;
      }
    }
    if (now_ms >= next_short_lived_ms) {
      if (!short_lived.empty()) {
        Event deleted;
        deleted.type = EventType::kTopicDeleted;
        deleted.topic = short_lived;
        batch.push_back(deleted);
        // RocketMQ's remaining bug: a late dequeue for the deleted topic. It must be ignored.
        batch.push_back(timer_event(EventType::kTimerDequeued, short_lived, message_id(random)));
      }
      short_lived = "demo-flash-sale-" + std::to_string(++generation);
      for (int i = 0; i < 5; ++i) {
        Event enqueued = timer_event(EventType::kTimerEnqueued, short_lived, message_id(random));
        enqueued.deliver_at_ms = now_ms + kDelaysMs[random() % kDelaysMs.size()];
        batch.push_back(enqueued);
      }
      next_short_lived_ms = now_ms + kShortLivedTopicPeriodMs;
    }
    lock.unlock();
    sidecar_.apply(batch, EventSource::kDemo);
    if (after_apply_) after_apply_();
    batch.clear();
    lock.lock();
  }
}

}  // namespace timing_sidecar
