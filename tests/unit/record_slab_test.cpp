#include "record_slab.hpp"

#include <catch2/catch.hpp>
#include <cstdint>
#include <set>
#include <string>

#include "pending_record.hpp"

using namespace timing_sidecar;

namespace {

std::string text_of(const EncodedId& encoded, std::string_view long_id = {}) {
  Record record{};
  record.id = encoded.bytes;
  record.id_form = encoded.form;
  char hex[kHexIdLength];
  return std::string(id_text(record, long_id, hex));
}

}  // namespace

TEST_CASE("pending record: ids are held in the form that fits them, and read back unchanged") {
  const std::string upper = "7F00000100002A9F0000000000000001";
  const std::string lower = "7f00000100002a9f0000000000000001";
  const std::string mixed = "7F00000100002a9f0000000000000001";
  const std::string short_id = "m1";
  const std::string sixteen(16, 'x');
  const std::string long_id(kMaxIdLength, 'y');
  CHECK(encode_id(upper).form == kHexUpper);
  CHECK(encode_id(lower).form == kHexLower);
  CHECK(encode_id(mixed).form == kOutOfLine);  // 32 bytes: too long to keep inline
  CHECK(encode_id(short_id).form == 2);
  CHECK(encode_id(sixteen).form == kMaxInlineLength);
  CHECK(encode_id(long_id).form == kOutOfLine);
  CHECK(encode_id(long_id).text == long_id);
  CHECK(text_of(encode_id(upper)) == upper);
  CHECK(text_of(encode_id(lower)) == lower);
  CHECK(text_of(encode_id(short_id)) == short_id);
  CHECK(text_of(encode_id(sixteen)) == sixteen);
  CHECK(text_of(encode_id(long_id), long_id) == long_id);
  // Inline ids are zero-padded, so that two encodings of one id compare equal byte for byte.
  CHECK(encode_id(short_id).bytes == EncodedId{2, {'m', '1'}, {}}.bytes);
}

TEST_CASE("pending record: the hash depends on the topic, the form and every byte of the id") {
  const EncodedId upper = encode_id("7F00000100002A9F0000000000000001");
  const EncodedId lower = encode_id("7f00000100002a9f0000000000000001");
  CHECK(upper.bytes == lower.bytes);
  const uint64_t base = hash_inline_id(1, upper.form, upper.bytes);
  CHECK(base == hash_inline_id(1, upper.form, encode_id("7F00000100002A9F0000000000000001").bytes));
  CHECK(base != hash_inline_id(2, upper.form, upper.bytes));
  CHECK(base != hash_inline_id(1, lower.form, lower.bytes));
  CHECK(base != hash_inline_id(1, upper.form, encode_id("7F00000100002A9F0000000000000002").bytes));
  const std::string long_id(100, 'z');
  std::string other = long_id;
  other[99] = 'y';
  CHECK(hash_out_of_line_id(1, long_id) == hash_out_of_line_id(1, std::string(100, 'z')));
  CHECK(hash_out_of_line_id(1, long_id) != hash_out_of_line_id(1, other));
  CHECK(hash_out_of_line_id(1, long_id) != hash_out_of_line_id(3, long_id));
}

TEST_CASE("record slab: records are handed out in order, freed ones first, and listed when live") {
  RecordSlab slab;
  for (uint32_t expected = 0; expected < 5; ++expected) {
    const uint32_t index = slab.allocate();
    CHECK(index == expected);
    slab[index].id_form = kHexUpper;
    slab[index].deliver_at_ms = 1000 + index;
  }
  slab.release(1);
  slab.release(3);
  CHECK(slab[3].id_form == kFreeRecord);
  std::set<uint32_t> live;
  slab.for_each_live([&](uint32_t index, const Record& record) {
    live.insert(index);
    CHECK(record.deliver_at_ms == 1000 + index);
  });
  CHECK(live == std::set<uint32_t>{0, 2, 4});
  // The last freed comes back first.
  CHECK(slab.allocate() == 3);
  CHECK(slab.allocate() == 1);
  CHECK(slab.allocate() == 5);
}

TEST_CASE("record slab: growing past a chunk keeps every record where it was") {
  RecordSlab slab;
  const uint32_t first = slab.allocate();
  slab[first].deliver_at_ms = 77;
  const Record* const address = &slab[first];
  const size_t one_chunk = slab.memory_bytes();
  uint32_t last = first;
  for (uint32_t i = 0; i < (uint32_t{1} << 17); ++i) last = slab.allocate();
  CHECK(last == uint32_t{1} << 17);
  CHECK(&slab[first] == address);
  CHECK(slab[first].deliver_at_ms == 77);
  CHECK(slab.memory_bytes() > one_chunk);
  slab.hook(last).next = 9;
  CHECK(slab[last].timer.next == 9);
}
