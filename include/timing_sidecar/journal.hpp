#pragma once

// The on-disk format of the state directory (durability.hpp): one framing for the journal and the
// snapshot, the journal's records, and their reader and writer. Files only, no policy.
//
// A file is a 32-byte header followed by records, integers little-endian:
//   header  magic "TSIDECAR" | kind u32 (1 journal, 2 snapshot) | version u32 (1) |
//           generation u64 | reserved u32 (0) | CRC-32 of the 28 bytes before it u32
//   record  CRC-32 u32 | length u32 | type u8 | payload (length bytes)
//           the CRC (zlib's CRC-32) covers the length, the type and the payload
// A record that runs past the end of the file is a torn tail; one whose CRC does not match is
// corrupt. Either way the reader stops there: the records before it are the valid prefix.
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

struct iovec;

namespace timing_sidecar {

enum class FileKind : uint32_t { kJournal = 1, kSnapshot = 2 };

enum class RecordType : uint8_t {
  // The journal: inputs in the order they were applied.
  kEvents = 1,
  kList = 2,
  kFeedPosition = 3,
  // The snapshot: the engine's state (engine_snapshot.cpp).
  kEngineState = 16,
  kShardStart = 17,
  kCatalogEntries = 18,
  kSeries = 19,
  kPendingMessages = 20,
  kShardEnd = 21,
};

inline constexpr size_t kFileHeaderBytes = 32;
inline constexpr size_t kRecordHeaderBytes = 9;

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

// Appends little-endian fields to a payload.
class PayloadWriter {
 public:
  explicit PayloadWriter(std::string& out) : out_(out) {}
  void u8(uint8_t value) { out_.push_back(static_cast<char>(value)); }
  void u32(uint32_t value);
  void u64(uint64_t value);
  void i64(int64_t value) { u64(static_cast<uint64_t>(value)); }
  void text(std::string_view value);
  void optional_i64(const std::optional<int64_t>& value);
  void raw(std::string_view bytes) { out_.append(bytes); }

 private:
  std::string& out_;
};

// Reads what PayloadWriter wrote. A read past the end returns zero or empty and leaves ok()
// false for good, so that a decoder reads a whole payload and checks once.
class PayloadReader {
 public:
  explicit PayloadReader(std::string_view payload) : rest_(payload) {}
  uint8_t u8();
  uint32_t u32();
  uint64_t u64();
  int64_t i64() { return static_cast<int64_t>(u64()); }
  std::string_view text();
  std::optional<int64_t> optional_i64();
  std::string_view raw(size_t bytes);
  bool ok() const { return ok_; }
  bool at_end() const { return ok_ && rest_.empty(); }

 private:
  std::string_view rest_;
  bool ok_ = true;
};

// Appends records to a new file, each with one write, so that a record written survives a crash
// of the process; sync() makes it survive a crash of the machine. Not thread-safe.
class RecordWriter {
 public:
  // Creates `path`, which must not exist, and writes the header. Throws JournalError.
  RecordWriter(const std::string& path, FileKind kind, uint64_t generation);
  ~RecordWriter();
  RecordWriter(const RecordWriter&) = delete;
  RecordWriter& operator=(const RecordWriter&) = delete;

  // Throws JournalError; the file then ends with its last whole record again, or, when even
  // that failed, broken() is true and nothing more can be appended.
  void append(RecordType type, std::string_view payload);
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

struct RecordView {
  RecordType type;
  std::string_view payload;
  uint64_t offset = 0;  // of the record's header in the file
};

// Where the valid prefix of a file ends, and why.
struct Damage {
  uint64_t offset = 0;
  std::string reason;
};

// Reads the records of a whole file in order, stopping at the first damaged one.
class RecordReader {
 public:
  RecordReader(std::string_view file, FileKind kind);

  // The generation the header names; nullopt when the header itself is damaged.
  std::optional<uint64_t> generation() const { return generation_; }
  // The next record; nullopt at the end of the file or of its valid prefix.
  std::optional<RecordView> next();
  // Set once next() met damage instead of the end of the file.
  const std::optional<Damage>& damage() const { return damage_; }
  // Marks the record just read as damaged after all (e.g. it could not be decoded).
  void reject(const RecordView& record, std::string reason);

 private:
  std::string_view file_;
  uint64_t offset_ = 0;
  std::optional<uint64_t> generation_;
  std::optional<Damage> damage_;
};

}  // namespace timing_sidecar
