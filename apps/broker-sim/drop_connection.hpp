#pragma once

namespace httplib {
struct Request;
struct Response;
}  // namespace httplib

namespace broker_sim {

// Hangs up on the client of `req` without sending it a byte, as a broker that crashes or a
// proxy that resets mid-request does.
//
// cpp-httplib 0.11.4 gives handlers no access to the socket, and an exception or a status is
// still a reply. But the connection's socket is an open descriptor of this process whose peer is
// req.remote_addr:remote_port and whose local port is req.local_port: it is found by scanning
// /proc/self/fd and shut down (SHUT_RDWR). The client sees an orderly close with no response
// (httplib::Client reports Error::Read); httplib then fails to write the reply and closes the
// socket itself. Linux only, like the rest of the project's deployment.
//
// Should the socket not be found, `res` is made a reply that promises a body and aborts after
// the headers, so the client still gets no usable response.
void drop_connection(const httplib::Request& req, httplib::Response& res);

}  // namespace broker_sim
