#pragma once

// `timing-sidecar notify`: signs a batch of events and sends it to a sidecar's webhook, so an
// operator can wire `mqadmin deleteTopic` (or any script) to the sidecar without writing HMAC
// code.

namespace timing_sidecar {

// argv[0] is "notify". Returns the process exit code.
int run_notify(int argc, const char* const* argv);

}  // namespace timing_sidecar
