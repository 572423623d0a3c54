#include "timing_sidecar/remoting_codec.hpp"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>

using namespace timing_sidecar;
using namespace timing_sidecar::remoting;

namespace {

std::string fixture(const std::string& name) {
  const auto path =
      std::filesystem::path(__FILE__).parent_path().parent_path() / "fixtures" / "remoting" / name;
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in);
  std::ostringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

std::string int32(uint32_t value) {
  return {static_cast<char>(value >> 24), static_cast<char>(value >> 16),
          static_cast<char>(value >> 8), static_cast<char>(value)};
}

// A frame from its parts, lengths as given (so that they can lie).
std::string raw_frame(uint32_t length, uint32_t type_and_header_length, const std::string& rest) {
  return int32(length) + int32(type_and_header_length) + rest;
}

Command expect_decoded(const DecodeResult& result, size_t consumed) {
  if (const auto* error = std::get_if<FrameError>(&result)) FAIL("frame error: " << error->message);
  REQUIRE(std::holds_alternative<Decoded>(result));
  CHECK(std::get<Decoded>(result).consumed == consumed);
  return std::get<Decoded>(result).command;
}

std::string expect_error(const DecodeResult& result) {
  REQUIRE(std::holds_alternative<FrameError>(result));
  return std::get<FrameError>(result).message;
}

}  // namespace

TEST_CASE("a request frame is the length, the JSON type and header length, the header",
          "[remoting]") {
  const std::string header =
      R"({"code":21,"flag":0,"language":"CPP","opaque":7,"serializeTypeCurrentRPC":"JSON",)"
      R"("version":479})";
  const std::string frame = encode_request(kGetAllTopicConfig, 7, {});
  CHECK(frame == int32(4 + header.size()) + int32(header.size()) + header);

  const Command decoded = expect_decoded(decode_frame(frame), frame.size());
  CHECK(decoded.code == 21);
  CHECK(decoded.opaque == 7);
  CHECK(decoded.language == "CPP");
  CHECK_FALSE(decoded.is_response());
  CHECK(decoded.body.empty());
}

TEST_CASE("extFields, remark and body survive a round trip", "[remoting]") {
  Command command;
  command.code = 1;
  command.opaque = -5;
  command.flag = kFlagResponse;
  command.remark = "no such topic";
  command.ext_fields = {{"AccessKey", "ak"}, {"Signature", "c2ln"}};
  command.body = std::string("\0\x01{\"x\":1}", 9);
  const std::string frame = encode_command(command);
  const Command decoded = expect_decoded(decode_frame(frame), frame.size());
  CHECK(decoded.code == 1);
  CHECK(decoded.opaque == -5);
  CHECK(decoded.is_response());
  CHECK(decoded.remark == "no such topic");
  CHECK(decoded.ext_fields == command.ext_fields);
  CHECK(decoded.body == command.body);
}

TEST_CASE("a partial frame asks for the bytes it needs, and a second frame is left", "[remoting]") {
  const std::string first = encode_request(kGetTimerMetrics, 1, {});
  const std::string second = encode_request(kGetBrokerRuntimeInfo, 2, {});
  const std::string both = first + second;
  CHECK(std::get<Incomplete>(decode_frame("")).needed == 8);
  CHECK(std::get<Incomplete>(decode_frame(both.substr(0, 7))).needed == 8);
  CHECK(std::get<Incomplete>(decode_frame(both.substr(0, 8))).needed == first.size());
  CHECK(std::get<Incomplete>(decode_frame(both.substr(0, first.size() - 1))).needed ==
        first.size());
  CHECK(expect_decoded(decode_frame(both), first.size()).opaque == 1);
  CHECK(expect_decoded(decode_frame(std::string_view(both).substr(first.size())), second.size())
            .opaque == 2);
}

TEST_CASE("a frame over 16 MiB is refused from its first 8 bytes", "[remoting]") {
  // The length field counts what follows it: 16 MiB in all is length 16 MiB - 4.
  const uint32_t largest = kMaxFrameBytes - 4;
  CHECK(std::holds_alternative<Incomplete>(decode_frame(raw_frame(largest, 2, "{}"))));
  CHECK_THAT(expect_error(decode_frame(raw_frame(largest + 1, 2, "{}"))),
             Catch::Contains("outside 4 to 16 MiB"));
  CHECK_THAT(expect_error(decode_frame(raw_frame(0xffffffff, 2, "{}"))),
             Catch::Contains("outside"));
  CHECK_THAT(expect_error(decode_frame(raw_frame(3, 0, ""))), Catch::Contains("outside"));
  // An HTTP reply where a frame was expected.
  CHECK_THAT(expect_error(decode_frame("HTTP/1.1 400 Bad Request\r\n")),
             Catch::Contains("not a RocketMQ frame"));
}

TEST_CASE("the header length must lie within the frame", "[remoting]") {
  CHECK_THAT(expect_error(decode_frame(raw_frame(4 + 2, 3, "{}"))),
             Catch::Contains("header length 3 is beyond the frame's 2 bytes"));
  CHECK_THAT(expect_error(decode_frame(raw_frame(4 + 2, 0xffffff, "{}"))),
             Catch::Contains("beyond"));
}

TEST_CASE("only JSON headers, with an integer code and opaque", "[remoting]") {
  CHECK_THAT(expect_error(decode_frame(raw_frame(6, 1u << 24 | 2, "{}"))),
             Catch::Contains("serialize type 1 is not JSON"));
  CHECK_THAT(expect_error(decode_frame(raw_frame(6, 2, "[]"))), Catch::Contains("not a JSON obj"));
  CHECK_THAT(expect_error(decode_frame(raw_frame(7, 3, "{x}"))), Catch::Contains("not valid JSON"));
  CHECK_THAT(expect_error(decode_frame(raw_frame(4 + 10, 10, R"({"code":0})"))),
             Catch::Contains("no opaque"));
  const std::string big = R"({"code":0,"opaque":4294967296})";
  CHECK_THAT(expect_error(decode_frame(raw_frame(4 + big.size(), big.size(), big))),
             Catch::Contains("opaque is not a 32-bit integer"));
  const std::string ext = R"({"code":0,"opaque":1,"extFields":{"a":1}})";
  CHECK_THAT(expect_error(decode_frame(raw_frame(4 + ext.size(), ext.size(), ext))),
             Catch::Contains("extFields.a is not a string"));
  const std::string nulls = R"({"code":0,"opaque":1,"remark":null,"extFields":null})";
  CHECK(expect_decoded(decode_frame(raw_frame(4 + nulls.size(), nulls.size(), nulls)),
                       8 + nulls.size())
            .remark.empty());
}

TEST_CASE("the runtime table's timer figures, strings to numbers", "[remoting]") {
  const auto parsed = parse_runtime_info(
      R"({"table":{"timerReadBehind":"3","timerOffsetBehind":"120","timerCongestNum":"0",)"
      R"("timerEnqueueTps":"10.5","timerDequeueTps":"0.0","brokerVersion":"479"}})");
  REQUIRE(std::holds_alternative<TimerRuntime>(parsed));
  const TimerRuntime& runtime = std::get<TimerRuntime>(parsed);
  CHECK(runtime.read_behind_seconds == 3);
  CHECK(runtime.offset_behind_messages == 120);
  CHECK(runtime.congested_messages == 0);
  CHECK(runtime.enqueue_per_second == 10.5);
  CHECK(runtime.dequeue_per_second == 0);

  const auto without_timer = parse_runtime_info(R"({"table":{"brokerVersion":"479"}})");
  REQUIRE(std::holds_alternative<TimerRuntime>(without_timer));
  CHECK_FALSE(std::get<TimerRuntime>(without_timer).read_behind_seconds);

  for (const char* bad : {R"({"table":{"timerReadBehind":"fast"}})",
                          R"({"table":{"timerReadBehind":3}})", R"({"table":[]})", "nope"}) {
    const auto result = parse_runtime_info(bad);
    REQUIRE(std::holds_alternative<SourceError>(result));
    CHECK(std::get<SourceError>(result).reason == "malformed");
  }
}

TEST_CASE("the ACL signature equals RocketMQ's own AclClientRPCHook's", "[remoting]") {
  // Each line: access key, secret key, extFields as k=v,k=v or "-", and the Signature RocketMQ
  // 5.3.3's AclClientRPCHook computed for that request (tests/rocketmq/.../AclSignature.java),
  // one with a stale Signature already among the fields.
  std::istringstream lines(fixture("acl_signatures.txt"));
  int cases = 0;
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream words(line);
    std::string access_key, secret_key, fields, expected;
    REQUIRE(words >> access_key >> secret_key >> fields >> expected);
    std::map<std::string, std::string> ext_fields;
    std::istringstream pairs(fields == "-" ? "" : fields);
    for (std::string pair; std::getline(pairs, pair, ',');) {
      ext_fields[pair.substr(0, pair.find('='))] = pair.substr(pair.find('=') + 1);
    }
    sign_request(ext_fields, "", access_key, secret_key);
    CHECK(ext_fields.at("AccessKey") == access_key);
    CHECK(ext_fields.at("Signature") == expected);
    ++cases;
  }
  CHECK(cases == 4);
}

TEST_CASE("frames a real RocketMQ 5.3.3 broker answered", "[remoting]") {
  // tests/remoting/capture_frames.py against the broker of e2e_remoting.sh, after rm_orders got
  // 30 timing messages and rm_doomed 20: requests 21, 61, 28 and 99999 with opaques 1 to 4.
  const std::string topics_frame = fixture("response_21.bin");
  const Command topics = expect_decoded(decode_frame(topics_frame), topics_frame.size());
  CHECK(topics.code == kSuccess);
  CHECK(topics.is_response());
  CHECK(topics.opaque == 1);
  CHECK(topics.language == "JAVA");
  const auto list = parse_topics_json(topics.body, 0, "GET_ALL_TOPIC_CONFIG");
  REQUIRE(std::holds_alternative<ParsedTopics>(list));
  const TopicList& table = std::get<ParsedTopics>(list).list;
  CHECK(table.stamp.revision.has_value());
  std::set<std::string> names;
  for (const ListedTopic& topic : table.topics) names.insert(topic.name);
  CHECK(names.count("rm_orders") == 1);
  CHECK(names.count("rm_doomed") == 1);
  CHECK(names.count("TBW102") == 0);  // a system topic, skipped

  const std::string timer_frame = fixture("response_61.bin");
  const Command timer = expect_decoded(decode_frame(timer_frame), timer_frame.size());
  CHECK(timer.opaque == 2);
  const auto counts = parse_timer_metrics(timer.body, "GET_TIMER_METRICS");
  REQUIRE(std::holds_alternative<ParsedTopics>(counts));
  std::map<std::string, int64_t> by_topic;
  for (const ListedTopic& topic : std::get<ParsedTopics>(counts).list.topics) {
    by_topic[topic.name] = topic.timing.value_or(-1);
  }
  CHECK(by_topic["rm_orders"] == 30);
  CHECK(by_topic["rm_doomed"] == 20);

  const std::string runtime_frame = fixture("response_28.bin");
  const Command runtime = expect_decoded(decode_frame(runtime_frame), runtime_frame.size());
  CHECK(runtime.opaque == 3);
  const auto figures = parse_runtime_info(runtime.body);
  REQUIRE(std::holds_alternative<TimerRuntime>(figures));
  CHECK(std::get<TimerRuntime>(figures).read_behind_seconds.has_value());
  CHECK(std::get<TimerRuntime>(figures).offset_behind_messages.has_value());
  CHECK(std::get<TimerRuntime>(figures).enqueue_per_second.has_value());

  // REQUEST_CODE_NOT_SUPPORTED, with the broker's remark.
  const std::string refused_frame = fixture("response_99999.bin");
  const Command refused = expect_decoded(decode_frame(refused_frame), refused_frame.size());
  CHECK(refused.opaque == 4);
  CHECK(refused.code == 3);
  CHECK_THAT(refused.remark, Catch::Contains("not supported"));
}
