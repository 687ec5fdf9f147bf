// Inside a sandbox's namespace, 127.0.0.11:53 is sent to the ports its embedded DNS server's
// sockets got (as Docker's DOCKER_OUTPUT chain does), so that port 53 stays free for the
// sandbox's own processes; conntrack turns the replies' source back into 127.0.0.11:53. Built
// here rather than in JS: the join that opens the sockets installs the redirect in the same
// batch, for the ports they actually got, at no cost to the JS thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "nftables.h"

namespace cnm {

// The commands that make the inet table `table` (or empty an earlier one: its chain stays) with
// an output nat chain sending 127.0.0.11:53 to `udpPort` over UDP and `tcpPort` over TCP.
std::vector<NftCommand> dnsRedirectCommands(const std::string& table, uint16_t udpPort, uint16_t tcpPort);

}  // namespace cnm
