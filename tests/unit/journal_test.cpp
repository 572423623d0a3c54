#include "timing_sidecar/journal.hpp"

#include <catch2/catch.hpp>
#include <cstring>

#include "integration/process.hpp"

using namespace timing_sidecar;
using test_support::read_file;
using test_support::TempDir;

namespace {

Event event(EventType type, const std::string& topic, const std::string& id = "",
            std::optional<int64_t> revision = {}) {
  Event e;
  e.type = type;
  e.topic = topic;
  e.id = id;
  e.deliver_at_ms = type == EventType::kTimerEnqueued ? 1'800'000'060'000 : 0;
  e.revision = revision;
  return e;
}

bool same_events(const std::vector<Event>& a, const std::vector<Event>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].type != b[i].type || a[i].topic != b[i].topic || a[i].id != b[i].id ||
        a[i].deliver_at_ms != b[i].deliver_at_ms || a[i].revision != b[i].revision ||
        a[i].message_type != b[i].message_type) {
      return false;
    }
  }
  return true;
}

// A journal of `count` event records; returns the file's bytes and each record's offset.
std::string write_journal(const TempDir& dir, int count, std::vector<uint64_t>& offsets) {
  const std::string path = dir.file("journal");
  {
    RecordWriter writer(path, FileKind::kJournal, 7);
    for (int i = 0; i < count; ++i) {
      offsets.push_back(writer.size());
      std::string payload;
      encode_events(EventSource::kWebhook, 1'800'000'000'000 + i, std::nullopt,
                    {event(EventType::kTimerEnqueued, "T" + std::to_string(i), "id")}, payload);
      writer.append(RecordType::kEvents, payload);
    }
  }
  return read_file(path);
}

struct ReadResult {
  std::vector<uint64_t> offsets;
  std::optional<Damage> damage;
};

ReadResult read_all(std::string_view file) {
  ReadResult result;
  RecordReader reader(file, FileKind::kJournal);
  while (std::optional<RecordView> record = reader.next()) {
    REQUIRE(decode_input(record->type, record->payload));
    result.offsets.push_back(record->offset);
  }
  result.damage = reader.damage();
  return result;
}

std::vector<uint64_t> first(const std::vector<uint64_t>& offsets, size_t count) {
  return {offsets.begin(), offsets.begin() + static_cast<std::ptrdiff_t>(count)};
}

}  // namespace

TEST_CASE("journal: every kind of input survives encoding", "[journal]") {
  SECTION("events, with and without revisions and a feed position") {
    std::vector<Event> events = {event(EventType::kTopicCreated, "orders", "", 41),
                                 event(EventType::kTimerEnqueued, "orders", std::string(128, 'x')),
                                 event(EventType::kTimerDequeued, "orders", "a", 43),
                                 event(EventType::kTimerCancelled, "%RETRY%g", "b"),
                                 event(EventType::kTopicDeleted, "orders", "", 44)};
    events[0].message_type = "DELAY";
    const FeedPosition position{1234, 99};
    std::string payload;
    encode_events(EventSource::kFeed, 1'800'000'000'123, position, events, payload);
    const auto input = decode_input(RecordType::kEvents, payload);
    REQUIRE(input);
    const auto& decoded = std::get<EventsInput>(*input);
    CHECK(decoded.source == EventSource::kFeed);
    CHECK(decoded.applied_at_ms == 1'800'000'000'123);
    CHECK(decoded.feed_position == std::optional<FeedPosition>(position));
    CHECK(same_events(decoded.events, events));
  }
  SECTION("a list with what it condemned") {
    TopicList list{{std::nullopt, 1'800'000'000'000}, {{"a", 3}, {"b", std::nullopt}}};
    std::string payload;
    encode_list(1'800'000'000'500, list, {"c", "d"}, true, payload);
    const auto input = decode_input(RecordType::kList, payload);
    REQUIRE(input);
    const auto& decoded = std::get<ListInput>(*input);
    CHECK(decoded.applied_at_ms == 1'800'000'000'500);
    CHECK_FALSE(decoded.list.stamp.revision);
    CHECK(decoded.list.stamp.requested_at_ms == 1'800'000'000'000);
    REQUIRE(decoded.list.topics.size() == 2);
    CHECK(decoded.list.topics[0].name == "a");
    CHECK(decoded.list.topics[0].timing == std::optional<int64_t>(3));
    CHECK_FALSE(decoded.list.topics[1].timing);
    CHECK(decoded.condemned == std::vector<std::string>{"c", "d"});
    CHECK(decoded.adopted_counts);
  }
  SECTION("a feed position") {
    std::string payload;
    encode_feed_position({77, -5}, payload);
    const auto input = decode_input(RecordType::kFeedPosition, payload);
    REQUIRE(input);
    CHECK(std::get<FeedPosition>(*input) == FeedPosition{77, -5});
  }
}

TEST_CASE("journal: a payload that is not one whole input is refused", "[journal]") {
  std::string payload;
  encode_events(EventSource::kWebhook, 1, std::nullopt, {event(EventType::kTopicCreated, "T")},
                payload);
  CHECK_FALSE(decode_input(RecordType::kEvents, payload + "x"));
  CHECK_FALSE(decode_input(RecordType::kEvents, payload.substr(0, payload.size() - 1)));
  CHECK_FALSE(decode_input(RecordType::kList, payload));
  CHECK_FALSE(decode_input(RecordType::kSeries, payload));
  std::string bad_source = payload;
  bad_source[0] = 9;
  CHECK_FALSE(decode_input(RecordType::kEvents, bad_source));
}

TEST_CASE("journal: every event type and source of the lists is stored, and no other",
          "[journal]") {
  for (const EventSourceInfo& source : kEventSources) {
    for (const EventTypeInfo& type : kEventTypes) {
      CAPTURE(source.name, type.name);
      const std::vector<Event> events = {event(type.type, "T", "m")};
      std::string payload;
      encode_events(source.source, 1, std::nullopt, events, payload);
      const auto input = decode_input(RecordType::kEvents, payload);
      REQUIRE(input);
      CHECK(std::get<EventsInput>(*input).source == source.source);
      CHECK(same_events(std::get<EventsInput>(*input).events, events));
    }
  }
  // The payload starts: source u8 | applied_at_ms i64 | has_feed_position u8 | count u32 | type u8.
  std::string payload;
  encode_events(EventSource::kWebhook, 1, std::nullopt, {event(EventType::kTopicCreated, "T")},
                payload);
  constexpr size_t kTypeOffset = 1 + 8 + 1 + 4;
  std::string last_type = payload;
  last_type[kTypeOffset] = static_cast<char>(kEventTypes.size() - 1);
  CHECK(decode_input(RecordType::kEvents, last_type));
  std::string past_type = payload;
  past_type[kTypeOffset] = static_cast<char>(kEventTypes.size());
  CHECK_FALSE(decode_input(RecordType::kEvents, past_type));
  std::string past_source = payload;
  past_source[0] = static_cast<char>(kEventSources.size());
  CHECK_FALSE(decode_input(RecordType::kEvents, past_source));
}

TEST_CASE("journal: records come back in order with their offsets", "[journal]") {
  TempDir dir("journal-test");
  std::vector<uint64_t> offsets;
  const std::string file = write_journal(dir, 5, offsets);
  RecordReader reader(file, FileKind::kJournal);
  CHECK(reader.generation() == std::optional<uint64_t>(7));
  const ReadResult result = read_all(file);
  CHECK(result.offsets == offsets);
  CHECK_FALSE(result.damage);
  CHECK(offsets.front() == kFileHeaderBytes);
}

TEST_CASE("journal: a torn tail leaves the valid prefix and says where it ends", "[journal]") {
  TempDir dir("journal-test");
  std::vector<uint64_t> offsets;
  const std::string file = write_journal(dir, 4, offsets);
  // Every cut inside the last record, from within its header to one byte short of its end.
  for (size_t cut = offsets.back() + 1; cut < file.size(); ++cut) {
    const ReadResult result = read_all(std::string_view(file).substr(0, cut));
    CHECK(result.offsets == first(offsets, 3));
    REQUIRE(result.damage);
    CHECK(result.damage->offset == offsets.back());
  }
  // A cut at a record boundary is a clean end.
  const ReadResult clean = read_all(std::string_view(file).substr(0, offsets.back()));
  CHECK(clean.offsets == first(offsets, 3));
  CHECK_FALSE(clean.damage);
}

TEST_CASE("journal: a flipped byte stops the reader at the record that holds it", "[journal]") {
  TempDir dir("journal-test");
  std::vector<uint64_t> offsets;
  const std::string file = write_journal(dir, 4, offsets);
  for (size_t position = kFileHeaderBytes; position < file.size(); ++position) {
    std::string damaged = file;
    damaged[position] = static_cast<char>(damaged[position] ^ 0x10);
    size_t holder = 0;
    while (holder + 1 < offsets.size() && offsets[holder + 1] <= position) ++holder;
    const ReadResult result = read_all(damaged);
    INFO("flipped byte " << position << " of record " << holder);
    CHECK(result.offsets == first(offsets, holder));
    REQUIRE(result.damage);
    CHECK(result.damage->offset == offsets[holder]);
  }
}

TEST_CASE("journal: a zero-filled tail is damage, not records", "[journal]") {
  TempDir dir("journal-test");
  std::vector<uint64_t> offsets;
  const std::string file = write_journal(dir, 2, offsets);
  // What some file systems leave after a crash: the size grew, the data never came.
  const ReadResult result = read_all(file + std::string(4096, '\0'));
  CHECK(result.offsets == offsets);
  REQUIRE(result.damage);
  CHECK(result.damage->offset == file.size());
}

TEST_CASE("journal: the header must name a journal of this format", "[journal]") {
  TempDir dir("journal-test");
  std::vector<uint64_t> offsets;
  const std::string file = write_journal(dir, 1, offsets);
  CHECK_FALSE(RecordReader(file, FileKind::kSnapshot).generation());
  CHECK_FALSE(RecordReader(file.substr(0, kFileHeaderBytes - 1), FileKind::kJournal).generation());
  for (size_t position = 0; position < kFileHeaderBytes; ++position) {
    std::string damaged = file;
    damaged[position] = static_cast<char>(damaged[position] ^ 0x01);
    RecordReader reader(damaged, FileKind::kJournal);
    CHECK_FALSE(reader.generation());
    CHECK_FALSE(reader.next());
    REQUIRE(reader.damage());
    CHECK(reader.damage()->offset == 0);
  }
}

TEST_CASE("journal: a writer never replaces an existing file", "[journal]") {
  TempDir dir("journal-test");
  const std::string path = dir.file("journal");
  { RecordWriter first(path, FileKind::kJournal, 1); }
  CHECK_THROWS_AS(RecordWriter(path, FileKind::kJournal, 2), JournalError);
  CHECK(RecordReader(read_file(path), FileKind::kJournal).generation() ==
        std::optional<uint64_t>(1));
}
