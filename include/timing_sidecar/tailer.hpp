#pragma once

// The broker feed client: list, then watch, as Kubernetes informers do. A fresh sidecar first asks
// for the broker's whole history (GET /v1/events?after=0): replaying it gives exact per-message
// state. When the broker no longer holds it (410), or the feed shows a gap (a revision that went
// backwards: the broker restarted with a fresh counter), the tailer lists the topics
// (GET /v1/topics), adopts the broker's pending counts and watches on from the list's revision.
// It lists again every --broker.resync-interval to catch deletions the feed never showed.
//
// FeedStateMachine is that logic, one request per step() on the caller's thread, through a
// BrokerApi and a Clock; Tailer runs it on a thread of its own and waits out its backoffs.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "timing_sidecar/backoff.hpp"
#include "timing_sidecar/broker_api.hpp"
#include "timing_sidecar/broker_feed.hpp"
#include "timing_sidecar/clock.hpp"
#include "timing_sidecar/config.hpp"
#include "timing_sidecar/events.hpp"
#include "timing_sidecar/journal.hpp"
#include "timing_sidecar/reconciler.hpp"
#include "timing_sidecar/sidecar.hpp"

namespace timing_sidecar {

class FeedStateMachine {
 public:
  // After a batch of feed events with invalid events, the same batch is asked for again this many
  // times in all (with backoff) before the tailer lists and goes on from the list's revision:
  // retries cover a broker caught mid-change, the relist keeps one bad event from stalling the
  // feed forever. The skipped events are the ones the broker's counts then stand in for.
  static constexpr int kInvalidBatchAttempts = 3;

  // `after_apply` runs after each applied batch of events (to wake the timer driver); `ready`
  // runs once, when the first state is applied: a list, or a replay from revision 0 that caught
  // up with the broker. Picks up the feed position a recovered --state.dir left.
  FeedStateMachine(const Config& config, Sidecar& sidecar, BrokerApi& broker, const Clock& clock,
                   std::function<void()> after_apply, std::function<void()> ready,
                   uint64_t backoff_seed);
  ~FeedStateMachine();
  FeedStateMachine(const FeedStateMachine&) = delete;
  FeedStateMachine& operator=(const FeedStateMachine&) = delete;

  // One request: a list when one is due, else a poll of the feed. Returns how long to wait before
  // the next step: zero after progress (or a cancelled request), a backoff draw after a failure.
  std::chrono::milliseconds step();

 private:
  enum class RelistCause { kGone, kRevisionBackwards, kInvalidEvent, kResync };
  struct Metrics;

  bool poll();
  bool relist(RelistCause cause);
  bool reject_batch(const std::string& error);
  // `reached` is where the batch leaves the feed. False when it could not be journaled: nothing
  // was applied.
  bool apply_events(std::vector<Event>& events, int64_t reached);
  bool journal_failed(const JournalError& error);
  // Records a failed attempt; logs only when the feed goes down. Returns false (back off).
  bool fail(std::string_view reason, const std::string& error);
  void set_up();
  void mark_ready();
  static std::string_view cause_name(RelistCause cause);
  int64_t hold_seconds() const;

  const Config config_;
  Sidecar& sidecar_;
  BrokerApi& broker_;
  const Clock& clock_;
  std::function<void()> after_apply_;
  std::function<void()> ready_;
  std::unique_ptr<Metrics> metrics_;
  ListReconciler reconciler_;
  Backoff backoff_;

  int64_t position_ = 0;  // the broker's revision everything up to which was applied
  // Added to the broker's revisions before they reach the catalog. It grows when the broker
  // restarts with a fresh counter, so that the catalog, which remembers revisions of the old
  // counter, still sees what comes after as newer.
  int64_t revision_offset_ = 0;
  // The highest revision the broker has answered with: a lower one means a fresh counter.
  int64_t highest_broker_revision_ = 0;
  bool caught_up_ = false;
  bool have_state_ = false;
  std::optional<RelistCause> relist_due_;
  int64_t next_resync_ms_ = 0;
  int invalid_attempts_ = 0;
  std::optional<bool> up_;  // unknown until the first attempt
  int64_t down_since_ms_ = 0;
  bool warned_invalid_names_ = false;
};

class Tailer {
 public:
  static constexpr int kInvalidBatchAttempts = FeedStateMachine::kInvalidBatchAttempts;

  // Starts the feed state machine on a thread of its own; see FeedStateMachine for the callbacks.
  // `broker` must outlive the tailer.
  Tailer(const Config& config, Sidecar& sidecar, BrokerApi& broker, const Clock& clock,
         std::function<void()> after_apply, std::function<void()> ready);
  // Prompt: cancels the broker API, which interrupts a long-poll in flight.
  ~Tailer();
  Tailer(const Tailer&) = delete;
  Tailer& operator=(const Tailer&) = delete;

 private:
  void run();

  BrokerApi& broker_;
  FeedStateMachine machine_;  // touched by the tailer's thread only
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;  // guarded by mutex_
  std::thread thread_;
};

}  // namespace timing_sidecar
