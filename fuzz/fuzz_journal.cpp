// libFuzzer target for the journal reader and the decoding of journaled inputs. Besides crashes
// and sanitizer reports, it checks what recovery relies on: records lie inside the file one after
// another, reading stops at the first damage and reports it where the valid prefix ends, and a
// decoded input encodes back to exactly its payload.
//
// An input whose first byte is odd is a whole file. Otherwise the rest is a list of records,
// each a type byte, a length byte and that many payload bytes, framed here behind a valid header
// with valid checksums (as journal.hpp documents them), so that the decoder is reached without
// the fuzzer having to forge CRCs.

#include <zlib.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "timing_sidecar/journal.hpp"

namespace {

using namespace timing_sidecar;

void require(bool condition) {
  if (!condition) std::abort();
}

void append_u32(std::string& out, uint32_t value) {
  out.append(reinterpret_cast<const char*>(&value), sizeof(value));
}

uint32_t crc_of(std::string_view bytes) {
  return static_cast<uint32_t>(
      crc32_z(0, reinterpret_cast<const Bytef*>(bytes.data()), bytes.size()));
}

std::string framed_file(std::string_view records) {
  std::string file = "TSIDECAR";
  append_u32(file, static_cast<uint32_t>(FileKind::kJournal));
  append_u32(file, 1);  // version
  const uint64_t generation = 1;
  file.append(reinterpret_cast<const char*>(&generation), sizeof(generation));
  append_u32(file, 0);
  append_u32(file, crc_of(file));
  while (records.size() >= 2) {
    const auto type = static_cast<uint8_t>(records[0]);
    const size_t length = std::min<size_t>(static_cast<uint8_t>(records[1]), records.size() - 2);
    std::string body;
    append_u32(body, static_cast<uint32_t>(length));
    body.push_back(static_cast<char>(type));
    body.append(records.substr(2, length));
    append_u32(file, crc_of(body));
    file += body;
    records.remove_prefix(2 + length);
  }
  return file;
}

std::string encoded(const JournalInput& input) {
  std::string payload;
  if (const auto* batch = std::get_if<EventsInput>(&input)) {
    encode_events(batch->source, batch->applied_at_ms, batch->feed_position, batch->events,
                  payload);
  } else if (const auto* listed = std::get_if<ListInput>(&input)) {
    encode_list(listed->applied_at_ms, listed->list, listed->condemned, listed->adopted_counts,
                payload);
  } else {
    encode_feed_position(std::get<FeedPosition>(input), payload);
  }
  return payload;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::string file = (data[0] & 1) != 0 ? std::string(rest) : framed_file(rest);

  RecordReader reader(file, FileKind::kJournal);
  uint64_t valid_end = reader.generation() ? kFileHeaderBytes : 0;
  while (std::optional<RecordView> record = reader.next()) {
    require(record->offset == valid_end);
    require(record->payload.data() == file.data() + record->offset + kRecordHeaderBytes);
    valid_end = record->offset + kRecordHeaderBytes + record->payload.size();
    require(valid_end <= file.size());
    if (const std::optional<JournalInput> input = decode_input(record->type, record->payload)) {
      require(encoded(*input) == record->payload);
    }
  }
  require(!reader.next());
  if (reader.damage()) {
    require(reader.damage()->offset == valid_end);
    require(!reader.damage()->reason.empty());
  } else {
    require(reader.generation() && valid_end == file.size());
  }
  return 0;
}
