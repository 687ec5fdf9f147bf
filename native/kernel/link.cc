#include "link.h"

#include <arpa/inet.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/veth.h>

#include <sys/random.h>

#include <cerrno>
#include <array>
#include <map>
#include <set>

#include "inet.h"
#include "error.h"
#include "netns.h"

namespace cnm {

namespace {

const char* operstateName(uint8_t state) {
  static const char* names[] = {"unknown", "notpresent", "down", "lowerlayerdown", "testing", "dormant", "up"};
  return state < sizeof names / sizeof *names ? names[state] : "unknown";
}

uint32_t macvlanMode(const std::string& mode) {
  if (mode.empty() || mode == "bridge") return MACVLAN_MODE_BRIDGE;
  if (mode == "private") return MACVLAN_MODE_PRIVATE;
  if (mode == "vepa") return MACVLAN_MODE_VEPA;
  if (mode == "passthru") return MACVLAN_MODE_PASSTHRU;
  throw KernelError(EINVAL, "RTM_NEWLINK", "macvlan mode " + mode);
}

uint8_t addrGenMode(const std::string& mode, const std::string& object) {
  if (mode == "eui64") return IN6_ADDR_GEN_MODE_EUI64;
  if (mode == "none") return IN6_ADDR_GEN_MODE_NONE;
  if (mode == "stable_secret") return IN6_ADDR_GEN_MODE_STABLE_PRIVACY;
  if (mode == "random") return IN6_ADDR_GEN_MODE_RANDOM;
  throw KernelError(EINVAL, "RTM_NEWLINK", object + " (bad addrgenmode " + mode + ")");
}

void putMac(NlRequest& req, const std::string& mac, const std::string& object) {
  if (mac.empty()) return;
  std::array<uint8_t, 6> bytes;
  if (!parseMac(mac, bytes)) throw KernelError(EINVAL, "RTM_NEWLINK", object + " (bad MAC address " + mac + ")");
  req.put(IFLA_ADDRESS, bytes.data(), bytes.size());
}

void putVxlanAddress(NlRequest& req, uint16_t v4, uint16_t v6, const std::string& text, const std::string& object) {
  if (text.empty()) return;
  IpAddress ip;
  if (!parseIp(text, ip)) throw KernelError(EINVAL, "RTM_NEWLINK", object + " (bad address " + text + ")");
  req.put(ip.family == AF_INET ? v4 : v6, ip.bytes.data(), ip.size());
}

void putLinkInfo(NlSocket& sock, NlRequest& req, const LinkSpec& spec, std::vector<Fd>& keepOpen) {
  size_t linkinfo = req.beginNested(IFLA_LINKINFO);
  req.putString(IFLA_INFO_KIND, spec.kind);
  if (spec.kind == "veth") {
    size_t data = req.beginNested(IFLA_INFO_DATA);
    size_t peer = req.beginNested(VETH_INFO_PEER);
    req.header<ifinfomsg>();
    const VethPeerSpec& p = *spec.peer;
    req.putString(IFLA_IFNAME, p.name);
    if (p.mtu) req.putU32(IFLA_MTU, *p.mtu);
    putMac(req, p.mac, p.name);
    if (!p.netns.empty()) {
      keepOpen.push_back(openNetns(p.netns));
      req.putU32(IFLA_NET_NS_FD, keepOpen.back().get());
    }
    req.endNested(peer);
    req.endNested(data);
  } else if (spec.kind == "macvlan") {
    size_t data = req.beginNested(IFLA_INFO_DATA);
    req.putU32(IFLA_MACVLAN_MODE, macvlanMode(spec.macvlanMode));
    req.endNested(data);
  } else if (spec.kind == "vxlan") {
    size_t data = req.beginNested(IFLA_INFO_DATA);
    if (spec.vni) req.putU32(IFLA_VXLAN_ID, *spec.vni);
    if (!spec.parent.empty()) req.putU32(IFLA_VXLAN_LINK, linkIndex(sock, spec.parent));
    if (spec.dstPort) req.putU16(IFLA_VXLAN_PORT, htons(*spec.dstPort));
    putVxlanAddress(req, IFLA_VXLAN_GROUP, IFLA_VXLAN_GROUP6, spec.group.empty() ? spec.remote : spec.group, spec.name);
    putVxlanAddress(req, IFLA_VXLAN_LOCAL, IFLA_VXLAN_LOCAL6, spec.local, spec.name);
    if (spec.learning) req.putU8(IFLA_VXLAN_LEARNING, *spec.learning ? 1 : 0);
    req.endNested(data);
  }
  req.endNested(linkinfo);
}

void readStats(const NlAttrs& attrs, LinkStats& out) {
  const rtattr* a = attrs.get(IFLA_STATS64);
  if (!a || NlAttrs::payloadLen(a) < sizeof(rtnl_link_stats64)) return;
  rtnl_link_stats64 s;
  std::memcpy(&s, NlAttrs::payload(a), sizeof s);
  out = {s.rx_packets, s.tx_packets, s.rx_bytes, s.tx_bytes, s.rx_errors, s.tx_errors, s.rx_dropped, s.tx_dropped};
}

// Asks for one link, by name or (if `name` is empty) by index; the master is left as an index.
LinkInfo fetchLink(NlSocket& sock, const std::string& name, uint32_t index = 0) {
  NlRequest req(RTM_GETLINK, 0);
  ifinfomsg* ifi = req.header<ifinfomsg>();
  ifi->ifi_family = AF_UNSPEC;
  ifi->ifi_index = index;
  if (!name.empty()) req.putString(IFLA_IFNAME, name);
  LinkInfo info;
  sock.request(req, name.empty() ? "ifindex " + std::to_string(index) : name, [&](const nlmsghdr* h) {
    if (h->nlmsg_type == RTM_NEWLINK) info = parseLink(h);
  });
  return info;
}

}  // namespace

LinkInfo parseLink(const nlmsghdr* h) {
  const ifinfomsg* ifi = nlPayload<ifinfomsg>(h);
  NlAttrs attrs = nlAttrsAfter<ifinfomsg>(h);
  LinkInfo info;
  info.index = ifi->ifi_index;
  info.flags = ifi->ifi_flags;
  info.name = attrs.str(IFLA_IFNAME);
  info.kind = attrs.nested(IFLA_LINKINFO).str(IFLA_INFO_KIND);
  info.mtu = attrs.u32(IFLA_MTU);
  if (const rtattr* a = attrs.get(IFLA_ADDRESS)) {
    info.mac = formatMac(static_cast<const uint8_t*>(NlAttrs::payload(a)), NlAttrs::payloadLen(a));
  }
  info.masterIndex = attrs.u32(IFLA_MASTER);
  info.parentIndex = attrs.u32(IFLA_LINK);
  info.operstate = operstateName(attrs.u8(IFLA_OPERSTATE));
  info.alias = attrs.str(IFLA_IFALIAS);
  info.group = attrs.u32(IFLA_GROUP);
  readStats(attrs, info.stats);
  return info;
}

uint32_t linkIndex(NlSocket& sock, const std::string& name) {
  if (std::optional<uint32_t> known = sock.knownIndex(name)) return *known;
  uint32_t index = fetchLink(sock, name).index;
  sock.rememberIndex(name, index);
  return index;
}

bool linkExists(NlSocket& sock, uint32_t index) {
  try {
    fetchLink(sock, "", index);
    return true;
  } catch (KernelError& e) {
    if (e.err != ENODEV) throw;
    return false;
  }
}

void linkAdd(NlSocket& sock, const LinkSpec& spec) {
  NlRequest req(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
  ifinfomsg* ifi = req.header<ifinfomsg>();
  if (spec.up) {
    ifi->ifi_flags = IFF_UP;
    ifi->ifi_change = IFF_UP;
  }
  std::vector<Fd> keepOpen;  // namespace fds named in the request stay open until it is answered
  req.putString(IFLA_IFNAME, spec.name);
  if (spec.mtu) req.putU32(IFLA_MTU, *spec.mtu);
  putMac(req, spec.mac, spec.name);
  if (spec.linkGroup) req.putU32(IFLA_GROUP, *spec.linkGroup);
  if (!spec.master.empty() && spec.netns.empty()) req.putU32(IFLA_MASTER, linkIndex(sock, spec.master));
  if (!spec.master.empty() && !spec.netns.empty()) {
    // The kernel looks IFLA_MASTER up in the namespace the link is created in, not the socket's.
    NlSocket there = openSocketIn(spec.netns);
    req.putU32(IFLA_MASTER, linkIndex(there, spec.master));
  }
  if (!spec.parent.empty() && spec.kind != "vxlan") req.putU32(IFLA_LINK, linkIndex(sock, spec.parent));
  if (!spec.netns.empty()) {
    keepOpen.push_back(openNetns(spec.netns));
    req.putU32(IFLA_NET_NS_FD, keepOpen.back().get());
  }
  putLinkInfo(sock, req, spec, keepOpen);
  sock.request(req, spec.name);
}

void linkDelete(NlSocket& sock, const std::string& name) {
  NlRequest req(RTM_DELLINK, 0);
  req.header<ifinfomsg>()->ifi_family = AF_UNSPEC;
  req.putString(IFLA_IFNAME, name);  // the kernel looks the link up by name
  sock.request(req, name);
}

namespace {

// A random link group (group 0 is every link's default; small numbers are what people pick by hand).
uint32_t randomGroup() {
  for (;;) {
    uint32_t group = 0;
    if (getrandom(&group, sizeof group, 0) != sizeof group) throwErrno("getrandom", "link group");
    if (group >= 65536) return group;
  }
}

// The names of the links in `group`.
std::set<std::string> groupMembers(NlSocket& sock, uint32_t group) {
  std::set<std::string> members;
  NlRequest req(RTM_GETLINK, 0);
  req.header<ifinfomsg>()->ifi_family = AF_UNSPEC;
  sock.dump(req, [&](const nlmsghdr* h) {
    if (h->nlmsg_type != RTM_NEWLINK) return;
    NlAttrs attrs = nlAttrsAfter<ifinfomsg>(h);
    if (attrs.u32(IFLA_GROUP) == group) members.insert(attrs.str(IFLA_IFNAME));
  });
  return members;
}

void setGroup(NlSocket& sock, const std::string& name, uint32_t group) {
  NlRequest req(RTM_NEWLINK, 0);
  req.header<ifinfomsg>()->ifi_family = AF_UNSPEC;
  req.putString(IFLA_IFNAME, name);
  req.putU32(IFLA_GROUP, group);
  sock.request(req, name);
}

}  // namespace

std::vector<std::string> linkDeleteGroup(NlSocket& sock, const std::vector<std::string>& names, std::optional<uint32_t> chosen) {
  std::vector<std::string> gone;
  auto deleteOne = [&](const std::string& name) {
    try {
      linkDelete(sock, name);
    } catch (KernelError& e) {
      if (e.err != ENODEV) throw;
      gone.push_back(name);
    }
  };
  if (names.size() == 1) {
    deleteOne(names[0]);  // one link: a plain delete costs the same and needs no group
    return gone;
  }
  // A group delete removes every link of the group in the namespace, so it must hold exactly ours:
  // our links go into a random group, and a dump checks that it holds them and nothing else before
  // it is deleted. Someone would have to put a link into this random 32-bit group in the
  // microseconds between the dump and the delete.
  if (chosen == 0u) throw KernelError(EINVAL, "RTM_DELLINK", "link group 0 (every link's default group)");
  uint32_t group = chosen.value_or(randomGroup());
  std::set<std::string> tagged;
  for (const std::string& name : names) {
    try {
      setGroup(sock, name, group);
      tagged.insert(name);
    } catch (KernelError& e) {
      if (e.err != ENODEV) throw;
      gone.push_back(name);
    }
  }
  std::set<std::string> members = groupMembers(sock, group);
  if (members != tagged) {
    // Not exactly ours (someone else's link is in the group, or one of ours changed): one by one.
    for (const std::string& name : tagged) deleteOne(name);
    return gone;
  }
  if (members.empty()) return gone;
  NlRequest req(RTM_DELLINK, 0);
  req.header<ifinfomsg>()->ifi_family = AF_UNSPEC;
  req.putU32(IFLA_GROUP, group);
  sock.request(req, "link group " + std::to_string(group));
  return gone;
}

void linkSet(NlSocket& sock, const std::string& name, const LinkChange& change) {
  if (!change.addrGenMode.empty() && change.up.value_or(false)) {
    // Within one message the kernel brings the link up before it applies IFLA_AF_SPEC, and a link
    // that comes up with carrier makes its link-local address at once: set the mode first.
    LinkChange mode;
    mode.addrGenMode = change.addrGenMode;
    LinkChange rest = change;
    rest.addrGenMode.clear();
    linkSet(sock, name, mode);
    linkSet(sock, name, rest);
    return;
  }
  NlRequest req(RTM_NEWLINK, 0);
  ifinfomsg* ifi = req.header<ifinfomsg>();  // filled in before any attribute moves the buffer
  if (!change.newName.empty()) ifi->ifi_index = linkIndex(sock, name);
  if (change.up) {
    ifi->ifi_flags = *change.up ? IFF_UP : 0;
    ifi->ifi_change = IFF_UP;
  }
  // The kernel finds the link by IFLA_IFNAME, unless that attribute carries the new name.
  req.putString(IFLA_IFNAME, change.newName.empty() ? name : change.newName);
  std::vector<Fd> keepOpen;
  if (change.mtu) req.putU32(IFLA_MTU, *change.mtu);
  putMac(req, change.mac, name);
  if (change.alias) req.put(IFLA_IFALIAS, change.alias->data(), change.alias->size());
  if (change.group) req.putU32(IFLA_GROUP, *change.group);
  if (change.hairpin) {
    // A bridge port's own setting: the master's slave data (`ip link set NAME type bridge_slave hairpin on`).
    size_t info = req.beginNested(IFLA_LINKINFO);
    req.putString(IFLA_INFO_SLAVE_KIND, "bridge");
    size_t data = req.beginNested(IFLA_INFO_SLAVE_DATA);
    req.putU8(IFLA_BRPORT_MODE, *change.hairpin ? 1 : 0);
    req.endNested(data);
    req.endNested(info);
  }
  if (change.master) req.putU32(IFLA_MASTER, change.master->empty() ? 0 : linkIndex(sock, *change.master));
  if (!change.netns.empty()) {
    keepOpen.push_back(openNetns(change.netns));
    req.putU32(IFLA_NET_NS_FD, keepOpen.back().get());
  }
  if (!change.addrGenMode.empty()) {
    // Never in the same message as "up" (see above): the kernel would apply it too late.
    size_t spec = req.beginNested(IFLA_AF_SPEC);
    size_t inet6 = req.beginNested(AF_INET6);
    req.putU8(IFLA_INET6_ADDR_GEN_MODE, addrGenMode(change.addrGenMode, name));
    req.endNested(inet6);
    req.endNested(spec);
  }
  sock.request(req, name);
}

LinkInfo linkGet(NlSocket& sock, const std::string& name) {
  LinkInfo info = fetchLink(sock, name);
  if (info.masterIndex) info.master = fetchLink(sock, "", info.masterIndex).name;
  return info;
}

std::vector<LinkInfo> linkList(NlSocket& sock) {
  NlRequest req(RTM_GETLINK, 0);
  req.header<ifinfomsg>()->ifi_family = AF_UNSPEC;
  std::vector<LinkInfo> links;
  sock.dump(req, [&](const nlmsghdr* h) {
    if (h->nlmsg_type == RTM_NEWLINK) links.push_back(parseLink(h));
  });
  std::map<uint32_t, std::string> names;
  for (const LinkInfo& l : links) names[l.index] = l.name;
  for (LinkInfo& l : links) {
    if (l.masterIndex) l.master = names[l.masterIndex];
  }
  return links;
}

}  // namespace cnm
