#include "timing_sidecar/remoting_codec.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cerrno>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <tuple>
#include <utility>

#include "timing_sidecar/log.hpp"

namespace timing_sidecar::remoting {

namespace {

using nlohmann::json;

constexpr size_t kPrefixBytes = 8;  // the length field and the type-and-header-length field
constexpr int kSerializeJson = 0;
// RocketMQ's own version code travels in every header; brokers do not check it for these admin
// requests. 479 is what a 5.3.3 broker writes in its own responses (MQVersion V5_3_3).
constexpr int kClientVersion = 479;

void put_int32(std::string& out, uint32_t value) {
  out.push_back(static_cast<char>((value >> 24) & 0xff));
  out.push_back(static_cast<char>((value >> 16) & 0xff));
  out.push_back(static_cast<char>((value >> 8) & 0xff));
  out.push_back(static_cast<char>(value & 0xff));
}

uint32_t get_int32(std::string_view bytes, size_t at) {
  return static_cast<uint32_t>(static_cast<unsigned char>(bytes[at])) << 24 |
         static_cast<uint32_t>(static_cast<unsigned char>(bytes[at + 1])) << 16 |
         static_cast<uint32_t>(static_cast<unsigned char>(bytes[at + 2])) << 8 |
         static_cast<uint32_t>(static_cast<unsigned char>(bytes[at + 3]));
}

// An int member that may be absent (RocketMQ leaves out nulls), or an error message.
std::optional<std::string> read_int(const json& header, const char* name, int& out, bool required) {
  const auto member = header.find(name);
  if (member == header.end() || member->is_null()) {
    return required ? std::optional<std::string>(std::string("header has no ") + name)
                    : std::nullopt;
  }
  const bool in_range = member->is_number_unsigned()
                            ? member->get<uint64_t>() <= static_cast<uint64_t>(INT32_MAX)
                            : member->is_number_integer() && member->get<int64_t>() >= INT32_MIN &&
                                  member->get<int64_t>() <= INT32_MAX;
  if (!in_range) {
    return std::string("header field ") + name + " is not a 32-bit integer";
  }
  out = member->get<int>();
  return std::nullopt;
}

std::variant<Command, std::string> parse_header(std::string_view text) {
  json header;
  try {
    header = json::parse(text.begin(), text.end());
  } catch (const json::exception& error) {
    return "header is not valid JSON: " + excerpt(error.what());
  }
  if (!header.is_object()) return std::string("header is not a JSON object");
  Command command;
  int opaque = 0;
  for (auto [name, field, required] :
       {std::tuple{"code", &command.code, true}, std::tuple{"opaque", &opaque, true},
        std::tuple{"flag", &command.flag, false}, std::tuple{"version", &command.version, false}}) {
    if (auto error = read_int(header, name, *field, required)) return *error;
  }
  command.opaque = opaque;
  for (auto [name, field] :
       {std::pair{"remark", &command.remark}, std::pair{"language", &command.language}}) {
    const auto member = header.find(name);
    if (member == header.end() || member->is_null()) continue;
    if (!member->is_string()) return std::string("header field ") + name + " is not a string";
    *field = member->get<std::string>();
  }
  const auto ext = header.find("extFields");
  if (ext != header.end() && !ext->is_null()) {
    if (!ext->is_object()) return std::string("header field extFields is not an object");
    for (const auto& [key, value] : ext->items()) {
      if (!value.is_string()) return "extFields." + key + " is not a string";
      command.ext_fields[key] = value.get<std::string>();
    }
  }
  return command;
}

std::optional<double> table_number(const json& table, const char* key, std::string& error) {
  const auto member = table.find(key);
  if (member == table.end()) return std::nullopt;
  if (!member->is_string()) {
    error = std::string("table.") + key + " is not a string";
    return std::nullopt;
  }
  const std::string& text = member->get_ref<const std::string&>();
  char* end = nullptr;
  errno = 0;
  const double value = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || errno == ERANGE) {
    error = std::string("table.") + key + " is not a number: " + excerpt(text);
    return std::nullopt;
  }
  return value;
}

}  // namespace

std::string encode_command(const Command& command) {
  json header = {{"code", command.code},       {"language", command.language},
                 {"version", command.version}, {"opaque", command.opaque},
                 {"flag", command.flag},       {"serializeTypeCurrentRPC", "JSON"}};
  if (!command.remark.empty()) header["remark"] = command.remark;
  if (!command.ext_fields.empty()) header["extFields"] = command.ext_fields;
  const std::string header_text = header.dump();
  std::string frame;
  frame.reserve(kPrefixBytes + header_text.size() + command.body.size());
  put_int32(frame, static_cast<uint32_t>(4 + header_text.size() + command.body.size()));
  put_int32(frame, static_cast<uint32_t>(kSerializeJson << 24) |
                       static_cast<uint32_t>(header_text.size()));
  frame += header_text;
  frame += command.body;
  return frame;
}

std::string encode_request(int code, int32_t opaque,
                           const std::map<std::string, std::string>& ext_fields) {
  Command request;
  request.code = code;
  request.opaque = opaque;
  request.language = "CPP";
  request.version = kClientVersion;
  request.ext_fields = ext_fields;
  return encode_command(request);
}

DecodeResult decode_frame(std::string_view buffer) {
  if (buffer.size() < kPrefixBytes) return Incomplete{kPrefixBytes};
  const uint32_t length = get_int32(buffer, 0);
  if (length < 4 || length > kMaxFrameBytes - 4) {
    return FrameError{"frame length " + std::to_string(length) +
                      " is outside 4 to 16 MiB - 4 (the first 4 bytes are not a RocketMQ frame)"};
  }
  const uint32_t type_and_length = get_int32(buffer, 4);
  const uint32_t serialize_type = type_and_length >> 24;
  const uint32_t header_length = type_and_length & 0xffffff;
  if (serialize_type != kSerializeJson) {
    return FrameError{"serialize type " + std::to_string(serialize_type) +
                      " is not JSON (0): only JSON headers are understood"};
  }
  if (header_length > length - 4) {
    return FrameError{"header length " + std::to_string(header_length) + " is beyond the frame's " +
                      std::to_string(length - 4) + " bytes"};
  }
  const size_t total = size_t{4} + length;
  if (buffer.size() < total) return Incomplete{total};
  auto header = parse_header(buffer.substr(kPrefixBytes, header_length));
  if (auto* error = std::get_if<std::string>(&header)) return FrameError{*error};
  Decoded decoded{std::move(std::get<Command>(header)), total};
  decoded.command.body =
      std::string(buffer.substr(kPrefixBytes + header_length, length - 4 - header_length));
  return decoded;
}

std::string acl_signature(const std::map<std::string, std::string>& ext_fields,
                          std::string_view body, std::string_view secret_key) {
  std::string content;
  for (const auto& [key, value] : ext_fields) {
    if (key != "Signature") content += value;
  }
  content += body;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_length = 0;
  HMAC(EVP_sha1(), secret_key.data(), static_cast<int>(secret_key.size()),
       reinterpret_cast<const unsigned char*>(content.data()), content.size(), digest,
       &digest_length);
  std::string encoded(4 * ((digest_length + 2) / 3) + 1, '\0');
  const int written = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(encoded.data()), digest,
                                      static_cast<int>(digest_length));
  encoded.resize(static_cast<size_t>(written));
  return encoded;
}

void sign_request(std::map<std::string, std::string>& ext_fields, std::string_view body,
                  std::string_view access_key, std::string_view secret_key) {
  ext_fields["AccessKey"] = std::string(access_key);
  ext_fields.erase("Signature");
  ext_fields["Signature"] = acl_signature(ext_fields, body, secret_key);
}

std::variant<TimerRuntime, SourceError> parse_runtime_info(std::string_view body) {
  json document;
  try {
    document = json::parse(body.begin(), body.end());
  } catch (const json::exception& error) {
    return SourceError{
        "malformed", "GET_BROKER_RUNTIME_INFO's body is not valid JSON: " + excerpt(error.what())};
  }
  const auto table = document.is_object() ? document.find("table") : document.end();
  if (table == document.end() || !table->is_object()) {
    return SourceError{"malformed", "GET_BROKER_RUNTIME_INFO's body has no table object"};
  }
  TimerRuntime runtime;
  std::string error;
  runtime.read_behind_seconds = table_number(*table, "timerReadBehind", error);
  runtime.offset_behind_messages = table_number(*table, "timerOffsetBehind", error);
  runtime.congested_messages = table_number(*table, "timerCongestNum", error);
  runtime.enqueue_per_second = table_number(*table, "timerEnqueueTps", error);
  runtime.dequeue_per_second = table_number(*table, "timerDequeueTps", error);
  if (!error.empty()) return SourceError{"malformed", "GET_BROKER_RUNTIME_INFO: " + error};
  return runtime;
}

}  // namespace timing_sidecar::remoting
