#include "timing_sidecar/broker_feed.hpp"

#include <nlohmann/json.hpp>

#include "timing_sidecar/log.hpp"

namespace timing_sidecar {

namespace {

using nlohmann::json;

bool is_revision(const json& value) {
  return value.is_number_integer() &&
         (value.is_number_unsigned() ? value.get<uint64_t>() <= static_cast<uint64_t>(INT64_MAX)
                                     : value.get<int64_t>() >= 0);
}

SourceError malformed(std::string message) {
  return {"malformed", std::move(message)};
}

}  // namespace

std::variant<FeedReply, SourceError> parse_feed_reply(std::string_view body,
                                                      const EventLimits& limits) {
  // This pass reads the top level only (depth < 2 drops the events' contents); parse_events
  // validates the events.
  const json header = json::parse(
      body.begin(), body.end(), [](int depth, json::parse_event_t, json&) { return depth < 2; },
      false);
  if (header.is_discarded() || !header.is_object()) {
    return malformed("the feed's reply is not a JSON object: " + excerpt(body));
  }
  const auto revision = header.find("revision");
  if (revision == header.end() || !is_revision(*revision)) {
    return malformed("the feed's reply has no revision (a non-negative integer)");
  }
  const auto events = header.find("events");
  if (events == header.end() || !events->is_array()) {
    return malformed("the feed's reply has no events array");
  }
  ParseResult parsed = parse_events(body, limits);
  if (auto* error = std::get_if<EventError>(&parsed)) {
    return SourceError{"invalid_event", error->message};
  }
  FeedReply reply;
  reply.revision = revision->get<int64_t>();
  reply.events = std::get<std::vector<Event>>(std::move(parsed));
  for (size_t index = 0; index < reply.events.size(); ++index) {
    if (!reply.events[index].revision) {
      return malformed("events[" + std::to_string(index) +
                       "] has no revision: the feed cannot be resumed without them");
    }
  }
  return reply;
}

ParsedTopicsResult parse_broker_topics(std::string_view body, int64_t requested_at_ms) {
  const json document = json::parse(body.begin(), body.end(), nullptr, false);
  if (document.is_discarded() || !document.is_object()) {
    return malformed("the broker's topic list is not a JSON object: " + excerpt(body));
  }
  const auto revision = document.find("revision");
  if (revision == document.end() || !is_revision(*revision)) {
    return malformed("the broker's topic list has no revision (a non-negative integer)");
  }
  const auto topics = document.find("topics");
  if (topics == document.end() || !topics->is_array()) {
    return malformed("the broker's topic list has no topics array");
  }
  ParsedTopics parsed;
  parsed.list.stamp = {revision->get<int64_t>(), requested_at_ms};
  for (const json& topic : *topics) {
    const auto name = topic.is_object() ? topic.find("name") : topic.end();
    if (name == topic.end() || !name->is_string()) {
      return malformed("the broker's topics must be objects with a string name");
    }
    std::optional<int64_t> timing;
    if (const auto count = topic.find("timing"); count != topic.end() && !count->is_null()) {
      if (!count->is_number_integer() || !is_revision(*count)) {
        return malformed("the broker's timing counts must be non-negative integers");
      }
      timing = count->get<int64_t>();
    }
    const std::string& topic_name = name->get_ref<const std::string&>();
    if (!is_valid_topic_name(topic_name)) {
      ++parsed.invalid_names;
    } else if (!is_system_topic(topic_name)) {
      parsed.list.topics.push_back({topic_name, timing});
    }
  }
  return parsed;
}

}  // namespace timing_sidecar
