#include "timing_sidecar/events.hpp"

#include <catch2/catch.hpp>
#include <cstdint>
#include <limits>
#include <string>
#include <variant>

using namespace timing_sidecar;

namespace {

constexpr int64_t kNowMs = 1'700'000'000'000;
constexpr int64_t kMaxDelayMs = 3LL * 24 * 3600 * 1000;
constexpr int64_t kClockSlackMs = 1000;
constexpr int64_t kLatestAcceptedMs = kNowMs + kMaxDelayMs + kClockSlackMs;

EventLimits test_limits() {
  EventLimits limits;
  limits.now_ms = kNowMs;
  limits.max_delay_ms = kMaxDelayMs;
  limits.clock_slack_ms = kClockSlackMs;
  return limits;
}

std::vector<Event> parse_valid(const std::string& body, const EventLimits& limits = test_limits()) {
  ParseResult result = parse_events(body, limits);
  if (const auto* error = std::get_if<EventError>(&result)) {
    FAIL("unexpected rejection of " << body << ": " << error->reason << ": " << error->message);
  }
  return std::get<std::vector<Event>>(std::move(result));
}

EventError parse_invalid(const std::string& body, const EventLimits& limits = test_limits()) {
  ParseResult result = parse_events(body, limits);
  if (const auto* events = std::get_if<std::vector<Event>>(&result)) {
    FAIL("unexpected acceptance of " << body << " (" << events->size() << " events)");
  }
  return std::get<EventError>(std::move(result));
}

std::string enqueued(const std::string& topic, const std::string& id, int64_t deliver_at_ms) {
  return R"({"type":"timer.enqueued","topic":")" + topic + R"(","id":")" + id +
         R"(","deliverAtMs":)" + std::to_string(deliver_at_ms) + "}";
}

std::string enqueued_at(const std::string& deliver_at_literal) {
  return R"({"type":"timer.enqueued","topic":"T","id":"m1","deliverAtMs":)" + deliver_at_literal +
         "}";
}

std::string with_revision(const std::string& revision_literal) {
  return R"({"type":"topic.deleted","topic":"T","revision":)" + revision_literal + "}";
}

bool is_printable_ascii(const std::string& text) {
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte >= 0x7f) return false;
  }
  return true;
}

}  // namespace

TEST_CASE("events: a single event object is one event") {
  const auto events = parse_valid(R"({"type":"topic.deleted","topic":"orders"})");
  REQUIRE(events.size() == 1);
  CHECK(events[0].type == EventType::kTopicDeleted);
  CHECK(events[0].topic == "orders");
}

TEST_CASE("events: an array of events keeps their order") {
  const auto events = parse_valid("[" + enqueued("A", "m1", kNowMs) + "," +
                                  R"({"type":"timer.dequeued","topic":"B","id":"m2"})" + "]");
  REQUIRE(events.size() == 2);
  CHECK(events[0].type == EventType::kTimerEnqueued);
  CHECK(events[0].topic == "A");
  CHECK(events[1].type == EventType::kTimerDequeued);
  CHECK(events[1].topic == "B");
}

TEST_CASE("events: the {\"events\": [...]} wrapper") {
  const auto events = parse_valid(R"({"events":[{"type":"topic.created","topic":"A"},)"
                                  R"({"type":"topic.deleted","topic":"B"}],"source":"broker-1"})");
  REQUIRE(events.size() == 2);
  CHECK(events[0].type == EventType::kTopicCreated);
  CHECK(events[1].topic == "B");
}

TEST_CASE("events: an event carrying an unknown \"events\" field is still a lone event") {
  const auto events = parse_valid(R"({"type":"topic.deleted","topic":"A","events":42})");
  REQUIRE(events.size() == 1);
  CHECK(events[0].topic == "A");
}

TEST_CASE("events: an empty array is zero events") {
  CHECK(parse_valid("[]").empty());
  CHECK(parse_valid(" [ ] \n").empty());
  CHECK(parse_valid(R"({"events":[]})").empty());
}

TEST_CASE("events: topic.created with and without a message type") {
  const auto events = parse_valid(R"([{"type":"topic.created","topic":"A","messageType":"DELAY"},)"
                                  R"({"type":"topic.created","topic":"B"}])");
  REQUIRE(events.size() == 2);
  CHECK(events[0].type == EventType::kTopicCreated);
  CHECK(events[0].message_type == "DELAY");
  CHECK(events[1].message_type.empty());
  CHECK_FALSE(events[1].revision.has_value());
}

TEST_CASE("events: timer.enqueued carries id and delivery time") {
  const auto events = parse_valid(enqueued("%RETRY%group", "7F0000010001", kNowMs + 5000));
  REQUIRE(events.size() == 1);
  CHECK(events[0].type == EventType::kTimerEnqueued);
  CHECK(events[0].topic == "%RETRY%group");
  CHECK(events[0].id == "7F0000010001");
  CHECK(events[0].deliver_at_ms == kNowMs + 5000);
}

TEST_CASE("events: timer.dequeued and timer.cancelled carry an id and need no delivery time") {
  const auto events = parse_valid(R"([{"type":"timer.dequeued","topic":"A","id":"m1"},)"
                                  R"({"type":"timer.cancelled","topic":"A","id":"m2"}])");
  REQUIRE(events.size() == 2);
  CHECK(events[0].type == EventType::kTimerDequeued);
  CHECK(events[0].id == "m1");
  CHECK(events[1].type == EventType::kTimerCancelled);
  CHECK(events[1].id == "m2");
}

TEST_CASE("events: unknown fields and fields of other event types are ignored") {
  const auto events = parse_valid(
      R"({"type":"timer.dequeued","topic":"A","id":"m1","deliverAtMs":"soon","messageType":7,)"
      R"("future":{"nested":[1,2.5,null]}})");
  REQUIRE(events.size() == 1);
  CHECK(events[0].deliver_at_ms == 0);
  CHECK(events[0].message_type.empty());
}

TEST_CASE("events: to_string(EventType) round-trips through the parser") {
  for (const EventType type :
       {EventType::kTopicCreated, EventType::kTopicDeleted, EventType::kTimerEnqueued,
        EventType::kTimerDequeued, EventType::kTimerCancelled}) {
    const std::string body = R"({"type":")" + std::string(to_string(type)) +
                             R"(","topic":"T","id":"m1","deliverAtMs":)" + std::to_string(kNowMs) +
                             "}";
    const auto events = parse_valid(body);
    REQUIRE(events.size() == 1);
    CHECK(events[0].type == type);
  }
  CHECK(to_string(EventType::kTimerEnqueued) == "timer.enqueued");
  CHECK(to_string(EventType::kTopicCreated) == "topic.created");
}

TEST_CASE("events: every type of the list parses by its wire name, with the fields of its scope") {
  for (const EventTypeInfo& entry : kEventTypes) {
    CAPTURE(entry.name);
    CHECK(to_string(entry.type) == entry.name);
    const std::string head = R"({"type":")" + std::string(entry.name) + R"(","topic":"T")";
    const std::string deliver_at = R"(,"deliverAtMs":)" + std::to_string(kNowMs);
    const auto events = parse_valid(head + R"(,"id":"m1")" + deliver_at + "}");
    REQUIRE(events.size() == 1);
    CHECK(events[0].type == entry.type);
    CHECK(is_message_event(entry.type) == (entry.scope == EventScope::kMessage));
    if (entry.scope == EventScope::kMessage) {
      CHECK(events[0].id == "m1");
      CHECK(parse_invalid(head + deliver_at + "}").message == "events[0].id: missing");
    } else {
      CHECK(events[0].id.empty());
      CHECK(parse_valid(head + "}").size() == 1);
    }
  }
  CHECK(kEventTypes.size() == 5);
  CHECK_FALSE(is_message_event(EventType::kTopicDeleted));
  CHECK(is_message_event(EventType::kTimerCancelled));
}

TEST_CASE("events: the source list names each source by its value") {
  CHECK(kEventSources.size() == 4);
  for (size_t i = 0; i < kEventSources.size(); ++i) {
    CHECK(static_cast<size_t>(kEventSources[i].source) == i);
    CHECK(to_string(kEventSources[i].source) == kEventSources[i].name);
  }
  CHECK(to_string(EventSource::kWebhook) == "webhook");
  CHECK(to_string(EventSource::kFeed) == "feed");
  CHECK(to_string(EventSource::kDemo) == "demo");
  CHECK(to_string(EventSource::kFile) == "file");
  CHECK(to_string(static_cast<EventSource>(kEventSources.size())) == "unknown");
  CHECK(to_string(static_cast<EventType>(kEventTypes.size())) == "unknown");
}

TEST_CASE("events: malformed JSON names the byte offset") {
  SECTION("syntax error") {
    const auto error = parse_invalid(R"({"type":"topic.created","topic": })");
    CHECK(error.reason == "malformed_json");
    CHECK_THAT(error.message, Catch::Contains("at byte 34"));
  }
  SECTION("empty body") {
    const auto error = parse_invalid("");
    CHECK(error.reason == "malformed_json");
    CHECK_THAT(error.message, Catch::Contains("at byte"));
  }
  SECTION("trailing garbage") {
    CHECK(parse_invalid("[] []").reason == "malformed_json");
  }
  SECTION("a number beyond double's range") {
    const auto error = parse_invalid("[" + enqueued_at("1e400") + "]");
    CHECK(error.reason == "malformed_json");
    CHECK_THAT(error.message, Catch::Contains("number overflow") && Catch::Contains("1e400"));
  }
  SECTION("the offending token is not echoed in full") {
    const auto error = parse_invalid("[\"" + std::string(10'000, 'a'));
    CHECK(error.reason == "malformed_json");
    CHECK(error.message.size() < 400);
    CHECK_THAT(error.message, Catch::Contains("aaaa..."));
  }
  SECTION("a token imitating nlohmann's wording is still capped (found by fuzzing)") {
    const std::string filler(300, '\x7f');
    const auto error = parse_invalid("[{\"ty" + filler + "'; expected " + filler + "; expected " +
                                     filler + "\":i");
    CHECK(error.reason == "malformed_json");
    CHECK(error.message.size() < 512);
    CHECK(is_printable_ascii(error.message));
  }
  SECTION("ill-formed UTF-8 is escaped, not copied") {
    const auto error = parse_invalid("[\"\xff\xfe\"]");
    CHECK(error.reason == "malformed_json");
    CHECK(is_printable_ascii(error.message));
  }
}

TEST_CASE("events: a body of the wrong shape is refused") {
  const auto scalar = parse_invalid("42");
  CHECK(scalar.reason == "malformed_json");
  CHECK_THAT(scalar.message, Catch::Contains("not a JSON number"));

  const auto not_an_array = parse_invalid(R"({"events":{"type":"topic.created"}})");
  CHECK(not_an_array.reason == "invalid_field");
  CHECK(not_an_array.message == "events: must be an array");

  const auto element = parse_invalid(R"([{"type":"topic.created","topic":"A"},"topic.created"])");
  CHECK(element.reason == "invalid_field");
  CHECK(element.message == "events[1]: must be an object");
}

TEST_CASE("events: a missing field names the event's index and the field") {
  const auto valid = enqueued("A", "m1", kNowMs) + ",";
  SECTION("type") {
    const auto error = parse_invalid(R"({"topic":"A"})");
    CHECK(error.reason == "invalid_field");
    CHECK(error.message == "events[0].type: missing");
  }
  SECTION("topic") {
    const auto error = parse_invalid("[" + valid + R"({"type":"topic.created"}])");
    CHECK(error.reason == "invalid_field");
    CHECK(error.message == "events[1].topic: missing");
  }
  SECTION("id") {
    const auto error =
        parse_invalid("[" + valid + valid + R"({"type":"timer.cancelled","topic":"A"}])");
    CHECK(error.reason == "invalid_field");
    CHECK(error.message == "events[2].id: missing");
  }
  SECTION("deliverAtMs") {
    const auto error = parse_invalid("[" + valid + valid + valid +
                                     R"({"type":"timer.enqueued","topic":"A","id":"m"}])");
    CHECK(error.reason == "invalid_field");
    CHECK(error.message == "events[3].deliverAtMs: missing");
  }
}

TEST_CASE("events: a field of the wrong JSON type is refused") {
  SECTION("topic") {
    const auto error = parse_invalid(R"({"type":"topic.created","topic":12})");
    CHECK(error.reason == "invalid_field");
    CHECK(error.message == "events[0].topic: must be a string");
  }
  SECTION("type") {
    const auto error = parse_invalid(R"({"type":["timer.enqueued"],"topic":"A"})");
    CHECK(error.reason == "invalid_field");
    CHECK(error.message == "events[0].type: must be a string");
  }
  SECTION("id") {
    const auto error = parse_invalid(R"({"type":"timer.dequeued","topic":"A","id":12})");
    CHECK(error.reason == "invalid_field");
    CHECK(error.message == "events[0].id: must be a string");
  }
  SECTION("messageType") {
    const auto error = parse_invalid(R"({"type":"topic.created","topic":"A","messageType":null})");
    CHECK(error.reason == "invalid_field");
    CHECK(error.message == "events[0].messageType: must be a string");
  }
  SECTION("deliverAtMs") {
    const std::string literal = GENERATE("\"1700000000000\"", "1700000000000.5", "1700000000000.0",
                                         "1.7e12", "null", "true");
    CAPTURE(literal);
    const auto error = parse_invalid(enqueued_at(literal));
    CHECK(error.reason == "invalid_field");
    CHECK_THAT(error.message, Catch::StartsWith("events[0].deliverAtMs: must be an integer"));
  }
}

TEST_CASE("events: an unknown type lists the known ones") {
  const auto error =
      parse_invalid(R"([{"type":"topic.created","topic":"A"},{"type":"topic.deleted","topic":"A"},)"
                    R"({"type":"timer.foo","topic":"A"}])");
  CHECK(error.reason == "unknown_type");
  CHECK(error.message ==
        "events[2].type: unknown event type \"timer.foo\" (expected one of topic.created, "
        "topic.deleted, timer.enqueued, timer.dequeued, timer.cancelled)");
}

TEST_CASE("events: the topic name rule") {
  SECTION("valid names") {
    const std::string name =
        GENERATE(as<std::string>{}, "%RETRY%group", "a|b", "A-b_c9", "x", std::string(127, 'a'));
    CAPTURE(name);
    CHECK(is_valid_topic_name(name));
    CHECK(parse_valid(R"({"type":"topic.created","topic":")" + name + "\"}")[0].topic == name);
  }
  SECTION("invalid names") {
    const std::string name = GENERATE(std::string(), std::string(128, 'a'), "a b", "a.b", "a/b",
                                      "t\xc3\xb3pico", "topic!", std::string("a\0b", 3));
    CAPTURE(name);
    CHECK_FALSE(is_valid_topic_name(name));
  }
  SECTION("each broken rule is named") {
    const auto empty = parse_invalid(R"({"type":"topic.created","topic":""})");
    CHECK(empty.reason == "invalid_topic");
    CHECK(empty.message == "events[0].topic: must not be empty");

    const auto too_long =
        parse_invalid(R"({"type":"topic.created","topic":")" + std::string(128, 'a') + "\"}");
    CHECK(too_long.reason == "invalid_topic");
    CHECK_THAT(too_long.message, Catch::StartsWith("events[0].topic: ") &&
                                     Catch::EndsWith("is 128 characters long, more than the "
                                                     "limit of 127"));

    const auto bad_character = parse_invalid(R"({"type":"topic.created","topic":"topic!"})");
    CHECK(bad_character.reason == "invalid_topic");
    CHECK(bad_character.message ==
          "events[0].topic: \"topic!\" has a character outside [%|a-zA-Z0-9_-] at offset 5");
  }
  SECTION("echoed names are escaped and truncated") {
    const auto unicode = parse_invalid(R"({"type":"topic.created","topic":"t\u00f3pico"})");
    CHECK(unicode.reason == "invalid_topic");
    CHECK_THAT(unicode.message, Catch::Contains("\"t\\xc3\\xb3pico\""));

    const auto huge =
        parse_invalid(R"({"type":"topic.created","topic":")" + std::string(100'000, '.') + "\"}");
    CHECK(huge.reason == "invalid_topic");
    CHECK(huge.message.size() < 200);

    // DEL is legal inside a JSON string and escapes to four bytes: the cap counts the output.
    const auto four_bytes_per_character =
        parse_invalid(R"({"type":"topic.created","topic":")" + std::string(1000, '\x7f') + "\"}");
    CHECK(four_bytes_per_character.reason == "invalid_topic");
    CHECK(four_bytes_per_character.message.size() < 200);
    CHECK(is_printable_ascii(four_bytes_per_character.message));
  }
}

TEST_CASE("events: message ids of 1 to 128 bytes") {
  CHECK(parse_valid(enqueued("A", "m", kNowMs))[0].id == "m");
  CHECK(parse_valid(enqueued("A", std::string(128, 'x'), kNowMs))[0].id.size() == 128);

  const auto too_long = parse_invalid(enqueued("A", std::string(129, 'x'), kNowMs));
  CHECK(too_long.reason == "invalid_field");
  CHECK_THAT(too_long.message,
             Catch::StartsWith("events[0].id: ") &&
                 Catch::EndsWith("is 129 bytes long, more than the limit of 128"));
  CHECK(too_long.message.size() < 200);

  const auto empty = parse_invalid(enqueued("A", "", kNowMs));
  CHECK(empty.reason == "invalid_field");
  CHECK(empty.message == "events[0].id: must not be empty");
}

TEST_CASE("events: delivery time bounds") {
  SECTION("the latest accepted time is now + max delay + clock slack") {
    CHECK(parse_valid(enqueued("A", "m", kLatestAcceptedMs))[0].deliver_at_ms == kLatestAcceptedMs);

    const auto error = parse_invalid(enqueued("A", "m", kLatestAcceptedMs + 1));
    CHECK(error.reason == "invalid_time");
    CHECK_THAT(error.message, Catch::StartsWith("events[0].deliverAtMs: " +
                                                std::to_string(kLatestAcceptedMs + 1)) &&
                                  Catch::Contains("--timer.max-delay") &&
                                  Catch::Contains(std::to_string(kLatestAcceptedMs)));
  }
  SECTION("the limit follows the configured limits") {
    EventLimits limits = test_limits();
    limits.max_delay_ms = 60'000;
    limits.clock_slack_ms = 0;
    CHECK(parse_valid(enqueued("A", "m", kNowMs + 60'000), limits).size() == 1);
    CHECK(parse_invalid(enqueued("A", "m", kNowMs + 60'001), limits).reason == "invalid_time");
  }
  SECTION("times already past are accepted: they are due at once") {
    CHECK(parse_valid(enqueued("A", "m", kNowMs - 3'600'000))[0].deliver_at_ms ==
          kNowMs - 3'600'000);
    CHECK(parse_valid(enqueued("A", "m", kEarliestPlausibleEpochMs)).size() == 1);
  }
  SECTION("seconds instead of milliseconds") {
    const auto error = parse_invalid(enqueued("A", "m", 1'700'000'000));
    CHECK(error.reason == "invalid_time");
    CHECK_THAT(error.message, Catch::StartsWith("events[0].deliverAtMs: 1700000000 is before") &&
                                  Catch::Contains(std::to_string(kEarliestPlausibleEpochMs)));
    CHECK(parse_invalid(enqueued("A", "m", kEarliestPlausibleEpochMs - 1)).reason ==
          "invalid_time");
    CHECK(parse_invalid(enqueued("A", "m", -1)).reason == "invalid_time");
  }
  SECTION("integers beyond int64 are out of range, not misread") {
    const auto error = parse_invalid(enqueued_at("18446744073709551615"));
    CHECK(error.reason == "invalid_time");
    CHECK_THAT(error.message, Catch::StartsWith("events[0].deliverAtMs: 18446744073709551615"));
  }
  SECTION("huge limits saturate instead of overflowing") {
    EventLimits limits = test_limits();
    limits.max_delay_ms = std::numeric_limits<int64_t>::max();
    const int64_t latest = std::numeric_limits<int64_t>::max();
    CHECK(parse_valid(enqueued("A", "m", latest), limits)[0].deliver_at_ms == latest);
  }
}

TEST_CASE("events: revisions") {
  CHECK(parse_valid(with_revision("0"))[0].revision == 0);
  CHECK(parse_valid(with_revision("42"))[0].revision == 42);
  CHECK(parse_valid(with_revision("9223372036854775807"))[0].revision ==
        std::numeric_limits<int64_t>::max());
  CHECK_FALSE(parse_valid(R"({"type":"topic.deleted","topic":"T"})")[0].revision.has_value());

  const std::string invalid = GENERATE("-1", "1.5", "1.0", "\"7\"", "null", "9223372036854775808");
  CAPTURE(invalid);
  const auto error = parse_invalid(with_revision(invalid));
  CHECK(error.reason == "invalid_field");
  CHECK_THAT(error.message, Catch::StartsWith("events[0].revision: must be an integer"));
}

TEST_CASE("events: one bad event rejects the whole batch") {
  std::string body = "[";
  for (int i = 0; i < 10; ++i) body += enqueued("A", "m" + std::to_string(i), kNowMs) + ",";
  body += enqueued("A", "late", kLatestAcceptedMs + 1) + ",";
  body += enqueued("A", "after", kNowMs) + "]";

  const ParseResult result = parse_events(body, test_limits());
  REQUIRE(std::holds_alternative<EventError>(result));
  const auto& error = std::get<EventError>(result);
  CHECK(error.reason == "invalid_time");
  CHECK_THAT(error.message, Catch::StartsWith("events[10].deliverAtMs: "));
}
