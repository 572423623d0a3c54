#include "timing_sidecar/events.hpp"

#include <array>
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>

namespace timing_sidecar {
namespace {

using nlohmann::json;

// The lists in events.hpp build the enums and the tables together; these checks keep a table
// indexed by value and its names distinct should either ever be edited apart from the list.
template <typename Table, typename Value>
constexpr bool indexed_by_value(const Table& table, Value Table::value_type::*value) {
  for (size_t i = 0; i < table.size(); ++i) {
    if (static_cast<size_t>(table[i].*value) != i) return false;
    for (size_t j = 0; j < i; ++j) {
      if (table[j].name == table[i].name) return false;
    }
  }
  return true;
}
static_assert(indexed_by_value(kEventTypes, &EventTypeInfo::type));
static_assert(indexed_by_value(kEventSources, &EventSourceInfo::source));

// Error messages quote client input; a cap keeps a hostile body from inflating logs and responses.
constexpr size_t kMaxEchoedBytes = 64;
// nlohmann's own wording is short; the cap only guards against input hiding inside it.
constexpr size_t kMaxLibraryTextBytes = 256;

// Messages end up in JSON responses and logs: anything but printable ASCII is escaped so that a
// message is always valid UTF-8 (nlohmann's dump() throws otherwise) and cannot forge log lines.
void append_escaped(char c, std::string& output) {
  static constexpr char kHexDigits[] = "0123456789abcdef";
  const auto byte = static_cast<unsigned char>(c);
  if (byte == '\\' || byte == '"') {
    output += '\\';
    output += c;
  } else if (byte >= 0x20 && byte < 0x7f) {
    output += c;
  } else {
    output += "\\x";
    output += kHexDigits[byte >> 4];
    output += kHexDigits[byte & 0xf];
  }
}

// The cap counts escaped output (up to four bytes per input byte), so it bounds the message.
std::string escape_for_message(std::string_view input, size_t max_bytes) {
  std::string output;
  for (const char c : input) {
    if (output.size() >= max_bytes) {
      output += "...";
      break;
    }
    append_escaped(c, output);
  }
  return output;
}

std::string quote_for_message(std::string_view input) {
  return '"' + escape_for_message(input, kMaxEchoedBytes) + '"';
}

std::string expected_type_names() {
  std::string names;
  for (const auto& entry : kEventTypes) {
    if (!names.empty()) names += ", ";
    names += entry.name;
  }
  return names;
}

std::string field_path(size_t index, std::string_view field) {
  std::string path = "events[" + std::to_string(index) + "]";
  if (!field.empty()) {
    path += '.';
    path += field;
  }
  return path;
}

EventError field_error(std::string reason, size_t index, std::string_view field,
                       std::string_view problem) {
  return {std::move(reason), field_path(index, field) + ": " + std::string(problem)};
}

EventError invalid_field(size_t index, std::string_view field, std::string_view problem) {
  return field_error("invalid_field", index, field, problem);
}

// Drops the "[json.exception.parse_error.101] " prefix: it means nothing to a client.
std::string_view without_exception_id(std::string_view what) {
  if (const auto id_end = what.find("] "); id_end != std::string_view::npos) {
    what.remove_prefix(id_end + 2);
  }
  return what;
}

// nlohmann's what() reads "[json.exception.parse_error.101] parse error at line 1, column 9:
// syntax error while parsing value - invalid literal; last read: '<token>'; expected <token>".
// The token may be most of the body (an unterminated string), so it is quoted with a cap.
EventError malformed_json(const json::parse_error& error) {
  const std::string_view detail = without_exception_id(error.what());
  std::string message = "malformed JSON at byte " + std::to_string(error.byte) + ": ";
  constexpr std::string_view kTokenMarker = "; last read: '";
  const auto marker = detail.find(kTokenMarker);
  if (marker == std::string_view::npos) {
    message += escape_for_message(detail, kMaxLibraryTextBytes);
    return {"malformed_json", std::move(message)};
  }
  std::string_view token = detail.substr(marker + kTokenMarker.size());
  std::string_view after_token;
  if (const auto expected = token.rfind("'; expected "); expected != std::string_view::npos) {
    after_token = token.substr(expected + 1);
    token = token.substr(0, expected);
  } else if (!token.empty() && token.back() == '\'') {
    token.remove_suffix(1);
  }
  message += escape_for_message(detail.substr(0, marker), kMaxLibraryTextBytes);
  message += "; last read: ";
  message += quote_for_message(token);
  // Only nlohmann's "'; expected <token kind>" should be here, but a token that itself contains
  // "'; expected " moves the split point, so this part may be client input too.
  message += escape_for_message(after_token, kMaxEchoedBytes);
  return {"malformed_json", std::move(message)};
}

constexpr std::array<bool, 256> make_topic_character_table() {
  std::array<bool, 256> allowed{};
  for (char c = 'a'; c <= 'z'; ++c) allowed[static_cast<unsigned char>(c)] = true;
  for (char c = 'A'; c <= 'Z'; ++c) allowed[static_cast<unsigned char>(c)] = true;
  for (char c = '0'; c <= '9'; ++c) allowed[static_cast<unsigned char>(c)] = true;
  for (char c : {'%', '|', '_', '-'}) allowed[static_cast<unsigned char>(c)] = true;
  return allowed;
}

constexpr std::array<bool, 256> kTopicCharacterAllowed = make_topic_character_table();

size_t first_forbidden_topic_character(std::string_view name) {
  for (size_t i = 0; i < name.size(); ++i) {
    if (!kTopicCharacterAllowed[static_cast<unsigned char>(name[i])]) return i;
  }
  return std::string_view::npos;
}

std::optional<EventError> check_topic(std::string_view topic, size_t index) {
  if (topic.empty()) return field_error("invalid_topic", index, "topic", "must not be empty");
  if (topic.size() > kMaxTopicNameLength) {
    return field_error("invalid_topic", index, "topic",
                       quote_for_message(topic) + " is " + std::to_string(topic.size()) +
                           " characters long, more than the limit of " +
                           std::to_string(kMaxTopicNameLength));
  }
  if (const size_t offset = first_forbidden_topic_character(topic);
      offset != std::string_view::npos) {
    return field_error("invalid_topic", index, "topic",
                       quote_for_message(topic) +
                           " has a character outside [%|a-zA-Z0-9_-] at offset " +
                           std::to_string(offset));
  }
  return std::nullopt;
}

// Moves the string member out of the parsed document: it is discarded right after parsing.
std::optional<EventError> take_string(json& event, size_t index, const char* field,
                                      std::string& destination, bool required) {
  const auto member = event.find(field);
  if (member == event.end()) {
    if (required) return invalid_field(index, field, "missing");
    return std::nullopt;
  }
  if (!member->is_string()) return invalid_field(index, field, "must be a string");
  destination = std::move(member->get_ref<std::string&>());
  return std::nullopt;
}

std::optional<EventError> read_type(json& event, size_t index, EventType& type) {
  std::string name;
  if (auto error = take_string(event, index, "type", name, true)) return error;
  for (const auto& entry : kEventTypes) {
    if (entry.name == name) {
      type = entry.type;
      return std::nullopt;
    }
  }
  static const std::string kExpected = expected_type_names();
  return field_error(
      "unknown_type", index, "type",
      "unknown event type " + quote_for_message(name) + " (expected one of " + kExpected + ")");
}

std::optional<EventError> read_message_id(json& event, size_t index, std::string& id) {
  if (auto error = take_string(event, index, "id", id, true)) return error;
  if (id.empty()) return invalid_field(index, "id", "must not be empty");
  if (id.size() > kMaxMessageIdLength) {
    return invalid_field(index, "id",
                         quote_for_message(id) + " is " + std::to_string(id.size()) +
                             " bytes long, more than the limit of " +
                             std::to_string(kMaxMessageIdLength));
  }
  return std::nullopt;
}

int64_t saturating_add(int64_t a, int64_t b) {
  int64_t sum = 0;
  if (__builtin_add_overflow(a, b, &sum)) {
    return b > 0 ? std::numeric_limits<int64_t>::max() : std::numeric_limits<int64_t>::min();
  }
  return sum;
}

// nlohmann keeps 1.0 and 1e3 as floats, so is_number_integer() admits integer literals only.
// Non-negative literals arrive as unsigned and may exceed int64.
bool fits_int64(const json& integer) {
  return !integer.is_number_unsigned() ||
         integer.get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
}

std::optional<EventError> read_deliver_at(const json& event, size_t index,
                                          const EventLimits& limits, int64_t& deliver_at_ms) {
  const auto member = event.find("deliverAtMs");
  if (member == event.end()) return invalid_field(index, "deliverAtMs", "missing");
  if (!member->is_number_integer()) {
    return invalid_field(index, "deliverAtMs", "must be an integer (epoch milliseconds)");
  }
  const int64_t latest_ms =
      saturating_add(saturating_add(limits.now_ms, limits.max_delay_ms), limits.clock_slack_ms);
  if (!fits_int64(*member) || member->get<int64_t>() > latest_ms) {
    return field_error("invalid_time", index, "deliverAtMs",
                       member->dump() + " lies beyond --timer.max-delay: the latest accepted is " +
                           std::to_string(latest_ms) + " (now " + std::to_string(limits.now_ms) +
                           " + max delay " + std::to_string(limits.max_delay_ms) +
                           " ms + clock slack " + std::to_string(limits.clock_slack_ms) + " ms)");
  }
  deliver_at_ms = member->get<int64_t>();
  if (deliver_at_ms < kEarliestPlausibleEpochMs) {
    return field_error("invalid_time", index, "deliverAtMs",
                       std::to_string(deliver_at_ms) + " is before " +
                           std::to_string(kEarliestPlausibleEpochMs) +
                           " (2000-01-01): it must be epoch milliseconds, not seconds");
  }
  return std::nullopt;
}

std::optional<EventError> read_revision(const json& event, size_t index,
                                        std::optional<int64_t>& revision) {
  const auto member = event.find("revision");
  if (member == event.end()) return std::nullopt;
  if (!member->is_number_integer() || !fits_int64(*member) || member->get<int64_t>() < 0) {
    return invalid_field(index, "revision", "must be an integer in [0, 2^63-1]");
  }
  revision = member->get<int64_t>();
  return std::nullopt;
}

std::optional<EventError> read_event(json& element, size_t index, const EventLimits& limits,
                                     Event& event) {
  if (!element.is_object()) return invalid_field(index, "", "must be an object");
  if (auto error = read_type(element, index, event.type)) return error;
  if (auto error = take_string(element, index, "topic", event.topic, true)) return error;
  if (auto error = check_topic(event.topic, index)) return error;
  if (is_message_event(event.type)) {
    if (auto error = read_message_id(element, index, event.id)) return error;
  }
  if (event.type == EventType::kTimerEnqueued) {
    if (auto error = read_deliver_at(element, index, limits, event.deliver_at_ms)) return error;
  }
  if (event.type == EventType::kTopicCreated) {
    if (auto error = take_string(element, index, "messageType", event.message_type, false)) {
      return error;
    }
  }
  return read_revision(element, index, event.revision);
}

}  // namespace

bool is_valid_topic_name(std::string_view name) {
  return !name.empty() && name.size() <= kMaxTopicNameLength &&
         first_forbidden_topic_character(name) == std::string_view::npos;
}

ParseResult parse_events(std::string_view body, const EventLimits& limits) {
  json document;
  try {
    document = json::parse(body.begin(), body.end());
  } catch (const json::parse_error& error) {
    return malformed_json(error);
  } catch (const json::exception& error) {
    // Not a syntax error, so no position: a number literal beyond double's range (1e400).
    return EventError{"malformed_json",
                      "malformed JSON: " +
                          escape_for_message(without_exception_id(error.what()), kMaxEchoedBytes)};
  }

  // A lone event is told from the {"events": [...]} wrapper by its "type": events may carry
  // unknown fields, "events" among them, but a wrapper has no reason to carry a type.
  json* elements = &document;
  if (document.is_object() && !document.contains("type")) {
    if (const auto wrapped = document.find("events"); wrapped != document.end()) {
      if (!wrapped->is_array()) return EventError{"invalid_field", "events: must be an array"};
      elements = &*wrapped;
    }
  }

  std::vector<Event> events;
  if (elements->is_object()) {
    events.resize(1);
    if (auto error = read_event(*elements, 0, limits, events[0])) return *std::move(error);
    return events;
  }
  if (!elements->is_array()) {
    return EventError{"malformed_json",
                      "body must be an event object, an array of events or {\"events\": [...]}, "
                      "not a JSON " +
                          std::string(elements->type_name())};
  }
  events.resize(elements->size());
  for (size_t index = 0; index < events.size(); ++index) {
    if (auto error = read_event((*elements)[index], index, limits, events[index])) {
      return *std::move(error);
    }
  }
  return events;
}

}  // namespace timing_sidecar
