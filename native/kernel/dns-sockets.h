// The sockets of a sandbox's embedded DNS server, opened inside the sandbox's namespace (the
// caller's thread must be in it): a UDP and a TCP socket bound to 127.0.0.11 on ports the kernel
// picks (a rule redirects 127.0.0.11:53 to them, so that the sandbox keeps port 53 for its own
// processes). Queries forwarded upstream get sockets of their own, one per query (dns-upstream.h).
// All non-blocking and close-on-exec.
#pragma once

#include <cstdint>

#include "fd.h"

namespace cnm {

struct DnsSockets {
  int udp = -1;
  int tcp = -1;    // listening
  int netns = -1;  // the namespace itself, where forwarded queries' sockets are opened (the batch op's)
  uint16_t udpPort = 0;
  uint16_t tcpPort = 0;
};

// The ports to bind them to; 0: the kernel picks.
struct ResolverPorts {
  uint16_t udp = 0;
  uint16_t tcp = 0;
};

// The sockets while cnm-ts still owns them (a batch's, or kept for a new namespace).
struct ResolverSockets {
  Fd udp;
  Fd tcp;
  uint16_t udpPort = 0;
  uint16_t tcpPort = 0;
  // Hands them over with the namespace's descriptor `netns`: whoever takes the result closes them.
  DnsSockets release(int netns);
  // Whether they are on `wanted` (a 0 there takes any port).
  bool on(const ResolverPorts& wanted) const;
};

// Opens them in the calling thread's namespace (lo up), on `ports` if free, else on ports the
// kernel picks.
ResolverSockets openDnsSockets(ResolverPorts ports);

// Closes the descriptors of sockets that were handed over but never reached their taker (a batch
// that failed after opening them).
void closeDnsSockets(const DnsSockets& sockets);

}  // namespace cnm
