#include "timing_sidecar/strong_index.hpp"

#include <catch2/catch.hpp>
#include <type_traits>

#include "timing_sidecar/catalog.hpp"
#include "timing_sidecar/scheduler.hpp"
#include "timing_sidecar/series_store.hpp"

using namespace timing_sidecar;

// A topic's id and a series slot are both small integers; passing one for the other, or a bare
// integer for either, must not compile.
static_assert(!std::is_convertible_v<TopicId, SeriesSlot>);
static_assert(!std::is_convertible_v<SeriesSlot, TopicId>);
static_assert(!std::is_constructible_v<SeriesSlot, TopicId>);
static_assert(!std::is_constructible_v<TopicId, SeriesSlot>);
static_assert(!std::is_convertible_v<uint32_t, SeriesSlot>);
static_assert(!std::is_convertible_v<uint32_t, TopicId>);
static_assert(!std::is_convertible_v<SeriesSlot, uint32_t>);
static_assert(!std::is_invocable_v<decltype(&SeriesStore::remove), SeriesStore&, TopicId>);
static_assert(std::is_invocable_v<decltype(&SeriesStore::remove), SeriesStore&, SeriesSlot>);
static_assert(sizeof(SeriesSlot) == sizeof(uint32_t) && sizeof(TopicId) == sizeof(uint32_t));

TEST_CASE("strong index: a store's slots and its names' ids are numbered apart", "[series]") {
  auto names = std::make_shared<TopicNames>();
  const TopicId first = names->intern("first");
  const TopicId second = names->intern("second");
  SeriesStore store(names);
  // Series for the second name only: its slot is 0 while its id is not.
  const SeriesSlot slot = store.find_or_add(second);
  CHECK(slot == SeriesSlot(0));
  CHECK(second != first);
  CHECK(store.topic_of(slot) == second);
  CHECK(store.name(slot) == "second");
  CHECK_FALSE(store.find(first).has_value());
  CHECK(SeriesSlot(1) < SeriesSlot(2));
  CHECK_FALSE(SeriesSlot(2) < SeriesSlot(2));
}
