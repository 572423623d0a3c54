#include "timing_sidecar/rocketmq_files.hpp"

#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>

#include "timing_sidecar/events.hpp"
#include "timing_sidecar/log.hpp"

namespace timing_sidecar {

namespace {

using nlohmann::json;

constexpr std::string_view kSystemTopicPrefix = "rmq_sys_";
constexpr std::string_view kLightQueueMarker = "%LMQ%";
constexpr std::array<std::string_view, 10> kSystemTopics = {
    "TBW102",
    "SCHEDULE_TOPIC_XXXX",
    "SCHEDULE_TOPIC_XXXX_V2",
    "BenchmarkTest",
    "RMQ_SYS_TRANS_HALF_TOPIC",
    "RMQ_SYS_TRANS_OP_HALF_TOPIC",
    "RMQ_SYS_TRACE_TOPIC",
    "TRANS_CHECK_MAX_TIME_TOPIC",
    "SELF_TEST_TOPIC",
    "OFFSET_MOVED_EVENT",
};

SourceError malformed(std::string message) {
  return {"malformed", std::move(message)};
}

// A file caught half-written is the common case: nlohmann's parse error says where it stopped.
std::variant<json, SourceError> parse_json(std::string_view text, std::string_view what) {
  try {
    return json::parse(text.begin(), text.end());
  } catch (const json::exception& error) {
    return malformed(std::string(what) + " is not valid JSON (" + std::to_string(text.size()) +
                     " bytes): " + excerpt(error.what()));
  }
}

const json* find_member(const json& object, const char* name) {
  const auto member = object.find(name);
  return member == object.end() ? nullptr : &*member;
}

bool is_int64(const json& value) {
  return value.is_number_integer() &&
         (!value.is_number_unsigned() || value.get<uint64_t>() <= static_cast<uint64_t>(INT64_MAX));
}

// Adds a topic unless it is a system topic or a name RocketMQ would refuse.
void add_topic(ParsedTopics& parsed, const std::string& name, std::optional<int64_t> timing) {
  if (!is_valid_topic_name(name)) {
    ++parsed.invalid_names;
    return;
  }
  if (is_system_topic(name)) return;
  parsed.list.topics.push_back({name, timing});
}

// dataVersion.counter when present; a missing counter only costs the list its revision.
std::variant<std::optional<int64_t>, SourceError> read_data_version(const json& document,
                                                                    std::string_view what) {
  const json* version = find_member(document, "dataVersion");
  if (version == nullptr) return std::optional<int64_t>{};
  if (!version->is_object())
    return malformed(std::string(what) + ": dataVersion must be an object");
  const json* counter = find_member(*version, "counter");
  if (counter == nullptr) return std::optional<int64_t>{};
  if (!is_int64(*counter) || counter->get<int64_t>() < 0) {
    return malformed(std::string(what) + ": dataVersion.counter must be a non-negative integer");
  }
  return std::optional<int64_t>{counter->get<int64_t>()};
}

// The object member `table` of a top-level object, e.g. topicConfigTable.
std::variant<const json*, SourceError> read_table(const json& document, const char* table,
                                                  std::string_view what) {
  if (!document.is_object()) return malformed(std::string(what) + " must be a JSON object");
  const json* member = find_member(document, table);
  if (member == nullptr || !member->is_object()) {
    return malformed(std::string(what) + ": " + table + " must be an object");
  }
  return member;
}

}  // namespace

bool is_system_topic(std::string_view topic) {
  if (topic.substr(0, kSystemTopicPrefix.size()) == kSystemTopicPrefix) return true;
  if (topic.find(kLightQueueMarker) != std::string_view::npos) return true;
  for (std::string_view reserved : kSystemTopics) {
    if (topic == reserved) return true;
  }
  return false;
}

ParsedTopicsResult parse_topics_json(std::string_view text, int64_t requested_at_ms,
                                     std::string_view what) {
  auto document = parse_json(text, what);
  if (auto* error = std::get_if<SourceError>(&document)) return *error;
  const json& root = std::get<json>(document);
  auto table = read_table(root, "topicConfigTable", what);
  if (auto* error = std::get_if<SourceError>(&table)) return *error;
  auto revision = read_data_version(root, what);
  if (auto* error = std::get_if<SourceError>(&revision)) return *error;

  ParsedTopics parsed;
  parsed.list.stamp = {std::get<std::optional<int64_t>>(revision), requested_at_ms};
  for (const auto& [name, topic_config] : std::get<const json*>(table)->items()) {
    if (!topic_config.is_object()) {
      return malformed(std::string(what) + ": topicConfigTable entries must be objects");
    }
    add_topic(parsed, name, std::nullopt);
  }
  return parsed;
}

ParsedTopicsResult parse_timer_metrics(std::string_view text, std::string_view what) {
  auto document = parse_json(text, what);
  if (auto* error = std::get_if<SourceError>(&document)) return *error;
  const json& root = std::get<json>(document);
  auto table = read_table(root, "timingCount", what);
  if (auto* error = std::get_if<SourceError>(&table)) return *error;
  auto revision = read_data_version(root, what);
  if (auto* error = std::get_if<SourceError>(&revision)) return *error;

  ParsedTopics parsed;
  parsed.list.stamp.revision = std::get<std::optional<int64_t>>(revision);
  for (const auto& [name, metric] : std::get<const json*>(table)->items()) {
    const json* count = metric.is_object() ? find_member(metric, "count") : nullptr;
    if (count == nullptr || !is_int64(*count)) {
      return malformed(std::string(what) +
                       ": timingCount entries must be objects with an integer count");
    }
    add_topic(parsed, name, count->get<int64_t>());
  }
  return parsed;
}

ParsedTopicsResult parse_dashboard_topic_list(std::string_view body, int64_t requested_at_ms) {
  constexpr std::string_view kWhat = "the dashboard's reply";
  auto document = parse_json(body, kWhat);
  if (auto* error = std::get_if<SourceError>(&document)) return *error;
  const json& root = std::get<json>(document);
  if (!root.is_object()) return malformed("the dashboard's reply must be a JSON object");
  const json* status = find_member(root, "status");
  if (status == nullptr || !status->is_number_integer()) {
    return malformed("the dashboard's reply has no integer status");
  }
  if (status->get<int64_t>() != 0) {
    const json* message = find_member(root, "errMsg");
    return SourceError{
        "dashboard_status",
        "the dashboard answered status " + status->dump() + ": " +
            (message != nullptr && message->is_string() ? excerpt(message->get<std::string>())
                                                        : std::string("(no errMsg)"))};
  }
  const json* data = find_member(root, "data");
  const json* names =
      data != nullptr && data->is_object() ? find_member(*data, "topicList") : nullptr;
  if (names == nullptr || !names->is_array()) {
    return malformed("the dashboard's reply has no data.topicList array");
  }
  ParsedTopics parsed;
  parsed.list.stamp.requested_at_ms = requested_at_ms;
  for (const json& name : *names) {
    if (!name.is_string()) return malformed("the dashboard's data.topicList must hold strings");
    add_topic(parsed, name.get<std::string>(), std::nullopt);
  }
  return parsed;
}

}  // namespace timing_sidecar
