#pragma once

// What a RocketMQ broker and its dashboard already publish, read as authoritative topic lists and
// as the broker's own per-topic counts: store/config/topics.json, store/config/timermetrics and
// rocketmq-dashboard's GET /topic/list.query. Pure functions, bytes in and values out: reading
// files and sending requests is sources.cpp's job.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "timing_sidecar/engine.hpp"

namespace timing_sidecar {

// RocketMQ's system topics never get per-topic series: every list, file and feed event naming one
// is skipped, so that a system topic cannot appear through one source and be dropped by another.
// The rules are the broker's own (TopicValidator.isSystemTopic and MixAll.isLmq):
//   - the prefix "rmq_sys_" (rmq_sys_REVIVE_LOG_<cluster>, rmq_sys_SYNC_BROKER_MEMBER_<broker>,
//     rmq_sys_wheel_timer, ...);
//   - names containing "%LMQ%": light message queues, one per MQTT client or session;
//   - TopicValidator's SYSTEM_TOPIC_SET: TBW102, SCHEDULE_TOPIC_XXXX, SCHEDULE_TOPIC_XXXX_V2,
//     BenchmarkTest, RMQ_SYS_TRANS_HALF_TOPIC, RMQ_SYS_TRANS_OP_HALF_TOPIC, RMQ_SYS_TRACE_TOPIC,
//     TRANS_CHECK_MAX_TIME_TOPIC, SELF_TEST_TOPIC, OFFSET_MOVED_EVENT.
// Not skipped:
//   - the topics the broker registers as system topics at startup under names from its own
//     configuration: <brokerClusterName>, <brokerName>, <brokerClusterName>_REPLY_TOPIC and a
//     renamed msgTraceTopicName. Nothing here knows those names, and a rule such as "ends with
//     _REPLY_TOPIC" would also hide users' topics; they hold no timing messages, so they show as
//     topics with nothing pending.
//   - %RETRY%<group> and %DLQ%<group>: they belong to users' consumer groups and go when the
//     group goes, RocketMQ does not count them as system topics, and hiding them would hide any
//     timing message the broker does attribute to them. They cost one topic's series each.
bool is_system_topic(std::string_view topic);

// Why a file or reply was not used. `reason` is a short label value for
// timing_sidecar_source_errors_total{reason}; `message` says what and where, for a human.
struct SourceError {
  std::string reason;
  std::string message;
};

// A list read from a file or a reply, without the system topics and without names RocketMQ would
// refuse (counted: such a name means a damaged source, and the sidecar never tracks it anyway).
// `list.stamp.requested_at_ms` is the caller's, `list.stamp.revision` the source's own counter.
struct ParsedTopics {
  TopicList list;
  size_t invalid_names = 0;
};

using ParsedTopicsResult = std::variant<ParsedTopics, SourceError>;

// store/config/topics.json: {"dataVersion":{"counter":N,...},"topicConfigTable":{"T":{...}}}.
// dataVersion.counter, the broker's count of topic table changes, is the list's revision.
// The same body answers the remoting protocol's GET_ALL_TOPIC_CONFIG: `what` names it in errors.
ParsedTopicsResult parse_topics_json(std::string_view text, int64_t requested_at_ms,
                                     std::string_view what = "topics.json");

// store/config/timermetrics: {"dataVersion":{...},"timingCount":{"T":{"count":N,...}}}, the
// broker's own pending count per topic. Each listed topic carries its count in `timing`.
// Likewise GET_TIMER_METRICS's body.
ParsedTopicsResult parse_timer_metrics(std::string_view text,
                                       std::string_view what = "timermetrics");

// rocketmq-dashboard's GET /topic/list.query?skipSysProcess=true:
// {"status":0,"data":{"topicList":[...],"brokerAddr":...},"errMsg":null}. A status other than 0
// is the dashboard's own error and changes nothing. The dashboard has no revision.
ParsedTopicsResult parse_dashboard_topic_list(std::string_view body, int64_t requested_at_ms);

}  // namespace timing_sidecar
