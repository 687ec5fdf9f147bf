// The socket of one query forwarded to an upstream server. Each query gets a socket of its own,
// as Docker's resolver dials one per query: the kernel picks a fresh random source port for it, so
// that a forged reply must guess the port as well as the 16-bit id (RFC 5452; the lesson of
// CVE-2008-1447). The socket is opened in the namespace the server is asked from (the sandbox's,
// or the host's for the host's own servers) and connected to the server, so that the kernel takes
// datagrams from that address and port only.
#pragma once

#include <cstdint>
#include <vector>

#include "fd.h"

namespace cnm {

struct UpstreamSocket {
  Fd fd;
  int error = 0;            // errno: nothing to wait for, the query failed
  bool connecting = false;  // TCP: the connect goes on in the background (EPOLLOUT tells its end)
};

// Opens a socket in the namespace `nsfd` and connects it to `peer` (a sockaddr_in or _in6),
// without waiting. The calling thread enters `nsfd` for the socket() call only and goes back to
// `homefd` at once (no setns at all when they are the same), so that it never keeps a sandbox's
// namespace alive. A UDP socket also sends `query`.
UpstreamSocket openUpstream(int nsfd, int homefd, const std::vector<uint8_t>& peer, bool tcp, const std::vector<uint8_t>& query);

}  // namespace cnm
