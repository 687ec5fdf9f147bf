#include "nftables.h"

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include <cerrno>
#include <cstring>

#include "error.h"
#include "nfnetlink.h"

namespace cnm {

namespace {

// Message numbers newer than the system's header (kernel 6.3): delete, but no error if missing.
constexpr uint8_t kDestroyTable = 26, kDestroyChain = 27, kDestroyRule = 28, kDestroySet = 29;

// The add message of an object kind (with `flags`), or its delete message (destroy with ifExists).
NlRequest addOrDelete(const NftCommand& c, bool add, uint8_t newMsg, uint16_t flags, uint8_t delMsg, uint8_t destroyMsg) {
  uint8_t type = add ? newMsg : c.ifExists ? destroyMsg : delMsg;
  return nfRequest(NFNL_SUBSYS_NFTABLES, type, add ? flags : 0, c.family);
}
// nft's rule comment, a TLV in the rule's user data (type 0, length, text with its NUL).
constexpr uint8_t kUdataRuleComment = 0;
// nft's set user data: a TLV saying the key is in host byte order, so that `nft list` prints it.
constexpr uint8_t kUdataSetKeyByteorder = 0;
constexpr uint32_t kNftHostEndian = 1;
// A set's value is a verdict (NFT_DATA_VERDICT); the kernel knows its size.
constexpr uint32_t kVerdictType = NFT_DATA_VERDICT;

std::string where(const NftCommand& c) {
  std::string at = std::string(nftFamilyName(c.family)) + " " + c.table;
  switch (c.kind) {
    case NftCmdKind::AddTable:
    case NftCmdKind::DeleteTable:
    case NftCmdKind::FlushTable: return "table " + at;
    case NftCmdKind::AddChain:
    case NftCmdKind::DeleteChain:
    case NftCmdKind::FlushChain: return "chain " + at + " " + c.chain;
    case NftCmdKind::AddRule:
    case NftCmdKind::DeleteRule: return "rule in chain " + at + " " + c.chain;
    case NftCmdKind::AddSet:
    case NftCmdKind::DeleteSet: return "set " + at + " " + c.set;
    default: return "elements of set " + at + " " + c.set;
  }
}

// Key or value type of a set: nft folds a concatenation's type ids 6 bits apart, and each field
// takes a whole number of 4-byte registers.
NftType typeOf(const std::vector<std::string>& names, const NftCommand& c) {
  NftType t{0, 0};
  for (const std::string& name : names) {
    auto it = nftTypes().find(name);
    if (it == nftTypes().end()) throw KernelError(EINVAL, "NFT_MSG_NEWSET", where(c) + " (unknown type '" + name + "')");
    t.id = t.id << 6 | it->second.id;
    t.len += names.size() > 1 ? (it->second.len + 3) / 4 * 4 : it->second.len;
  }
  return t;
}

// A key or value: a single part as it is, the parts of a concatenation padded to 4 bytes each.
std::vector<uint8_t> joinParts(const std::vector<std::vector<uint8_t>>& parts) {
  if (parts.size() == 1) return parts[0];
  std::vector<uint8_t> out;
  for (const auto& p : parts) {
    out.insert(out.end(), p.begin(), p.end());
    out.resize((out.size() + 3) / 4 * 4, 0);
  }
  return out;
}

// The value after `v` (big-endian), or nothing if `v` is the largest: the exclusive end of a range.
std::optional<std::vector<uint8_t>> nextValue(std::vector<uint8_t> v) {
  for (size_t i = v.size(); i-- > 0;) {
    if (++v[i] != 0) return v;
  }
  return std::nullopt;
}

// One NFTA_LIST_ELEM of an element list.
void putElement(NlRequest& req, const std::vector<uint8_t>& key, const std::vector<uint8_t>* keyEnd, uint32_t flags,
                const NftElement* value) {
  size_t elem = req.beginNested(NFTA_LIST_ELEM);
  putValueData(req, NFTA_SET_ELEM_KEY, key);
  if (keyEnd) putValueData(req, NFTA_SET_ELEM_KEY_END, *keyEnd);
  if (flags) putBe32(req, NFTA_SET_ELEM_FLAGS, flags);
  if (value && value->verdict) putVerdictData(req, NFTA_SET_ELEM_DATA, *value->verdict);
  if (value && !value->data.empty()) putValueData(req, NFTA_SET_ELEM_DATA, joinParts(value->data));
  if (value && value->timeoutMs) putBe64(req, NFTA_SET_ELEM_TIMEOUT, *value->timeoutMs);
  req.endNested(elem);
}

// Elements in the kernel's form. A concatenation's range is KEY..KEY_END (inclusive); a single
// field's range is two elements, its start and its exclusive end flagged INTERVAL_END.
void putElements(NlRequest& req, const std::vector<NftElement>& elements) {
  size_t list = req.beginNested(NFTA_SET_ELEM_LIST_ELEMENTS);
  for (const NftElement& e : elements) {
    std::vector<uint8_t> key = joinParts(e.key);
    if (e.keyEnd.empty()) {
      putElement(req, key, nullptr, 0, &e);
    } else if (e.key.size() > 1) {
      std::vector<uint8_t> end = joinParts(e.keyEnd);
      putElement(req, key, &end, 0, &e);
    } else {
      putElement(req, key, nullptr, 0, &e);
      if (auto after = nextValue(joinParts(e.keyEnd))) putElement(req, *after, nullptr, NFT_SET_ELEM_INTERVAL_END, nullptr);
    }
  }
  req.endNested(list);
}

void putHook(NlRequest& req, const NftBaseChain& base) {
  size_t hook = req.beginNested(NFTA_CHAIN_HOOK);
  putBe32(req, NFTA_HOOK_HOOKNUM, base.hook);
  putBe32(req, NFTA_HOOK_PRIORITY, static_cast<uint32_t>(base.priority));
  req.endNested(hook);
  req.putString(NFTA_CHAIN_TYPE, base.type);
  if (base.policy) putBe32(req, NFTA_CHAIN_POLICY, *base.policy);
}

void putRuleComment(NlRequest& req, const std::string& comment) {
  std::vector<uint8_t> udata = {kUdataRuleComment, static_cast<uint8_t>(comment.size() + 1)};
  udata.insert(udata.end(), comment.begin(), comment.end());
  udata.push_back(0);
  req.put(NFTA_RULE_USERDATA, udata.data(), udata.size());
}

void putSet(NlRequest& req, const NftCommand& c, uint32_t id) {
  const NftSetSpec& s = c.setSpec;
  NftType key = typeOf(s.key, c);
  uint32_t flags = (s.interval ? NFT_SET_INTERVAL : 0) | (s.constant ? NFT_SET_CONSTANT : 0) |
                   (s.timeout || s.timeoutMs ? NFT_SET_TIMEOUT : 0) | (s.data.empty() ? 0 : NFT_SET_MAP);
  bool concatRanges = s.interval && s.key.size() > 1;
  if (concatRanges) flags |= NFT_SET_CONCAT;
  putBe32(req, NFTA_SET_FLAGS, flags);
  putBe32(req, NFTA_SET_KEY_TYPE, key.id);
  putBe32(req, NFTA_SET_KEY_LEN, key.len);
  if (s.data == std::vector<std::string>{"verdict"}) {
    putBe32(req, NFTA_SET_DATA_TYPE, kVerdictType);
  } else if (!s.data.empty()) {
    NftType data = typeOf(s.data, c);
    putBe32(req, NFTA_SET_DATA_TYPE, data.id);
    putBe32(req, NFTA_SET_DATA_LEN, data.len);
  }
  if (s.timeoutMs) putBe64(req, NFTA_SET_TIMEOUT, *s.timeoutMs);
  putBe32(req, NFTA_SET_ID, id);
  if (s.key.size() == 1 && nftTypes().at(s.key[0]).hostOrder) {
    uint8_t udata[6] = {kUdataSetKeyByteorder, 4};
    std::memcpy(udata + 2, &kNftHostEndian, 4);
    req.put(NFTA_SET_USERDATA, udata, sizeof udata);
  }
  if (concatRanges) {
    // Ranges over a concatenation need the length of each field.
    size_t desc = req.beginNested(NFTA_SET_DESC);
    size_t fields = req.beginNested(NFTA_SET_DESC_CONCAT);
    for (const std::string& name : s.key) {
      size_t field = req.beginNested(NFTA_LIST_ELEM);
      putBe32(req, NFTA_SET_FIELD_LEN, nftTypes().at(name).len);
      req.endNested(field);
    }
    req.endNested(fields);
    req.endNested(desc);
  }
}

// Table, chain and set names: 1 to 255 bytes without NUL (a NUL would cut the name short).
void checkName(const std::string& name, const char* what, const NftCommand& c) {
  if (name.empty() || name.size() > 255 || name.find('\0') != std::string::npos) {
    throw KernelError(EINVAL, "nf_tables", where(c) + std::string(" (bad ") + what + " name)");
  }
}

void checkNames(const NftCommand& c) {
  checkName(c.table, "table", c);
  bool chain = c.kind == NftCmdKind::AddChain || c.kind == NftCmdKind::DeleteChain || c.kind == NftCmdKind::FlushChain ||
               c.kind == NftCmdKind::AddRule || c.kind == NftCmdKind::DeleteRule;
  if (chain) checkName(c.chain, "chain", c);
  bool set = c.kind >= NftCmdKind::AddSet;
  if (set) checkName(c.set, "set", c);
  for (const NftExpr& e : c.exprs) {
    if (e.kind == NftExprKind::Lookup) checkName(e.set, "set", c);
    if (e.verdict && !e.verdict->chain.empty()) checkName(e.verdict->chain, "chain", c);
  }
}

NlRequest messageFor(const NftCommand& c, uint32_t setId) {
  checkNames(c);
  auto msg = [&](uint8_t type, uint16_t flags) { return nfRequest(NFNL_SUBSYS_NFTABLES, type, flags, c.family); };
  uint16_t create = NLM_F_CREATE | (c.exclusive ? NLM_F_EXCL : 0);
  switch (c.kind) {
    case NftCmdKind::AddTable:
    case NftCmdKind::DeleteTable: {
      NlRequest req = addOrDelete(c, c.kind == NftCmdKind::AddTable, NFT_MSG_NEWTABLE, create, NFT_MSG_DELTABLE, kDestroyTable);
      req.putString(NFTA_TABLE_NAME, c.table);
      return req;
    }
    case NftCmdKind::AddChain:
    case NftCmdKind::DeleteChain: {
      NlRequest req = addOrDelete(c, c.kind == NftCmdKind::AddChain, NFT_MSG_NEWCHAIN, NLM_F_CREATE, NFT_MSG_DELCHAIN, kDestroyChain);
      req.putString(NFTA_CHAIN_TABLE, c.table);
      req.putString(NFTA_CHAIN_NAME, c.chain);
      if (c.base) putHook(req, *c.base);
      return req;
    }
    case NftCmdKind::FlushTable:
    case NftCmdKind::FlushChain: {
      // Deleting rules without a handle deletes every rule of the chain, or of the whole table.
      NlRequest req = msg(NFT_MSG_DELRULE, 0);
      req.putString(NFTA_RULE_TABLE, c.table);
      if (c.kind == NftCmdKind::FlushChain) req.putString(NFTA_RULE_CHAIN, c.chain);
      return req;
    }
    case NftCmdKind::AddRule: {
      NlRequest req = msg(NFT_MSG_NEWRULE, NLM_F_CREATE | (c.insert ? 0 : NLM_F_APPEND));
      req.putString(NFTA_RULE_TABLE, c.table);
      req.putString(NFTA_RULE_CHAIN, c.chain);
      if (c.position) putBe64(req, NFTA_RULE_POSITION, *c.position);
      putExpressions(req, c.exprs);
      if (!c.comment.empty()) putRuleComment(req, c.comment);
      return req;
    }
    case NftCmdKind::DeleteRule: {
      NlRequest req = addOrDelete(c, false, NFT_MSG_NEWRULE, 0, NFT_MSG_DELRULE, kDestroyRule);
      req.putString(NFTA_RULE_TABLE, c.table);
      req.putString(NFTA_RULE_CHAIN, c.chain);
      putBe64(req, NFTA_RULE_HANDLE, c.handle);
      return req;
    }
    case NftCmdKind::AddSet:
    case NftCmdKind::DeleteSet: {
      NlRequest req = addOrDelete(c, c.kind == NftCmdKind::AddSet, NFT_MSG_NEWSET, create, NFT_MSG_DELSET, kDestroySet);
      req.putString(NFTA_SET_TABLE, c.table);
      req.putString(NFTA_SET_NAME, c.set);
      if (c.kind == NftCmdKind::AddSet) putSet(req, c, setId);
      return req;
    }
    case NftCmdKind::FlushSet:
    case NftCmdKind::AddElements:
    case NftCmdKind::DeleteElements: {
      // An element delete without elements flushes the set.
      NlRequest req = c.kind == NftCmdKind::AddElements ? msg(NFT_MSG_NEWSETELEM, NLM_F_CREATE) : msg(NFT_MSG_DELSETELEM, 0);
      req.putString(NFTA_SET_ELEM_LIST_TABLE, c.table);
      req.putString(NFTA_SET_ELEM_LIST_SET, c.set);
      if (c.kind != NftCmdKind::FlushSet) putElements(req, c.elements);
      return req;
    }
  }
  throw KernelError(EINVAL, "nf_tables", where(c) + " (unknown command)");
}

}  // namespace

const std::map<std::string, NftType>& nftTypes() {
  // nft's own type ids (its datatype enum), so that `nft list` shows the sets we make by name.
  static const std::map<std::string, NftType> types = {
      {"ipv4_addr", {7, 4}},     {"ipv6_addr", {8, 16}},  {"ether_addr", {9, 6}},     {"inet_proto", {12, 1}},
      {"inet_service", {13, 2}}, {"mark", {19, 4, true}}, {"ifname", {41, 16, true}},
  };
  return types;
}

const char* nftFamilyName(uint8_t family) {
  switch (family) {
    case NFPROTO_INET: return "inet";
    case NFPROTO_BRIDGE: return "bridge";
    case NFPROTO_IPV4: return "ip";
    case NFPROTO_IPV6: return "ip6";
    default: return "";
  }
}

void nftTransaction(NlSocket& socket, const std::vector<NftCommand>& commands) {
  std::vector<NlRequest> msgs;
  std::vector<std::string> objects;
  msgs.reserve(commands.size());
  uint32_t setId = 0;
  for (size_t i = 0; i < commands.size(); i++) {
    try {
      msgs.push_back(messageFor(commands[i], ++setId));
    } catch (KernelError& e) {
      e.command = static_cast<long>(i);
      throw;
    }
    objects.push_back(where(commands[i]));
  }
  nfTransaction(socket, msgs, objects);
}

}  // namespace cnm
