#include "address.h"

#include <linux/if_addr.h>

#include <cerrno>
#include <map>

#include "error.h"
#include "inet.h"
#include "link.h"

namespace cnm {

namespace {

Prefix parseCidr(const std::string& cidr, uint16_t type, const std::string& ifname) {
  Prefix p;
  if (!parsePrefix(cidr, p)) throw KernelError(EINVAL, nlMessageName(type), ifname + " (bad address " + cidr + ")");
  return p;
}

void changeAddress(NlSocket& sock, uint16_t type, uint16_t flags, const std::string& ifname, const std::string& cidr, bool nodad = false) {
  Prefix p = parseCidr(cidr, type, ifname);
  uint32_t index = linkIndex(sock, ifname);
  NlRequest req(type, flags);
  ifaddrmsg* ifa = req.header<ifaddrmsg>();
  ifa->ifa_family = p.address.family;
  ifa->ifa_prefixlen = p.length;
  ifa->ifa_index = index;
  if (nodad && p.address.family == AF_INET6) ifa->ifa_flags = IFA_F_NODAD;
  req.put(IFA_LOCAL, p.address.bytes.data(), p.address.size());
  req.put(IFA_ADDRESS, p.address.bytes.data(), p.address.size());
  if (type == RTM_NEWADDR && p.address.family == AF_INET && p.length < 31) {
    uint8_t brd[4];
    for (int i = 0; i < 4; i++) {
      int bits = std::max(0, std::min(8, static_cast<int>(p.length) - i * 8));
      uint8_t mask = static_cast<uint8_t>(0xff << (8 - bits));
      brd[i] = (p.address.bytes[i] & mask) | static_cast<uint8_t>(~mask);
    }
    req.put(IFA_BROADCAST, brd, 4);
  }
  sock.request(req, cidr + " on " + ifname);
}

}  // namespace

std::string scopeName(uint8_t scope) {
  switch (scope) {
    case RT_SCOPE_UNIVERSE: return "global";
    case RT_SCOPE_SITE: return "site";
    case RT_SCOPE_LINK: return "link";
    case RT_SCOPE_HOST: return "host";
    case RT_SCOPE_NOWHERE: return "nowhere";
    default: return std::to_string(scope);
  }
}

void addressAdd(NlSocket& sock, const std::string& ifname, const std::string& cidr, bool nodad) {
  changeAddress(sock, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, ifname, cidr, nodad);
}

void addressDelete(NlSocket& sock, const std::string& ifname, const std::string& cidr) {
  changeAddress(sock, RTM_DELADDR, 0, ifname, cidr);
}

std::vector<AddressInfo> addressList(NlSocket& sock, const std::string& ifname, int family) {
  uint32_t only = ifname.empty() ? 0 : linkIndex(sock, ifname);
  std::map<uint32_t, std::string> names;
  for (const LinkInfo& l : linkList(sock)) names[l.index] = l.name;
  NlRequest req(RTM_GETADDR, 0);
  ifaddrmsg* ifa = req.header<ifaddrmsg>();
  ifa->ifa_family = family;
  ifa->ifa_index = only;  // honoured as a filter with NETLINK_GET_STRICT_CHK
  std::vector<AddressInfo> out;
  sock.dump(req, [&](const nlmsghdr* h) {
    std::optional<AddressInfo> info = parseAddress(h);
    if (!info || (only && info->index != only)) return;
    info->ifname = names[info->index];
    out.push_back(std::move(*info));
  });
  return out;
}

std::optional<AddressInfo> parseAddress(const nlmsghdr* h) {
  if (h->nlmsg_type != RTM_NEWADDR) return std::nullopt;
  const ifaddrmsg* m = nlPayload<ifaddrmsg>(h);
  NlAttrs attrs = nlAttrsAfter<ifaddrmsg>(h);
  const rtattr* a = attrs.get(IFA_LOCAL) ? attrs.get(IFA_LOCAL) : attrs.get(IFA_ADDRESS);
  if (!a) return std::nullopt;
  AddressInfo info;
  info.index = m->ifa_index;
  info.family = m->ifa_family;
  info.address = formatIp(m->ifa_family, NlAttrs::payload(a), NlAttrs::payloadLen(a));
  info.prefixLength = m->ifa_prefixlen;
  info.scope = scopeName(m->ifa_scope);
  return info;
}

}  // namespace cnm
