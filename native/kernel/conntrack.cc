#include "conntrack.h"

#include <linux/netfilter/nfnetlink_conntrack.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "error.h"
#include "nfnetlink.h"

namespace cnm {

namespace {

// What identifies an entry for IPCTNL_MSG_CT_DELETE: its original tuple, as dumped, and its zone.
struct EntryKey {
  std::vector<uint8_t> tuple;
  std::optional<uint16_t> zone;
};

bool matches(const NlAttrs& orig, const ConntrackFilter& f) {
  NlAttrs ip = orig.nested(CTA_TUPLE_IP);
  NlAttrs proto = orig.nested(CTA_TUPLE_PROTO);
  if (proto.u8(CTA_PROTO_NUM) != f.protocol) return false;
  if (f.dstPort && be16(proto, CTA_PROTO_DST_PORT) != *f.dstPort) return false;
  return f.dst.empty() || bytesOf(ip, f.family == AF_INET ? CTA_IP_V4_DST : CTA_IP_V6_DST) == f.dst;
}

bool matchesAny(const NlAttrs& orig, const std::vector<const ConntrackFilter*>& filters) {
  for (const ConntrackFilter* f : filters) {
    if (matches(orig, *f)) return true;
  }
  return false;
}

std::string describe(const ConntrackFilter& f) {
  std::string s = "conntrack entries proto " + std::to_string(f.protocol);
  if (f.dstPort) s += " dport " + std::to_string(*f.dstPort);
  return s;
}

// Dumps one family's entries once and deletes those that match any of `filters` (all of that family).
uint32_t sweep(NlSocket& socket, int family, const std::vector<const ConntrackFilter*>& filters) {
  std::vector<EntryKey> found;
  NlRequest dump = nfRequest(NFNL_SUBSYS_CTNETLINK, IPCTNL_MSG_CT_GET, 0, static_cast<uint8_t>(family));
  socket.dump(dump, [&](const nlmsghdr* h) {
    NlAttrs attrs = nlAttrsAfter<nfgenmsg>(h);
    if (!attrs.has(CTA_TUPLE_ORIG) || !matchesAny(attrs.nested(CTA_TUPLE_ORIG), filters)) return;
    EntryKey key{bytesOf(attrs, CTA_TUPLE_ORIG), std::nullopt};
    if (attrs.has(CTA_ZONE)) key.zone = be16(attrs, CTA_ZONE);
    found.push_back(std::move(key));
  });
  uint32_t deleted = 0;
  for (const EntryKey& key : found) {
    NlRequest del = nfRequest(NFNL_SUBSYS_CTNETLINK, IPCTNL_MSG_CT_DELETE, 0, static_cast<uint8_t>(family));
    del.put(CTA_TUPLE_ORIG | NLA_F_NESTED, key.tuple.data(), key.tuple.size());
    if (key.zone) putBe16(del, CTA_ZONE, *key.zone);
    try {
      socket.request(del, describe(*filters.front()));
      deleted++;
    } catch (KernelError& e) {
      if (e.err != ENOENT) throw;  // it timed out or was deleted meanwhile
    }
  }
  return deleted;
}

}  // namespace

uint32_t conntrackDelete(NlSocket& socket, const std::vector<ConntrackFilter>& filters) {
  uint32_t deleted = 0;
  for (int family : {AF_INET, AF_INET6}) {
    std::vector<const ConntrackFilter*> ofFamily;
    for (const ConntrackFilter& f : filters) {
      if (f.family == family) ofFamily.push_back(&f);
    }
    if (!ofFamily.empty()) deleted += sweep(socket, family, ofFamily);
  }
  return deleted;
}

}  // namespace cnm
