#include "admin_ops.hpp"

#include <chrono>
#include <initializer_list>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <vector>

#include "timing_sidecar/events.hpp"

namespace broker_sim {

using nlohmann::json;
using timing_sidecar::EventType;

namespace {

// RocketMQ 5's TopicMessageType values.
constexpr std::string_view kMessageTypes[] = {"UNSPECIFIED", "NORMAL",      "FIFO",
                                              "DELAY",       "TRANSACTION", "MIXED"};
// Far beyond any broker's timerMaxDelaySec, yet it catches seconds-for-milliseconds mistakes.
constexpr int64_t kMaxDelayMs = 365LL * 24 * 3600 * 1000;
// 2100-01-01T00:00:00Z.
constexpr int64_t kLatestPlausibleEpochMs = 4102444800000;

struct InvalidOp : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Op {
  enum class Kind { kCreate, kDelete, kEnqueue, kEnqueueMany, kDequeue, kDequeueMany, kCancel };
  Kind kind = Kind::kCreate;
  std::string topic;
  std::string message_type = "DELAY";
  bool silent = false;
  std::string id;  // empty: generated (enqueue only)
  std::optional<int64_t> deliver_at_ms;
  std::optional<int64_t> delay_ms;
  int64_t count = 0;
  int64_t max_delay_ms = 0;
};

// Reads the members of one op's object, refusing any it does not list. In a batch every object
// also has the "op" member that named it.
class Fields {
 public:
  Fields(const json& object, std::initializer_list<std::string_view> allowed, bool in_batch)
      : object_(object) {
    if (!object.is_object()) throw InvalidOp("the body must be a JSON object");
    for (const auto& item : object.items()) {
      bool known = in_batch && item.key() == "op";
      for (std::string_view name : allowed) known = known || item.key() == name;
      if (!known) throw InvalidOp("unknown member \"" + item.key() + "\"");
    }
  }

  bool has(const char* name) const { return object_.contains(name); }

  std::string string(const char* name) const {
    const json* value = find(name);
    if (value == nullptr) throw InvalidOp(std::string(name) + " is required");
    if (!value->is_string()) throw InvalidOp(std::string(name) + " must be a string");
    return value->get<std::string>();
  }

  std::optional<int64_t> integer(const char* name, int64_t min, int64_t max) const {
    const json* value = find(name);
    if (value == nullptr) return std::nullopt;
    const std::string range =
        " must be an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "]";
    if (!value->is_number_integer() ||
        (value->is_number_unsigned() && value->get<uint64_t>() > static_cast<uint64_t>(max))) {
      throw InvalidOp(name + range);
    }
    const auto number = value->get<int64_t>();
    if (number < min || number > max) throw InvalidOp(name + range);
    return number;
  }

  bool boolean(const char* name) const {
    const json* value = find(name);
    if (value == nullptr) return false;
    if (!value->is_boolean()) throw InvalidOp(std::string(name) + " must be true or false");
    return value->get<bool>();
  }

 private:
  const json* find(const char* name) const {
    auto it = object_.find(name);
    return it == object_.end() ? nullptr : &*it;
  }

  const json& object_;
};

std::string topic_name(const Fields& fields, const char* member) {
  std::string name = fields.string(member);
  if (!timing_sidecar::is_valid_topic_name(name)) {
    throw InvalidOp(std::string(member) +
                    " must match ^[%|a-zA-Z0-9_-]+$ and have at most 127 characters");
  }
  return name;
}

std::string message_id(const Fields& fields) {
  std::string id = fields.string("id");
  if (id.empty() || id.size() > timing_sidecar::kMaxMessageIdLength) {
    throw InvalidOp("id must have 1 to " + std::to_string(timing_sidecar::kMaxMessageIdLength) +
                    " characters");
  }
  for (const char c : id) {
    if (c <= ' ' || c > '~') throw InvalidOp("id must be printable ASCII without spaces");
  }
  return id;
}

Op parse_create(const json& object, bool in_batch) {
  const Fields fields(object, {"name", "messageType"}, in_batch);
  Op op;
  op.kind = Op::Kind::kCreate;
  op.topic = topic_name(fields, "name");
  if (fields.has("messageType")) {
    op.message_type = fields.string("messageType");
    bool known = false;
    for (std::string_view type : kMessageTypes) known = known || op.message_type == type;
    if (!known) {
      throw InvalidOp(
          "messageType must be one of UNSPECIFIED, NORMAL, FIFO, DELAY, TRANSACTION, MIXED");
    }
  }
  return op;
}

Op parse_delete(const json& object, bool in_batch) {
  const Fields fields(object, {"name", "silent"}, in_batch);
  Op op;
  op.kind = Op::Kind::kDelete;
  op.topic = topic_name(fields, "name");
  op.silent = fields.boolean("silent");
  return op;
}

Op parse_enqueue(const json& object, bool in_batch) {
  const Fields fields(object, {"topic", "id", "deliverAtMs", "delayMs", "count", "maxDelayMs"},
                      in_batch);
  Op op;
  op.topic = topic_name(fields, "topic");
  if (fields.has("count")) {
    if (fields.has("id") || fields.has("deliverAtMs") || fields.has("delayMs")) {
      throw InvalidOp("count goes with maxDelayMs only, not with id, deliverAtMs or delayMs");
    }
    op.kind = Op::Kind::kEnqueueMany;
    op.count = *fields.integer("count", 1, AdminOps::kMaxCount);
    const auto max_delay_ms = fields.integer("maxDelayMs", 0, kMaxDelayMs);
    if (!max_delay_ms) throw InvalidOp("maxDelayMs is required with count");
    op.max_delay_ms = *max_delay_ms;
    return op;
  }
  if (fields.has("maxDelayMs")) throw InvalidOp("maxDelayMs goes with count only");
  op.kind = Op::Kind::kEnqueue;
  if (fields.has("id")) op.id = message_id(fields);
  op.deliver_at_ms = fields.integer("deliverAtMs", timing_sidecar::kEarliestPlausibleEpochMs,
                                    kLatestPlausibleEpochMs);
  op.delay_ms = fields.integer("delayMs", 0, kMaxDelayMs);
  if (op.deliver_at_ms.has_value() == op.delay_ms.has_value()) {
    throw InvalidOp("exactly one of deliverAtMs (epoch milliseconds) and delayMs is required");
  }
  return op;
}

Op parse_dequeue(const json& object, bool in_batch) {
  const Fields fields(object, {"topic", "id", "count"}, in_batch);
  Op op;
  op.topic = topic_name(fields, "topic");
  if (fields.has("id") == fields.has("count")) {
    throw InvalidOp("exactly one of id and count is required");
  }
  if (fields.has("count")) {
    op.kind = Op::Kind::kDequeueMany;
    op.count = *fields.integer("count", 1, AdminOps::kMaxCount);
  } else {
    op.kind = Op::Kind::kDequeue;
    op.id = message_id(fields);
  }
  return op;
}

Op parse_cancel(const json& object, bool in_batch) {
  const Fields fields(object, {"topic", "id"}, in_batch);
  Op op;
  op.kind = Op::Kind::kCancel;
  op.topic = topic_name(fields, "topic");
  op.id = message_id(fields);
  return op;
}

Op parse_op(const std::string& name, const json& object, bool in_batch) {
  if (name == "create") return parse_create(object, in_batch);
  if (name == "delete") return parse_delete(object, in_batch);
  if (name == "enqueue") return parse_enqueue(object, in_batch);
  if (name == "dequeue") return parse_dequeue(object, in_batch);
  if (name == "cancel") return parse_cancel(object, in_batch);
  throw InvalidOp("op must be create, delete, enqueue, dequeue or cancel");
}

int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

Reply error_reply(int status, const std::string& message) {
  return {status, {{"error", message}}};
}

Reply message_reply(const Op& op, const MessageResult& result) {
  switch (result.outcome) {
    case Outcome::kOk:
      return {200, {{"topic", op.topic}, {"id", result.id}, {"revision", result.revision}}};
    case Outcome::kNoTopic:
      return error_reply(404, "no topic \"" + op.topic + "\"");
    case Outcome::kNoMessage:
      return error_reply(404, "no pending message \"" + op.id + "\" in topic \"" + op.topic + "\"");
    case Outcome::kDuplicateId:
      return error_reply(
          409, "message \"" + result.id + "\" is already pending in topic \"" + op.topic + "\"");
  }
  return error_reply(500, "unexpected outcome");
}

Reply messages_reply(const Op& op, const MessagesResult& result) {
  if (result.outcome == Outcome::kNoTopic) return error_reply(404, "no topic \"" + op.topic + "\"");
  return {200, {{"topic", op.topic}, {"ids", result.ids}, {"revision", result.revision}}};
}

Reply apply_op(BrokerState& state, const Op& op) {
  switch (op.kind) {
    case Op::Kind::kCreate: {
      const CreateResult result = state.create_topic(op.topic, op.message_type);
      return {200,
              {{"name", op.topic}, {"created", result.created}, {"revision", result.revision}}};
    }
    case Op::Kind::kDelete: {
      const std::optional<int64_t> revision = state.delete_topic(op.topic, op.silent);
      if (!revision) return error_reply(404, "no topic \"" + op.topic + "\"");
      return {200, {{"name", op.topic}, {"revision", *revision}}};
    }
    case Op::Kind::kEnqueue: {
      const int64_t deliver_at_ms = op.deliver_at_ms ? *op.deliver_at_ms : now_ms() + *op.delay_ms;
      Reply reply = message_reply(op, state.enqueue(op.topic, op.id, deliver_at_ms));
      if (reply.status == 200) reply.body["deliverAtMs"] = deliver_at_ms;
      return reply;
    }
    case Op::Kind::kEnqueueMany:
      return messages_reply(op,
                            state.enqueue_random(op.topic, op.count, now_ms(), op.max_delay_ms));
    case Op::Kind::kDequeue:
      return message_reply(op, state.remove_message(op.topic, op.id, EventType::kTimerDequeued));
    case Op::Kind::kDequeueMany:
      return messages_reply(op, state.dequeue_earliest(op.topic, op.count));
    case Op::Kind::kCancel:
      return message_reply(op, state.remove_message(op.topic, op.id, EventType::kTimerCancelled));
  }
  return error_reply(500, "unexpected op");
}

}  // namespace

Reply AdminOps::apply(const std::string& op, const json& fields) {
  try {
    return apply_op(state_, parse_op(op, fields, false));
  } catch (const InvalidOp& error) {
    return error_reply(400, error.what());
  }
}

Reply AdminOps::batch(const json& body) {
  std::vector<Op> ops;
  try {
    const Fields only_ops(body, {"ops"}, false);
    auto it = body.find("ops");
    if (it == body.end() || !it->is_array()) throw InvalidOp("ops must be an array");
    if (it->size() > kMaxBatchOps) {
      throw InvalidOp("at most " + std::to_string(kMaxBatchOps) + " ops per batch");
    }
    ops.reserve(it->size());
    for (size_t i = 0; i < it->size(); ++i) {
      const json& object = (*it)[i];
      try {
        if (!object.is_object() || !object.contains("op") || !object["op"].is_string()) {
          throw InvalidOp("op must be a string");
        }
        ops.push_back(parse_op(object["op"].get<std::string>(), object, true));
      } catch (const InvalidOp& error) {
        throw InvalidOp("ops[" + std::to_string(i) + "]: " + error.what());
      }
    }
  } catch (const InvalidOp& error) {
    return error_reply(400, error.what());
  }

  json results = json::array();
  for (const Op& op : ops) {
    Reply reply = apply_op(state_, op);
    reply.body["status"] = reply.status;
    results.push_back(std::move(reply.body));
  }
  return {200, {{"revision", state_.revision()}, {"results", std::move(results)}}};
}

}  // namespace broker_sim
