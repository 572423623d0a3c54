#include "id_index.hpp"

#include <catch2/catch.hpp>
#include <cstdint>
#include <vector>

using namespace timing_sidecar;

namespace {

// Keys are record positions; `hash_of` decides which collide.
template <typename Hash>
IdIndex::Entry find(const IdIndex& index, uint32_t position, Hash hash_of) {
  return index.find(hash_of(position), [&](uint32_t candidate) { return candidate == position; });
}

uint64_t spread(uint32_t position) {
  return (uint64_t{position} + 1) * 0x9E3779B97F4A7C15;
}

}  // namespace

TEST_CASE("id index: finds what was inserted, and nothing else") {
  IdIndex index;
  index.reset(1000);
  for (uint32_t position = 0; position < 1000; ++position) {
    REQUIRE(index.has_room());
    index.insert(spread(position), position);
  }
  CHECK(index.size() == 1000);
  for (uint32_t position = 0; position < 1000; ++position) {
    CHECK(find(index, position, spread).position == position);
  }
  CHECK(find(index, 1000, spread).position == kNoNode);
  CHECK(find(index, 5000, spread).position == kNoNode);
}

TEST_CASE("id index: keys that share one hash are told apart by the caller's match") {
  const auto same = [](uint32_t) { return uint64_t{0x1234'5678'9ABC'DEF0}; };
  IdIndex index;
  index.reset(200);
  // 100 keys over one group of 12 slots: probes run through many groups.
  for (uint32_t position = 0; position < 100; ++position) index.insert(same(position), position);
  for (uint32_t position = 0; position < 100; ++position) {
    CHECK(find(index, position, same).position == position);
  }
  // Erasing the early ones leaves tombstones that keep the later ones reachable.
  for (uint32_t position = 0; position < 50; ++position) {
    const IdIndex::Entry entry = find(index, position, same);
    REQUIRE(entry.position == position);
    index.erase(entry);
  }
  CHECK(index.size() == 50);
  for (uint32_t position = 0; position < 50; ++position) {
    CHECK(find(index, position, same).position == kNoNode);
  }
  for (uint32_t position = 50; position < 100; ++position) {
    CHECK(find(index, position, same).position == position);
  }
  // Inserting again reuses the freed slots.
  for (uint32_t position = 0; position < 50; ++position) index.insert(same(position), position);
  CHECK(index.size() == 100);
  for (uint32_t position = 0; position < 100; ++position) {
    CHECK(find(index, position, same).position == position);
  }
}

TEST_CASE("id index: reset sizes for its entries and empties the index") {
  IdIndex index;
  CHECK(index.size() == 0);
  CHECK(index.has_room());
  index.reset(10'000);
  const size_t bytes = index.memory_bytes();
  for (uint32_t position = 0; position < 10'000; ++position) {
    REQUIRE(index.has_room());
    index.insert(spread(position), position);
  }
  CHECK(index.memory_bytes() == bytes);  // it never grows by itself
  index.reset(0);
  CHECK(index.size() == 0);
  CHECK(find(index, 17, spread).position == kNoNode);
  CHECK(index.memory_bytes() < bytes);
}

TEST_CASE("id index: has_room turns false at the load limit, counting tombstones") {
  IdIndex index;
  index.reset(0);  // one group: 12 slots, room for 10
  std::vector<uint32_t> inserted;
  for (uint32_t position = 0; index.has_room(); ++position) {
    index.insert(spread(position), position);
    inserted.push_back(position);
  }
  CHECK(inserted.size() == 10);
  index.erase(find(index, 0, spread));
  CHECK(index.size() == 9);
  // Two of the group's twelve slots were still empty, so the erased one became empty too rather
  // than a tombstone: there is room again.
  CHECK(index.has_room());
}
