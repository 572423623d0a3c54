#pragma once

// RocketMQ's remoting protocol (the broker's own TCP admin protocol, what mqadmin and
// rocketmq-exporter speak), as far as the remoting source needs it. Pure functions, bytes in and
// values out: the socket is remoting_client.hpp's job.
//
// A frame (RemotingCommand.encode / decode, checked against RocketMQ 5.3.3):
//   int32 BE length        = 4 + header length + body length (the length field excludes itself)
//   int32 BE               = serialize type << 24 | header length (JSON = 0, the only one here)
//   header                 JSON: code, language, version, opaque, flag, remark, extFields,
//                          serializeTypeCurrentRPC
//   body                   the rest
// The broker's decoder refuses a frame over 16 MiB (NettyDecoder's FRAME_MAX_LENGTH, the length
// field included); the client refuses the same.

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "timing_sidecar/rocketmq_files.hpp"

namespace timing_sidecar::remoting {

constexpr size_t kMaxFrameBytes = size_t{16} << 20;

// RequestCode values of the requests the source sends.
constexpr int kGetAllTopicConfig = 21;
constexpr int kGetBrokerRuntimeInfo = 28;
constexpr int kGetTimerMetrics = 61;
// ResponseCode.SUCCESS.
constexpr int kSuccess = 0;

constexpr int kFlagResponse = 1;  // bit 0
constexpr int kFlagOneway = 2;    // bit 1

struct Command {
  int code = 0;
  int32_t opaque = 0;
  int flag = 0;
  int version = 0;
  std::string language;
  std::string remark;
  std::map<std::string, std::string> ext_fields;
  std::string body;

  bool is_response() const { return (flag & kFlagResponse) != 0; }
};

// A request frame as RocketMQ's Java client writes one: language "CPP", JSON serialization.
std::string encode_request(int code, int32_t opaque,
                           const std::map<std::string, std::string>& ext_fields);
// Any command (requests and responses: the stand-in broker and the tests need both).
std::string encode_command(const Command& command);

// decode_frame's outcomes: more bytes are needed (at least `needed` in all), or one command was
// decoded from the first `consumed` bytes.
struct Incomplete {
  size_t needed = 0;
};
struct Decoded {
  Command command;
  size_t consumed = 0;
};
// A frame that can never be decoded: over 16 MiB, a header length beyond the frame, another
// serialization, a header that is not the JSON above. The message says what and where.
struct FrameError {
  std::string message;
};
using DecodeResult = std::variant<Incomplete, Decoded, FrameError>;

// Decodes the first frame of `buffer`. Decides from the 8-byte prefix alone whether a frame can
// be too long, so a reader never buffers more than kMaxFrameBytes.
DecodeResult decode_frame(std::string_view buffer);

// What RocketMQ's AclClientRPCHook adds to a request (5.3.3): extFields gets "AccessKey", then
// "Signature" = base64(HmacSHA1(secret key, the extFields' values in key order, Signature left
// out, followed by the body)).
std::string acl_signature(const std::map<std::string, std::string>& ext_fields,
                          std::string_view body, std::string_view secret_key);
void sign_request(std::map<std::string, std::string>& ext_fields, std::string_view body,
                  std::string_view access_key, std::string_view secret_key);

// GET_BROKER_RUNTIME_INFO's body, {"table":{"timerReadBehind":"0",...}}: the timer's figures, each
// absent when the broker does not report it (timers disabled, an older broker).
struct TimerRuntime {
  std::optional<double> read_behind_seconds;     // timerReadBehind
  std::optional<double> offset_behind_messages;  // timerOffsetBehind
  std::optional<double> congested_messages;      // timerCongestNum
  std::optional<double> enqueue_per_second;      // timerEnqueueTps
  std::optional<double> dequeue_per_second;      // timerDequeueTps
};
std::variant<TimerRuntime, SourceError> parse_runtime_info(std::string_view body);

}  // namespace timing_sidecar::remoting
