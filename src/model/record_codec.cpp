#include "timing_sidecar/record_codec.hpp"

#include <zlib.h>

#include <cstring>

namespace timing_sidecar {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the format is written as in memory");

namespace {

constexpr std::string_view kMagic = "TSIDECAR";
constexpr uint32_t kFormatVersion = 1;

uint32_t crc_of(std::string_view bytes, uint32_t crc = 0) {
  return static_cast<uint32_t>(
      crc32_z(crc, reinterpret_cast<const Bytef*>(bytes.data()), bytes.size()));
}

uint32_t load_u32(const char* bytes) {
  uint32_t value;
  std::memcpy(&value, bytes, sizeof(value));
  return value;
}

}  // namespace

std::string file_header(FileKind kind, uint64_t generation) {
  std::string header;
  PayloadWriter writer(header);
  writer.raw(kMagic);
  writer.u32(static_cast<uint32_t>(kind));
  writer.u32(kFormatVersion);
  writer.u64(generation);
  writer.u32(0);
  writer.u32(crc_of(header));
  return header;
}

void record_header(RecordType type, std::string_view payload, char (&header)[kRecordHeaderBytes]) {
  const uint32_t length = static_cast<uint32_t>(payload.size());
  std::memcpy(header + 4, &length, sizeof(length));
  header[8] = static_cast<char>(type);
  const uint32_t crc = crc_of(payload, crc_of({header + 4, 5}));
  std::memcpy(header, &crc, sizeof(crc));
}

void PayloadWriter::u32(uint32_t value) {
  out_.append(reinterpret_cast<const char*>(&value), sizeof(value));
}

void PayloadWriter::u64(uint64_t value) {
  out_.append(reinterpret_cast<const char*>(&value), sizeof(value));
}

void PayloadWriter::text(std::string_view value) {
  u32(static_cast<uint32_t>(value.size()));
  out_.append(value);
}

void PayloadWriter::optional_i64(const std::optional<int64_t>& value) {
  u8(value ? 1 : 0);
  if (value) i64(*value);
}

std::string_view PayloadReader::raw(size_t bytes) {
  if (!ok_ || rest_.size() < bytes) {
    ok_ = false;
    return {};
  }
  const std::string_view taken = rest_.substr(0, bytes);
  rest_.remove_prefix(bytes);
  return taken;
}

uint8_t PayloadReader::u8() {
  const std::string_view bytes = raw(1);
  return bytes.empty() ? 0 : static_cast<uint8_t>(bytes[0]);
}

uint32_t PayloadReader::u32() {
  const std::string_view bytes = raw(sizeof(uint32_t));
  return bytes.empty() ? 0 : load_u32(bytes.data());
}

uint64_t PayloadReader::u64() {
  const std::string_view bytes = raw(sizeof(uint64_t));
  uint64_t value = 0;
  if (!bytes.empty()) std::memcpy(&value, bytes.data(), sizeof(value));
  return value;
}

std::string_view PayloadReader::text() {
  return raw(u32());
}

std::optional<int64_t> PayloadReader::optional_i64() {
  const uint8_t present = u8();
  if (present > 1) ok_ = false;
  if (present != 1) return std::nullopt;
  return i64();
}

RecordReader::RecordReader(std::string_view file, FileKind kind) : file_(file) {
  if (file.size() < kFileHeaderBytes) {
    damage_ = Damage{0, "the file header is incomplete"};
    return;
  }
  PayloadReader header(file.substr(0, kFileHeaderBytes));
  const std::string_view magic = header.raw(kMagic.size());
  const uint32_t file_kind = header.u32();
  const uint32_t version = header.u32();
  const uint64_t generation = header.u64();
  header.u32();  // reserved
  const uint32_t crc = header.u32();
  if (magic != kMagic || crc != crc_of(file.substr(0, kFileHeaderBytes - 4))) {
    damage_ = Damage{0, "the file header is damaged"};
  } else if (file_kind != static_cast<uint32_t>(kind)) {
    damage_ =
        Damage{0, "not a " + std::string(kind == FileKind::kJournal ? "journal" : "snapshot")};
  } else if (version != kFormatVersion) {
    damage_ = Damage{0, "format version " + std::to_string(version) + " is not supported"};
  } else {
    generation_ = generation;
    offset_ = kFileHeaderBytes;
  }
}

std::optional<RecordView> RecordReader::next() {
  if (damage_ || offset_ == file_.size()) return std::nullopt;
  const std::string_view rest = file_.substr(offset_);
  if (rest.size() < kRecordHeaderBytes) {
    damage_ = Damage{offset_, "torn record header"};
    return std::nullopt;
  }
  const uint32_t crc = load_u32(rest.data());
  const uint32_t length = load_u32(rest.data() + 4);
  if (length > rest.size() - kRecordHeaderBytes) {
    damage_ = Damage{offset_, "record runs past the end of the file (torn tail)"};
    return std::nullopt;
  }
  if (crc != crc_of(rest.substr(4, 5 + size_t{length}))) {
    damage_ = Damage{offset_, "checksum mismatch"};
    return std::nullopt;
  }
  RecordView record{static_cast<RecordType>(static_cast<uint8_t>(rest[8])),
                    rest.substr(kRecordHeaderBytes, length), offset_};
  offset_ += kRecordHeaderBytes + length;
  return record;
}

void RecordReader::reject(const RecordView& record, std::string reason) {
  damage_ = Damage{record.offset, std::move(reason)};
}

}  // namespace timing_sidecar
