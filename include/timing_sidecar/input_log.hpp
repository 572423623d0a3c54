#pragma once

// The log of inputs the sidecar keeps so that recovery can replay them (Durability writes it to
// --state.dir, durability.hpp). The caller journals and applies in one step: it hands the log
// the input together with the function that applies it, and the log runs that function as the
// same input, so that the journal's order is the order of application and the engine reads the
// time journaled with it. The engine itself never sees the log.

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "timing_sidecar/engine.hpp"
#include "timing_sidecar/events.hpp"
#include "timing_sidecar/journal.hpp"

namespace timing_sidecar {

// What applying an authoritative list did beyond the list itself, as it is journaled: the drops
// the reconciler's valve let through, and whether the broker's counts were adopted.
struct ListEffects {
  std::vector<std::string> condemned;
  bool adopted_counts = false;
};

class InputLog {
 public:
  virtual ~InputLog() = default;

  // Journals the batch, then calls `apply` (Sidecar::apply). Returns once the record is as
  // durable as --state.sync asks. Throws JournalError, without calling `apply`, when the journal
  // cannot take the record. `feed_position` is where a feed batch leaves the feed: journaled in
  // the same record, so that the two are never recovered apart.
  virtual ApplyResult log_events(const std::vector<Event>& events, EventSource source,
                                 const std::optional<FeedPosition>& feed_position,
                                 const std::function<ApplyResult()>& apply) = 0;

  // Calls `apply`, which applies `list` and says what it did, then journals both
  // (ListReconciler::apply): what the valve let through is known only once it has run. A failure
  // is logged, not thrown: the list has taken effect, its source will list again, and the log
  // refuses inputs until a snapshot holds the state.
  virtual void log_list(const TopicList& list, const std::function<ListEffects()>& apply) = 0;

  // The broker feed's tailer (tailer.hpp), through Sidecar::input_log():
  //  - at start, it resumes from recovered_feed_position() (nullopt: from the beginning);
  //  - it passes where each batch leaves the feed to Sidecar::apply(events, EventSource::kFeed,
  //    position), which journals both in one record;
  //  - when the position moves without events (an empty reply, a relist), it calls
  //    record_feed_position() after the list took effect. A position lost to a crash between the
  //    two only makes the tailer ask the broker again from the one before.
  // Throws JournalError when the journal cannot take the record: the position must not advance;
  // retry after a backoff.
  virtual void record_feed_position(const FeedPosition& position) = 0;
  virtual std::optional<FeedPosition> recovered_feed_position() const = 0;
};

}  // namespace timing_sidecar
