// libFuzzer target for the remoting codec (remoting_codec.hpp) as the client reads a stream: frames
// decoded one after another from the input, and each body read as the three responses the source
// parses. Besides crashes and sanitizer reports, it checks the codec's promises: a decoded frame
// consumes bytes it was given, never more than 16 MiB; Incomplete asks for more than it has, from
// at most the 8-byte prefix or the frame's own length; a decoded command encodes back to a frame
// that decodes to the same command.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <variant>

#include "timing_sidecar/remoting_codec.hpp"

namespace {

using namespace timing_sidecar;
using namespace timing_sidecar::remoting;

constexpr int64_t kRequestedAtMs = 1'700'000'000'000;

void require(bool condition) {
  if (!condition) std::abort();
}

void parse_bodies(const std::string& body) {
  (void)parse_topics_json(body, kRequestedAtMs, "GET_ALL_TOPIC_CONFIG");
  (void)parse_timer_metrics(body, "GET_TIMER_METRICS");
  (void)parse_runtime_info(body);
}

void check_round_trip(const Command& command) {
  const std::string again = encode_command(command);
  const DecodeResult result = decode_frame(again);
  const auto* decoded = std::get_if<Decoded>(&result);
  require(decoded != nullptr && decoded->consumed == again.size());
  const Command& copy = decoded->command;
  require(copy.code == command.code && copy.opaque == command.opaque && copy.flag == command.flag &&
          copy.remark == command.remark && copy.ext_fields == command.ext_fields &&
          copy.body == command.body);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view stream(reinterpret_cast<const char*>(data), size);
  while (!stream.empty()) {
    const DecodeResult result = decode_frame(stream);
    if (const auto* incomplete = std::get_if<Incomplete>(&result)) {
      require(incomplete->needed > stream.size() && incomplete->needed <= kMaxFrameBytes);
      break;
    }
    if (std::holds_alternative<FrameError>(result)) break;
    const Decoded& decoded = std::get<Decoded>(result);
    require(decoded.consumed >= 8 && decoded.consumed <= stream.size() &&
            decoded.consumed <= kMaxFrameBytes);
    check_round_trip(decoded.command);
    parse_bodies(decoded.command.body);
    stream.remove_prefix(decoded.consumed);
  }
  return 0;
}
