#include "route.h"

#include <cerrno>
#include <map>

#include "address.h"
#include "error.h"
#include "inet.h"
#include "link.h"

namespace cnm {

namespace {

uint8_t parseScope(const std::string& name, const std::string& object) {
  if (name == "global" || name == "universe") return RT_SCOPE_UNIVERSE;
  if (name == "site") return RT_SCOPE_SITE;
  if (name == "link") return RT_SCOPE_LINK;
  if (name == "host") return RT_SCOPE_HOST;
  throw KernelError(EINVAL, "RTM_NEWROUTE", object + " (bad scope " + name + ")");
}

std::string protocolName(uint8_t p) {
  switch (p) {
    case RTPROT_KERNEL: return "kernel";
    case RTPROT_BOOT: return "boot";
    case RTPROT_STATIC: return "static";
    case RTPROT_RA: return "ra";
    case RTPROT_DHCP: return "dhcp";
    default: return std::to_string(p);
  }
}

std::string typeName(uint8_t t) {
  static const char* names[] = {"unspec",    "unicast",     "local",    "broadcast", "anycast", "multicast",
                                "blackhole", "unreachable", "prohibit", "throw",     "nat",     "xresolve"};
  return t < sizeof names / sizeof *names ? names[t] : std::to_string(t);
}

std::string describe(const RouteSpec& spec) {
  std::string s = "route " + spec.destination;
  if (!spec.gateway.empty()) s += " via " + spec.gateway;
  if (!spec.dev.empty()) s += " dev " + spec.dev;
  return s;
}

}  // namespace

void routeChange(NlSocket& sock, RouteChange change, const RouteSpec& spec) {
  uint16_t type = change == RouteChange::Delete ? RTM_DELROUTE : RTM_NEWROUTE;
  uint16_t flags = change == RouteChange::Add       ? NLM_F_CREATE | NLM_F_EXCL
                   : change == RouteChange::Replace ? NLM_F_CREATE | NLM_F_REPLACE
                                                    : 0;
  std::string object = describe(spec);
  Prefix dst;
  bool isDefault = spec.destination == "default";
  if (!isDefault && !parsePrefix(spec.destination, dst)) {
    throw KernelError(EINVAL, nlMessageName(type), object + " (bad destination)");
  }
  IpAddress gw;
  if (!spec.gateway.empty() && !parseIp(spec.gateway, gw)) {
    throw KernelError(EINVAL, nlMessageName(type), object + " (bad gateway)");
  }
  int family = !isDefault ? dst.address.family : !spec.gateway.empty() ? gw.family : spec.family ? spec.family : AF_INET;
  if (!spec.gateway.empty() && gw.family != family) {
    throw KernelError(EINVAL, nlMessageName(type), object + " (gateway and destination differ in family)");
  }
  NlRequest req(type, flags);
  rtmsg* rt = req.header<rtmsg>();
  rt->rtm_family = family;
  rt->rtm_dst_len = isDefault ? 0 : dst.length;
  uint32_t table = spec.table.value_or(RT_TABLE_MAIN);
  rt->rtm_table = table < 256 ? table : RT_TABLE_UNSPEC;
  if (change != RouteChange::Delete) {
    rt->rtm_protocol = RTPROT_BOOT;
    rt->rtm_type = RTN_UNICAST;
    // As `ip route`: a route with no gateway on IPv4 reaches its destination directly (scope link).
    bool direct = spec.gateway.empty() && family == AF_INET;
    rt->rtm_scope = spec.scope ? parseScope(*spec.scope, object) : direct ? uint8_t{RT_SCOPE_LINK} : uint8_t{RT_SCOPE_UNIVERSE};
  } else {
    rt->rtm_scope = RT_SCOPE_NOWHERE;
  }
  req.putU32(RTA_TABLE, table);
  if (!isDefault) req.put(RTA_DST, dst.address.bytes.data(), dst.address.size());
  if (!spec.gateway.empty()) req.put(RTA_GATEWAY, gw.bytes.data(), gw.size());
  if (!spec.dev.empty()) req.putU32(RTA_OIF, linkIndex(sock, spec.dev));
  if (spec.metric) req.putU32(RTA_PRIORITY, *spec.metric);
  sock.request(req, object);
}

std::vector<RouteInfo> routeList(NlSocket& sock, int family, std::optional<uint32_t> table) {
  std::map<uint32_t, std::string> names;
  for (const LinkInfo& l : linkList(sock)) names[l.index] = l.name;
  uint32_t wanted = table.value_or(RT_TABLE_MAIN);
  NlRequest req(RTM_GETROUTE, 0);
  req.header<rtmsg>()->rtm_family = family;
  std::vector<RouteInfo> out;
  sock.dump(req, [&](const nlmsghdr* h) {
    if (std::optional<RouteInfo> r = parseRoute(h, wanted, names)) out.push_back(std::move(*r));
  });
  return out;
}

std::optional<RouteInfo> parseRoute(const nlmsghdr* h, uint32_t table, const std::map<uint32_t, std::string>& names) {
  if (h->nlmsg_type != RTM_NEWROUTE) return std::nullopt;
  const rtmsg* rt = nlPayload<rtmsg>(h);
  NlAttrs attrs = nlAttrsAfter<rtmsg>(h);
  uint32_t t = attrs.u32(RTA_TABLE, rt->rtm_table);
  if (t != table) return std::nullopt;
  RouteInfo r;
  r.family = rt->rtm_family;
  if (const rtattr* d = attrs.get(RTA_DST)) {
    r.destination = formatIp(rt->rtm_family, NlAttrs::payload(d), NlAttrs::payloadLen(d)) + "/" + std::to_string(rt->rtm_dst_len);
  } else {
    r.destination = "default";
  }
  if (const rtattr* g = attrs.get(RTA_GATEWAY)) r.gateway = formatIp(rt->rtm_family, NlAttrs::payload(g), NlAttrs::payloadLen(g));
  if (attrs.has(RTA_OIF)) {
    auto name = names.find(attrs.u32(RTA_OIF));
    if (name != names.end()) r.dev = name->second;
  }
  r.metric = attrs.u32(RTA_PRIORITY);
  r.table = t;
  r.scope = scopeName(rt->rtm_scope);
  r.protocol = protocolName(rt->rtm_protocol);
  r.type = typeName(rt->rtm_type);
  return r;
}

}  // namespace cnm
