// The sockets of a sandbox's embedded DNS server, opened inside the sandbox's namespace (the
// caller's thread must be in it): a UDP and a TCP socket bound to 127.0.0.11 on ports the kernel
// picks (a rule redirects 127.0.0.11:53 to them, so that the sandbox keeps port 53 for its own
// processes). Queries forwarded upstream get sockets of their own, one per query (dns-upstream.h).
// All non-blocking and close-on-exec; the caller owns them.
#pragma once

#include <cstdint>

namespace cnm {

struct DnsSockets {
  int udp = -1;
  int tcp = -1;    // listening
  int netns = -1;  // the namespace itself, where forwarded queries' sockets are opened (the batch op's)
  uint16_t udpPort = 0;
  uint16_t tcpPort = 0;
};

DnsSockets openDnsSockets();

}  // namespace cnm
