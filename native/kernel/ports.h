// Host ports held for published container ports, as libnetwork's port allocator does: a socket
// bound to the address and port (not listening), so that nobody else can bind it until it is
// closed. The kernel frees it when the process dies.
#pragma once

#include <cstdint>
#include <string>

namespace cnm {

struct PortReservation {
  int fd = -1;
  uint16_t port = 0;
};

// Binds a `protocol` ("tcp", "udp", "sctp") socket on `address`, on the first free port from
// `port` to `portEnd`; port 0 lets the kernel pick a free one. EADDRINUSE names the range when
// every port in it is taken.
PortReservation reservePort(const std::string& address, const std::string& protocol, uint16_t port, uint16_t portEnd);

// Gives a reserved port back.
void releasePort(int fd);

}  // namespace cnm
