// Interface addresses (RTM_NEWADDR / RTM_DELADDR / RTM_GETADDR).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "netlink.h"

namespace cnm {

struct AddressInfo {
  std::string ifname;
  uint32_t index = 0;
  int family = 0;
  std::string address;  // without the prefix length
  uint8_t prefixLength = 0;
  std::string scope;  // "global", "link", "host", ...
};

// `cidr` is "10.0.0.2/24" or "fd00::2/64". IPv4 addresses get the subnet's broadcast address;
// `nodad` IPv6 addresses skip duplicate address detection (IFA_F_NODAD), usable at once.
void addressAdd(NlSocket& sock, const std::string& ifname, const std::string& cidr, bool nodad = false);
void addressDelete(NlSocket& sock, const std::string& ifname, const std::string& cidr);
// Every address, or those of one link; family AF_UNSPEC for both families.
std::vector<AddressInfo> addressList(NlSocket& sock, const std::string& ifname, int family);
// One RTM_NEWADDR message (ifname left empty), or nothing for another message or one without an
// address. Throws EBADMSG if it is cut short.
std::optional<AddressInfo> parseAddress(const nlmsghdr* h);

// "global", "link", "host", "site", "nowhere", or the number.
std::string scopeName(uint8_t scope);

}  // namespace cnm
