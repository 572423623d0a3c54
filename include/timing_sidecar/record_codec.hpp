#pragma once

// The framing of the state directory's files (journal.hpp, durability.hpp) as pure bytes: records
// and their payload fields encoded and decoded in memory, with no file I/O, so that the engine's
// snapshot (engine_snapshot.cpp) needs nothing but this.
//
// A file is a 32-byte header followed by records, integers little-endian:
//   header  magic "TSIDECAR" | kind u32 (1 journal, 2 snapshot) | version u32 (1) |
//           generation u64 | reserved u32 (0) | CRC-32 of the 28 bytes before it u32
//   record  CRC-32 u32 | length u32 | type u8 | payload (length bytes)
//           the CRC (zlib's CRC-32) covers the length, the type and the payload
// A record that runs past the end of the file is a torn tail; one whose CRC does not match is
// corrupt. Either way the reader stops there: the records before it are the valid prefix.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

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

// The header a file of `kind` starts with.
std::string file_header(FileKind kind, uint64_t generation);
// The header of a record of `type` that carries `payload`.
void record_header(RecordType type, std::string_view payload, char (&header)[kRecordHeaderBytes]);

// Where records go, in order: a file (RecordWriter, journal.hpp), or anything that keeps them.
class RecordSink {
 public:
  virtual ~RecordSink() = default;
  virtual void append(RecordType type, std::string_view payload) = 0;
};

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

// Reads the records of a whole file's bytes in order, stopping at the first damaged one.
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
