#pragma once

// The admin operations on the simulated broker, from their JSON bodies: the single endpoints
// (POST /admin/topics, /admin/enqueue, /admin/dequeue, /admin/cancel, DELETE /admin/topics/T)
// and POST /admin/batch, whose ops are those same bodies plus an "op" member. Unknown members
// are refused, so that a typo in a test fails loudly instead of being ignored.

#include <nlohmann/json.hpp>
#include <string>

#include "broker_state.hpp"

namespace broker_sim {

struct Reply {
  int status = 200;
  nlohmann::json body;
};

class AdminOps {
 public:
  static constexpr int64_t kMaxCount = 1'000'000;
  static constexpr size_t kMaxBatchOps = 100'000;

  explicit AdminOps(BrokerState& state) : state_(state) {}

  // `op` is create, delete, enqueue, dequeue or cancel.
  Reply apply(const std::string& op, const nlohmann::json& fields);
  // {"ops":[{"op":"enqueue",...},...]}. Every op is validated before the first is applied, so a
  // malformed batch changes nothing; ops that fail on the state (404, 409) are reported in
  // their own result and do not stop the others.
  Reply batch(const nlohmann::json& body);

 private:
  BrokerState& state_;
};

}  // namespace broker_sim
