#pragma once

// The simulated broker's HTTP listener: the broker API a broker-side plugin implements
// (GET /v1/topics, GET /v1/events), where faults are injected, and the /admin/* API that tests,
// the demo and the benchmarks drive the broker with, never subject to faults.

#include <memory>
#include <string>
#include <thread>

#include "admin_ops.hpp"
#include "broker_state.hpp"
#include "fault_injector.hpp"
#include "timing_sidecar/config.hpp"
#include "webhook_pusher.hpp"

namespace httplib {
class Server;
}

namespace broker_sim {

class BrokerHttp {
 public:
  // A long-poll holds a thread for up to its timeout: `threads` bounds how many clients can
  // wait at once while admin calls still get through.
  BrokerHttp(BrokerState& state, FaultInjector& faults, const WebhookPusher* pusher, int threads);
  ~BrokerHttp();

  // Binds (port 0: any free port) and serves from a thread of its own.
  bool start(const timing_sidecar::ListenAddress& address, std::string* error);
  int port() const { return port_; }
  // Returns once every handler has returned: wake long-polls and fault delays first.
  void stop();

 private:
  void route_broker_api();
  void route_admin_api();

  BrokerState& state_;
  FaultInjector& faults_;
  const WebhookPusher* pusher_;
  AdminOps ops_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace broker_sim
