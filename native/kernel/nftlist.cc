#include "nftlist.h"

#include <linux/netfilter/nf_tables.h>

#include "nfnetlink.h"

namespace cnm {

namespace {

// A dump of one nf_tables object type; `each` gets the family and attributes of every object.
template <class F>
void dumpObjects(NlSocket& socket, uint8_t msg, NlRequest req, F each) {
  socket.dump(req, [&](const nlmsghdr* h) {
    if (h->nlmsg_type != (NFNL_SUBSYS_NFTABLES << 8 | msg)) return;
    auto* g = static_cast<const nfgenmsg*>(NLMSG_DATA(h));
    size_t header = NLMSG_ALIGN(sizeof(nfgenmsg));
    NlAttrs attrs(reinterpret_cast<const uint8_t*>(g) + header, h->nlmsg_len - NLMSG_HDRLEN - header);
    each(g->nfgen_family, attrs);
  });
}

// Calls `each` with the attributes of every NFTA_LIST_ELEM inside the list attribute `type`.
template <class F>
void forEachListElem(const NlAttrs& attrs, uint16_t type, F each) {
  const rtattr* list = attrs.get(type);
  if (!list) return;
  int remaining = static_cast<int>(NlAttrs::payloadLen(list));
  for (auto* e = static_cast<const rtattr*>(NlAttrs::payload(list)); RTA_OK(e, remaining); e = RTA_NEXT(e, remaining)) {
    each(NlAttrs(RTA_DATA(e), RTA_PAYLOAD(e)));
  }
}

NlRequest getRequest(uint8_t msg, uint8_t family) { return nfRequest(NFNL_SUBSYS_NFTABLES, msg, 0, family); }

// nft's rule comment: the user data's TLV of type 0, text with its NUL.
std::string ruleComment(const std::vector<uint8_t>& udata) {
  for (size_t i = 0; i + 2 <= udata.size();) {
    uint8_t type = udata[i], len = udata[i + 1];
    if (i + 2 + len > udata.size()) break;
    if (type == 0 && len > 0)
      return std::string(reinterpret_cast<const char*>(&udata[i + 2]), strnlen(reinterpret_cast<const char*>(&udata[i + 2]), len));
    i += 2 + len;
  }
  return "";
}

// The value or the verdict inside an nft_data attribute (NFTA_DATA_VALUE / NFTA_DATA_VERDICT).
void readData(const NlAttrs& data, std::vector<uint8_t>& value, std::optional<NftVerdict>& verdict) {
  if (data.has(NFTA_DATA_VALUE)) value = bytesOf(data, NFTA_DATA_VALUE);
  if (data.has(NFTA_DATA_VERDICT)) {
    NlAttrs v = data.nested(NFTA_DATA_VERDICT);
    verdict = NftVerdict{static_cast<int32_t>(be32(v, NFTA_VERDICT_CODE)), v.str(NFTA_VERDICT_CHAIN)};
  }
}

}  // namespace

std::vector<NftTableInfo> nftListTables(NlSocket& socket, uint8_t family) {
  std::vector<NftTableInfo> out;
  dumpObjects(socket, NFT_MSG_NEWTABLE, getRequest(NFT_MSG_GETTABLE, family), [&](uint8_t f, const NlAttrs& a) {
    out.push_back({f, a.str(NFTA_TABLE_NAME), be64(a, NFTA_TABLE_HANDLE), be32(a, NFTA_TABLE_FLAGS), be32(a, NFTA_TABLE_USE)});
  });
  return out;
}

std::vector<NftChainInfo> nftListChains(NlSocket& socket, uint8_t family, const std::string& table) {
  std::vector<NftChainInfo> out;
  dumpObjects(socket, NFT_MSG_NEWCHAIN, getRequest(NFT_MSG_GETCHAIN, family), [&](uint8_t f, const NlAttrs& a) {
    if (a.str(NFTA_CHAIN_TABLE) != table) return;
    NftChainInfo c;
    c.family = f;
    c.table = table;
    c.name = a.str(NFTA_CHAIN_NAME);
    c.handle = be64(a, NFTA_CHAIN_HANDLE);
    c.use = be32(a, NFTA_CHAIN_USE);
    if (a.has(NFTA_CHAIN_HOOK)) {
      NlAttrs hook = a.nested(NFTA_CHAIN_HOOK);
      c.hook = be32(hook, NFTA_HOOK_HOOKNUM);
      c.priority = static_cast<int32_t>(be32(hook, NFTA_HOOK_PRIORITY));
      c.type = a.str(NFTA_CHAIN_TYPE);
      if (a.has(NFTA_CHAIN_POLICY)) c.policy = be32(a, NFTA_CHAIN_POLICY);
    }
    out.push_back(std::move(c));
  });
  return out;
}

std::vector<NftRuleInfo> nftListRules(NlSocket& socket, uint8_t family, const std::string& table, const std::string& chain) {
  NlRequest req = getRequest(NFT_MSG_GETRULE, family);
  // The kernel filters a rule dump by table and chain.
  req.putString(NFTA_RULE_TABLE, table);
  if (!chain.empty()) req.putString(NFTA_RULE_CHAIN, chain);
  std::vector<NftRuleInfo> out;
  dumpObjects(socket, NFT_MSG_NEWRULE, std::move(req), [&](uint8_t f, const NlAttrs& a) {
    if (a.str(NFTA_RULE_TABLE) != table || (!chain.empty() && a.str(NFTA_RULE_CHAIN) != chain)) return;
    NftRuleInfo r;
    r.family = f;
    r.table = table;
    r.chain = a.str(NFTA_RULE_CHAIN);
    r.handle = be64(a, NFTA_RULE_HANDLE);
    r.comment = ruleComment(bytesOf(a, NFTA_RULE_USERDATA));
    forEachListElem(a, NFTA_RULE_EXPRESSIONS, [&](const NlAttrs& e) { r.exprs.push_back(e.str(NFTA_EXPR_NAME)); });
    out.push_back(std::move(r));
  });
  return out;
}

std::vector<NftSetInfo> nftListSets(NlSocket& socket, uint8_t family, const std::string& table) {
  NlRequest req = getRequest(NFT_MSG_GETSET, family);
  req.putString(NFTA_SET_TABLE, table);
  std::vector<NftSetInfo> out;
  dumpObjects(socket, NFT_MSG_NEWSET, std::move(req), [&](uint8_t f, const NlAttrs& a) {
    if (a.str(NFTA_SET_TABLE) != table) return;
    out.push_back({f, table, a.str(NFTA_SET_NAME), be64(a, NFTA_SET_HANDLE), be32(a, NFTA_SET_FLAGS), be32(a, NFTA_SET_KEY_TYPE),
                   be32(a, NFTA_SET_KEY_LEN), be32(a, NFTA_SET_DATA_TYPE), be32(a, NFTA_SET_DATA_LEN), be64(a, NFTA_SET_TIMEOUT)});
  });
  return out;
}

std::vector<NftElementInfo> nftListElements(NlSocket& socket, uint8_t family, const std::string& table, const std::string& set) {
  NlRequest req = getRequest(NFT_MSG_GETSETELEM, family);
  req.putString(NFTA_SET_ELEM_LIST_TABLE, table);
  req.putString(NFTA_SET_ELEM_LIST_SET, set);
  std::vector<NftElementInfo> out;
  dumpObjects(socket, NFT_MSG_NEWSETELEM, std::move(req), [&](uint8_t, const NlAttrs& a) {
    forEachListElem(a, NFTA_SET_ELEM_LIST_ELEMENTS, [&](const NlAttrs& attrs) {
      NftElementInfo info;
      std::optional<NftVerdict> unused;
      readData(attrs.nested(NFTA_SET_ELEM_KEY), info.key, unused);
      readData(attrs.nested(NFTA_SET_ELEM_KEY_END), info.keyEnd, unused);
      readData(attrs.nested(NFTA_SET_ELEM_DATA), info.data, info.verdict);
      info.flags = be32(attrs, NFTA_SET_ELEM_FLAGS);
      info.timeoutMs = be64(attrs, NFTA_SET_ELEM_TIMEOUT);
      info.expiresMs = be64(attrs, NFTA_SET_ELEM_EXPIRATION);
      out.push_back(std::move(info));
    });
  });
  return out;
}

}  // namespace cnm
