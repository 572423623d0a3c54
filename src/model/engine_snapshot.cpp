// The engine's state as snapshot records (record_codec.hpp's framing), written and read directly:
// recovery loads it without replaying the history that built it.
//
//   engine_state      list_epoch u32 | shards u32                                   (first)
//   then for each shard:
//   shard_start       position u64 (the caller's, see Engine::export_shard)
//   catalog_entries   count u32 × (name text | flags u8 (1 live, 2 deleted_revision a bound) |
//                     created_revision opt |
//                     deleted_revision opt | first_seen_revision opt | first_seen_ms i64 |
//                     deleted_ms i64 | list_epoch u32)
//   series            count u32 × (name text | enqueued u64 | dequeued u64 | unseen i64 |
//                     has_message_events u8), numbered within the shard in the order written
//   pending_messages  count u32 × (series number u32 | id | deliver_at_ms i64), the id as
//                     form u8: 1 = 32 upper-case hex digits, 2 = lower-case (16 bytes follow),
//                     0 = any other (length u8, bytes)
//   shard_end         catalog entries u64 | series u64 | pending messages u64
// Records of each kind hold about a megabyte.

#include <array>
#include <climits>
#include <cstring>
#include <mutex>
#include <stdexcept>

#include "engine_shard.hpp"
#include "hex_id.hpp"
#include "timing_sidecar/engine.hpp"
#include "timing_sidecar/record_codec.hpp"

namespace timing_sidecar {

namespace {

constexpr size_t kBlockBytes = size_t{1} << 20;
// A pending message's id form byte; the values are the snapshot format's.
enum SnapshotIdForm : uint8_t { kRawId = 0, kUpperHexId = 1, kLowerHexId = 2 };

// Items of one record type, cut into records of about kBlockBytes that start with their count.
class BlockWriter {
 public:
  BlockWriter(RecordSink& out, RecordType type) : out_(out), type_(type) { start(); }

  // The writer for one more item.
  PayloadWriter& item() {
    if (payload_.size() >= kBlockBytes) flush();
    ++count_;
    return writer_;
  }

  void flush() {
    if (count_ == 0) return;
    std::memcpy(payload_.data(), &count_, sizeof(count_));
    out_.append(type_, payload_);
    start();
  }

 private:
  void start() {
    payload_.assign(sizeof(count_), '\0');
    count_ = 0;
  }

  RecordSink& out_;
  RecordType type_;
  std::string payload_;
  PayloadWriter writer_{payload_};
  uint32_t count_ = 0;
};

// One pending message's item, built in place: ids are mostly RocketMQ's 32 hex digits, kept as
// the 16 bytes they spell. Returns its length.
size_t encode_message(uint32_t number, std::string_view id, int64_t deliver_at_ms, char* out) {
  char* next = out;
  std::memcpy(next, &number, sizeof(number));
  next += sizeof(number);
  HexIdBytes bytes{};
  if (const std::optional<HexCase> letter_case = decode_hex_id(id, bytes)) {
    *next++ = static_cast<char>(*letter_case == HexCase::kUpper ? kUpperHexId : kLowerHexId);
    std::memcpy(next, bytes.data(), bytes.size());
    next += bytes.size();
  } else {
    *next++ = static_cast<char>(kRawId);
    *next++ = static_cast<char>(id.size());
    std::memcpy(next, id.data(), id.size());
    next += id.size();
  }
  std::memcpy(next, &deliver_at_ms, sizeof(deliver_at_ms));
  return static_cast<size_t>(next - out) + sizeof(deliver_at_ms);
}

std::string_view read_id(PayloadReader& reader, char (&hex)[kHexIdLength]) {
  const uint8_t form = reader.u8();
  if (form == kRawId) return reader.raw(reader.u8());
  if (form != kUpperHexId && form != kLowerHexId) {
    throw std::runtime_error("snapshot: unknown message id form " + std::to_string(form));
  }
  HexIdBytes bytes{};
  const std::string_view stored = reader.raw(bytes.size());
  if (stored.size() != bytes.size()) return {};  // cut short: the reader says so
  std::memcpy(bytes.data(), stored.data(), bytes.size());
  return spell_hex_id(bytes, form == kUpperHexId ? HexCase::kUpper : HexCase::kLower, hex);
}

// A catalog entry's flags byte.
constexpr uint8_t kLiveBit = 1;
constexpr uint8_t kBoundBit = 2;  // the deletion is only known to be newer than its revision

void write_entry(PayloadWriter& writer, std::string_view name, const Catalog::Entry& entry) {
  writer.text(name);
  writer.u8((entry.live() ? kLiveBit : 0) | (entry.deleted_revision_is_bound() ? kBoundBit : 0));
  writer.optional_i64(entry.created_revision());
  writer.optional_i64(entry.deleted_revision());
  writer.optional_i64(entry.first_seen_revision());
  writer.i64(entry.first_seen_ms());
  writer.i64(entry.deleted_ms());
  writer.u32(entry.list_epoch());
}

Catalog::SavedEntry read_entry(PayloadReader& reader) {
  Catalog::SavedEntry saved;
  const uint8_t flags = reader.u8();
  saved.live = (flags & kLiveBit) != 0;
  saved.deleted_revision_is_bound = (flags & kBoundBit) != 0;
  saved.created_revision = reader.optional_i64();
  saved.deleted_revision = reader.optional_i64();
  saved.first_seen_revision = reader.optional_i64();
  saved.first_seen_ms = reader.i64();
  saved.deleted_ms = reader.i64();
  saved.list_epoch = reader.u32();
  return saved;
}

std::runtime_error unreadable(const RecordView& record) {
  return std::runtime_error("snapshot: a record of type " +
                            std::to_string(static_cast<int>(record.type)) +
                            " cannot be read at byte " + std::to_string(record.offset));
}

}  // namespace

void Engine::export_header(RecordSink& out) const {
  std::string payload;
  PayloadWriter writer(payload);
  writer.u32(list_epoch_);
  writer.u32(kShardCount);
  out.append(RecordType::kEngineState, payload);
}

void Engine::export_shard(size_t index, uint64_t position, RecordSink& out) const {
  std::string start;
  PayloadWriter(start).u64(position);
  out.append(RecordType::kShardStart, start);

  const Shard& shard = *shards_[index];
  std::lock_guard lock(shard.mutex);
  uint64_t entries = 0;
  BlockWriter entry_blocks(out, RecordType::kCatalogEntries);
  shard.catalog.for_each([&](std::string_view name, const Catalog::Entry& entry) {
    write_entry(entry_blocks.item(), name, entry);
    ++entries;
  });
  entry_blocks.flush();

  // Series of topics that are no longer live go at the next reconcile: they are left out.
  constexpr uint32_t kNotWritten = UINT32_MAX;
  std::vector<uint32_t> number_of_slot;
  uint32_t series = 0;
  BlockWriter series_blocks(out, RecordType::kSeries);
  shard.store.for_each([&](SeriesSlot slot, const TopicSeries& values) {
    if (slot.value >= number_of_slot.size()) number_of_slot.resize(slot.value + 1, kNotWritten);
    if (!shard.catalog.is_live(shard.store.topic_of(slot))) return;
    number_of_slot[slot.value] = series++;
    PayloadWriter& item = series_blocks.item();
    item.text(shard.store.name(slot));
    item.u64(values.enqueued);
    item.u64(values.dequeued);
    item.i64(values.unseen);
    item.u8(values.has_message_events ? 1 : 0);
  });
  series_blocks.flush();

  uint64_t pending = 0;
  BlockWriter pending_blocks(out, RecordType::kPendingMessages);
  char message[sizeof(uint32_t) + 2 + kMaxMessageIdLength + sizeof(int64_t)];
  shard.scheduler.for_each_pending([&](SeriesSlot slot, std::string_view id, int64_t deliver_at) {
    if (slot.value >= number_of_slot.size() || number_of_slot[slot.value] == kNotWritten) return;
    pending_blocks.item().raw(
        {message, encode_message(number_of_slot[slot.value], id, deliver_at, message)});
    ++pending;
  });
  pending_blocks.flush();

  std::string end;
  PayloadWriter end_writer(end);
  end_writer.u64(entries);
  end_writer.u64(series);
  end_writer.u64(pending);
  out.append(RecordType::kShardEnd, end);
}

void Engine::import_state(
    RecordReader& in,
    const std::function<void(std::string_view topic, uint64_t position)>& restored) {
  std::optional<RecordView> record = in.next();
  if (!record || record->type != RecordType::kEngineState) {
    throw std::runtime_error("snapshot: the engine's state does not begin where expected");
  }
  PayloadReader header(record->payload);
  list_epoch_ = header.u32();
  const uint32_t shards = header.u32();
  if (!header.at_end()) throw unreadable(*record);

  struct SeriesPlace {
    Shard* shard;
    SeriesSlot slot;
  };
  std::vector<SeriesPlace> series_places;  // of the shard being read, by number
  uint64_t position = 0;
  uint64_t entries = 0;
  uint64_t pending = 0;
  const int64_t now_ms = clock_.now_ms();
  // The filters may have changed since the snapshot: a topic they now refuse is left out whole
  // (its entry, tombstone, series and messages), as if never seen.
  const auto tracks = [this](std::string_view name) {
    return !config_.filter || config_.filter->admits(name);
  };
  for (uint32_t ended = 0; ended < shards;) {
    record = in.next();
    if (!record) break;
    PayloadReader reader(record->payload);
    switch (record->type) {
      case RecordType::kShardStart:
        position = reader.u64();
        series_places.clear();
        entries = 0;
        pending = 0;
        break;
      case RecordType::kCatalogEntries:
        for (uint32_t count = reader.u32(); count > 0 && reader.ok(); --count) {
          const std::string name(reader.text());
          const Catalog::SavedEntry saved = read_entry(reader);
          if (!reader.ok()) break;
          ++entries;
          if (!tracks(name)) continue;
          Shard& shard = shard_for(name);
          std::lock_guard lock(shard.mutex);
          shard.catalog.restore(name, saved);
          restored(name, position);
        }
        break;
      case RecordType::kSeries:
        for (uint32_t count = reader.u32(); count > 0 && reader.ok(); --count) {
          const std::string_view name = reader.text();
          const uint64_t enqueued = reader.u64();
          const uint64_t dequeued = reader.u64();
          const int64_t unseen = reader.i64();
          const bool has_message_events = reader.u8() == 1;
          if (!reader.ok()) break;
          if (!tracks(name)) {
            // Its pending messages are dropped too.
            series_places.push_back({nullptr, SeriesSlot()});
            continue;
          }
          Shard& shard = shard_for(name);
          std::lock_guard lock(shard.mutex);
          const SeriesSlot slot = add_series(shard, shard.names->intern(name));
          TopicSeries& series = shard.store.at(slot);
          series.enqueued = enqueued;
          series.dequeued = dequeued;
          series.unseen = static_cast<int32_t>(unseen);
          series.has_message_events = has_message_events;
          series_places.push_back({&shard, slot});
        }
        break;
      case RecordType::kPendingMessages: {
        // A record's messages mostly share a shard: its lock is kept while they do.
        std::unique_lock<std::mutex> lock;
        char hex[kHexIdLength];
        for (uint32_t count = reader.u32(); count > 0 && reader.ok(); --count) {
          const uint32_t number = reader.u32();
          const std::string_view id = read_id(reader, hex);
          const int64_t deliver_at_ms = reader.i64();
          if (!reader.ok()) break;
          if (number >= series_places.size()) {
            throw std::runtime_error("snapshot: a pending message of an unknown series");
          }
          const SeriesPlace& place = series_places[number];
          ++pending;
          if (place.shard == nullptr) continue;
          if (lock.mutex() != &place.shard->mutex) lock = std::unique_lock(place.shard->mutex);
          place.shard->scheduler.enqueue(place.slot, id, deliver_at_ms, now_ms, place.shard->store);
        }
        break;
      }
      case RecordType::kShardEnd:
        if (reader.u64() != entries || reader.u64() != series_places.size() ||
            reader.u64() != pending) {
          throw std::runtime_error("snapshot: a shard's state is incomplete");
        }
        ++ended;
        break;
      default:
        throw unreadable(*record);
    }
    if (!reader.at_end()) throw unreadable(*record);
  }
  if (!record) {
    throw std::runtime_error("snapshot: the engine's state ends early" +
                             (in.damage() ? " (" + in.damage()->reason + " at byte " +
                                                std::to_string(in.damage()->offset) + ")"
                                          : std::string()));
  }
}

}  // namespace timing_sidecar
