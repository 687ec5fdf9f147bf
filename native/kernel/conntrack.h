// Conntrack entries (ctnetlink): deleting the flows of some destinations, so that removed
// published ports stop forwarding the connections they already had.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "netlink.h"

namespace cnm {

// Which entries to delete: by their original direction (what the client sent to).
struct ConntrackFilter {
  int family = 0;                   // AF_INET or AF_INET6
  uint8_t protocol = 0;             // IPPROTO_TCP, IPPROTO_UDP, ...
  std::vector<uint8_t> dst;         // destination address (4 or 16 bytes); empty: any
  std::optional<uint16_t> dstPort;  // destination port; absent: any
};

// Deletes the entries that match any of the filters, in one sweep: the table is dumped once per
// family (a dump walks the whole hash table, however few entries it holds), and returns how many
// it deleted (entries that went away by themselves meanwhile do not count).
uint32_t conntrackDelete(NlSocket& socket, const std::vector<ConntrackFilter>& filters);

}  // namespace cnm
