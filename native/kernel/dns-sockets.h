// The sockets of a sandbox's embedded DNS server, opened inside the sandbox's namespace (the
// caller's thread must be in it): a UDP and a TCP socket bound to 127.0.0.11 on ports the kernel
// picks (a rule redirects 127.0.0.11:53 to them, so that the sandbox keeps port 53 for its own
// processes), and an unbound UDP socket through which queries for other names leave like the
// sandbox's own traffic. All non-blocking and close-on-exec; the caller owns them.
#pragma once

#include <cstdint>

namespace cnm {

struct DnsSockets {
  int udp = -1;          // -1 without listening sockets
  int tcp = -1;          // listening
  int forward = -1;      // to upstream servers
  int hostForward = -1;  // to upstream servers, from the host's namespace (the batch op's option)
  uint16_t udpPort = 0;
  uint16_t tcpPort = 0;
};

// `listen`: the two listening sockets too; else only the forwarding socket (for upstream servers
// that are reached from the host's namespace).
DnsSockets openDnsSockets(bool listen);

}  // namespace cnm
