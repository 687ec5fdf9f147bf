// Routes (RTM_NEWROUTE / RTM_DELROUTE / RTM_GETROUTE).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "netlink.h"

namespace cnm {

struct RouteSpec {
  std::string destination;  // "default" or a CIDR ("10.1.0.0/16")
  int family = 0;           // needed for "default" without a gateway; else taken from the addresses
  std::string gateway;
  std::string dev;
  std::optional<uint32_t> metric;
  std::optional<uint32_t> table;     // default: main (254)
  std::optional<std::string> scope;  // "global", "link", "host"; default as `ip route` picks it
};

struct RouteInfo {
  int family = 0;
  std::string destination;  // "default" or a CIDR
  std::string gateway;
  std::string dev;
  uint32_t metric = 0;
  uint32_t table = 0;
  std::string scope;
  std::string protocol;  // "kernel", "boot", "static", or the number
  std::string type;      // "unicast", "local", "broadcast", ...
};

enum class RouteChange { Add, Replace, Delete };

void routeChange(NlSocket& sock, RouteChange change, const RouteSpec& spec);
// The routes of one table (default: main), family AF_UNSPEC for both.
std::vector<RouteInfo> routeList(NlSocket& sock, int family, std::optional<uint32_t> table);
// One RTM_NEWROUTE message of `table` (its device named from `names`, by index), or nothing for
// another message or table. Throws EBADMSG if it is cut short.
std::optional<RouteInfo> parseRoute(const nlmsghdr* h, uint32_t table, const std::map<uint32_t, std::string>& names);

}  // namespace cnm
