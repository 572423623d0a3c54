#pragma once

// The files of the state directory (durability.hpp): the journal's records, and the files that
// hold records in record_codec.hpp's framing. Files only, no policy.
//
// Journal payloads (payload fields: u8, u32, i64, text = u32 length + bytes, opt = u8 0|1 + i64):
//   events         source u8 | applied_at_ms i64 | feed opt-position | count u32 |
//                  count × (type u8 | topic text | id text | deliver_at_ms i64 | revision opt |
//                           message_type text)
//                  opt-position = u8 0|1, then revision i64 | revision_offset i64
//   list           applied_at_ms i64 | stamp revision opt | stamp requested_at_ms i64 |
//                  adopted_counts u8 | count u32 × (name text | timing opt) |
//                  count u32 × condemned name text
//   feed_position  revision i64 | revision_offset i64
// A snapshot holds the engine's records (engine_snapshot.cpp documents them), then the feed's
// position as a feed_position record when the feed recorded one.

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "timing_sidecar/engine.hpp"
#include "timing_sidecar/events.hpp"
#include "timing_sidecar/record_codec.hpp"

struct iovec;

namespace timing_sidecar {

// A write or sync that failed: the input it carried was not applied.
class JournalError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The broker feed's resume point (tailer.hpp): the broker revision everything up to which was
// applied, and the offset the tailer adds to the broker's revisions.
struct FeedPosition {
  int64_t revision = 0;
  int64_t revision_offset = 0;
  bool operator==(const FeedPosition& other) const {
    return revision == other.revision && revision_offset == other.revision_offset;
  }
};

// A batch of events as it was applied, at the time the engine read while applying it.
struct EventsInput {
  EventSource source = EventSource::kWebhook;
  int64_t applied_at_ms = 0;
  std::optional<FeedPosition> feed_position;  // where a feed batch left the feed
  std::vector<Event> events;
};

// An authoritative list with what it did: the drops the reconciler's valve let through are
// recorded, not recomputed, because the valve's memory is not part of the state.
struct ListInput {
  int64_t applied_at_ms = 0;
  TopicList list;
  std::vector<std::string> condemned;
  bool adopted_counts = false;
};

using JournalInput = std::variant<EventsInput, ListInput, FeedPosition>;

void encode_events(EventSource source, int64_t applied_at_ms,
                   const std::optional<FeedPosition>& feed_position,
                   const std::vector<Event>& events, std::string& payload);
void encode_list(int64_t applied_at_ms, const TopicList& list,
                 const std::vector<std::string>& condemned, bool adopted_counts,
                 std::string& payload);
void encode_feed_position(const FeedPosition& position, std::string& payload);

// nullopt when the type is not a journal record or the payload is not a whole input of it.
std::optional<JournalInput> decode_input(RecordType type, std::string_view payload);

// Appends records to a new file, each with one write, so that a record written survives a crash
// of the process; sync() makes it survive a crash of the machine. Not thread-safe.
class RecordWriter final : public RecordSink {
 public:
  // Creates `path`, which must not exist, and writes the header. Throws JournalError.
  RecordWriter(const std::string& path, FileKind kind, uint64_t generation);
  ~RecordWriter() override;
  RecordWriter(const RecordWriter&) = delete;
  RecordWriter& operator=(const RecordWriter&) = delete;

  // Throws JournalError; the file then ends with its last whole record again, or, when even
  // that failed, broken() is true and nothing more can be appended.
  void append(RecordType type, std::string_view payload) override;
  void sync();  // fdatasync; throws JournalError
  uint64_t size() const { return size_; }
  bool broken() const { return broken_; }
  const std::string& path() const { return path_; }

 private:
  void write_fully(const ::iovec* parts, int count, uint64_t offset);

  std::string path_;
  int fd_ = -1;
  uint64_t size_ = 0;
  bool broken_ = false;
};

// Makes a rename or a new file in `directory` survive a crash. Throws JournalError.
void sync_directory(const std::string& directory);

// A whole file, mapped read-only. Throws JournalError when it cannot be read.
class MappedFile {
 public:
  explicit MappedFile(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  std::string_view bytes() const { return {static_cast<const char*>(data_), size_}; }

 private:
  void* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace timing_sidecar
