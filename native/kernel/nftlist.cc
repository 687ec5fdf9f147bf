#include "nftlist.h"

#include <linux/netfilter/nf_tables.h>

#include "nfnetlink.h"

namespace cnm {

namespace {

// The family and attributes of a message of nf_tables type `msg`, or nothing for another type.
std::optional<std::pair<uint8_t, NlAttrs>> nftObject(const nlmsghdr* h, uint8_t msg) {
  if (h->nlmsg_type != (NFNL_SUBSYS_NFTABLES << 8 | msg)) return std::nullopt;
  return std::make_pair(nlPayload<nfgenmsg>(h)->nfgen_family, nlAttrsAfter<nfgenmsg>(h));
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

// Runs a dump and collects what `parse` makes of each message.
template <class T, class F>
std::vector<T> collect(NlSocket& socket, NlRequest req, F parse) {
  std::vector<T> out;
  socket.dump(req, [&](const nlmsghdr* h) {
    if (std::optional<T> item = parse(h)) out.push_back(std::move(*item));
  });
  return out;
}

}  // namespace

std::optional<NftTableInfo> nftParseTable(const nlmsghdr* h) {
  auto object = nftObject(h, NFT_MSG_NEWTABLE);
  if (!object) return std::nullopt;
  const NlAttrs& a = object->second;
  return NftTableInfo{object->first, a.str(NFTA_TABLE_NAME), be64(a, NFTA_TABLE_HANDLE), be32(a, NFTA_TABLE_FLAGS),
                      be32(a, NFTA_TABLE_USE)};
}

std::optional<NftChainInfo> nftParseChain(const nlmsghdr* h, const std::string& table) {
  auto object = nftObject(h, NFT_MSG_NEWCHAIN);
  if (!object) return std::nullopt;
  const NlAttrs& a = object->second;
  uint8_t f = object->first;
  if (a.str(NFTA_CHAIN_TABLE) != table) return std::nullopt;
  {
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
    return c;
  }
}

std::optional<NftRuleInfo> nftParseRule(const nlmsghdr* h, const std::string& table, const std::string& chain) {
  auto object = nftObject(h, NFT_MSG_NEWRULE);
  if (!object) return std::nullopt;
  const NlAttrs& a = object->second;
  uint8_t f = object->first;
  if (a.str(NFTA_RULE_TABLE) != table || (!chain.empty() && a.str(NFTA_RULE_CHAIN) != chain)) return std::nullopt;
  {
    NftRuleInfo r;
    r.family = f;
    r.table = table;
    r.chain = a.str(NFTA_RULE_CHAIN);
    r.handle = be64(a, NFTA_RULE_HANDLE);
    r.comment = ruleComment(bytesOf(a, NFTA_RULE_USERDATA));
    forEachListElem(a, NFTA_RULE_EXPRESSIONS, [&](const NlAttrs& e) { r.exprs.push_back(e.str(NFTA_EXPR_NAME)); });
    return r;
  }
}

std::optional<NftSetInfo> nftParseSet(const nlmsghdr* h, const std::string& table) {
  auto object = nftObject(h, NFT_MSG_NEWSET);
  if (!object) return std::nullopt;
  const NlAttrs& a = object->second;
  if (a.str(NFTA_SET_TABLE) != table) return std::nullopt;
  return NftSetInfo{object->first,
                    table,
                    a.str(NFTA_SET_NAME),
                    be64(a, NFTA_SET_HANDLE),
                    be32(a, NFTA_SET_FLAGS),
                    be32(a, NFTA_SET_KEY_TYPE),
                    be32(a, NFTA_SET_KEY_LEN),
                    be32(a, NFTA_SET_DATA_TYPE),
                    be32(a, NFTA_SET_DATA_LEN),
                    be64(a, NFTA_SET_TIMEOUT)};
}

void nftParseElements(const nlmsghdr* h, std::vector<NftElementInfo>& out) {
  auto object = nftObject(h, NFT_MSG_NEWSETELEM);
  if (!object) return;
  {
    forEachListElem(object->second, NFTA_SET_ELEM_LIST_ELEMENTS, [&](const NlAttrs& attrs) {
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
  }
}

std::vector<NftTableInfo> nftListTables(NlSocket& socket, uint8_t family) {
  return collect<NftTableInfo>(socket, getRequest(NFT_MSG_GETTABLE, family), nftParseTable);
}

std::vector<NftChainInfo> nftListChains(NlSocket& socket, uint8_t family, const std::string& table) {
  return collect<NftChainInfo>(socket, getRequest(NFT_MSG_GETCHAIN, family), [&](const nlmsghdr* h) { return nftParseChain(h, table); });
}

std::vector<NftRuleInfo> nftListRules(NlSocket& socket, uint8_t family, const std::string& table, const std::string& chain) {
  NlRequest req = getRequest(NFT_MSG_GETRULE, family);
  // The kernel filters a rule dump by table and chain.
  req.putString(NFTA_RULE_TABLE, table);
  if (!chain.empty()) req.putString(NFTA_RULE_CHAIN, chain);
  return collect<NftRuleInfo>(socket, std::move(req), [&](const nlmsghdr* h) { return nftParseRule(h, table, chain); });
}

std::vector<NftSetInfo> nftListSets(NlSocket& socket, uint8_t family, const std::string& table) {
  NlRequest req = getRequest(NFT_MSG_GETSET, family);
  req.putString(NFTA_SET_TABLE, table);
  return collect<NftSetInfo>(socket, std::move(req), [&](const nlmsghdr* h) { return nftParseSet(h, table); });
}

std::vector<NftElementInfo> nftListElements(NlSocket& socket, uint8_t family, const std::string& table, const std::string& set) {
  NlRequest req = getRequest(NFT_MSG_GETSETELEM, family);
  req.putString(NFTA_SET_ELEM_LIST_TABLE, table);
  req.putString(NFTA_SET_ELEM_LIST_SET, set);
  std::vector<NftElementInfo> out;
  socket.dump(req, [&](const nlmsghdr* h) { nftParseElements(h, out); });
  return out;
}

}  // namespace cnm
