#include "nftconvert.h"

// glibc's netinet/in.h before the kernel's headers, which then leave its definitions alone.
#include <arpa/inet.h>
#include <netinet/in.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_tuple_common.h>
#include <linux/netfilter/nf_tables.h>

#include <map>

namespace cnm {

namespace {

const std::map<std::string, uint8_t>& families() {
  static const std::map<std::string, uint8_t> f = {
      {"inet", NFPROTO_INET}, {"ip", NFPROTO_IPV4}, {"ip6", NFPROTO_IPV6}, {"bridge", NFPROTO_BRIDGE}};
  return f;
}

const std::map<std::string, uint32_t>& hooks() {
  static const std::map<std::string, uint32_t> h = {
      {"prerouting", NF_INET_PRE_ROUTING}, {"input", NF_INET_LOCAL_IN},           {"forward", NF_INET_FORWARD},
      {"output", NF_INET_LOCAL_OUT},       {"postrouting", NF_INET_POST_ROUTING},
  };
  return h;
}

const std::map<std::string, uint32_t>& policies() {
  static const std::map<std::string, uint32_t> p = {{"accept", NF_ACCEPT}, {"drop", NF_DROP}};
  return p;
}

const std::map<std::string, NftCmdKind>& commandKinds() {
  static const std::map<std::string, NftCmdKind> k = {
      {"addTable", NftCmdKind::AddTable},
      {"deleteTable", NftCmdKind::DeleteTable},
      {"flushTable", NftCmdKind::FlushTable},
      {"addChain", NftCmdKind::AddChain},
      {"deleteChain", NftCmdKind::DeleteChain},
      {"flushChain", NftCmdKind::FlushChain},
      {"addRule", NftCmdKind::AddRule},
      {"deleteRule", NftCmdKind::DeleteRule},
      {"addSet", NftCmdKind::AddSet},
      {"deleteSet", NftCmdKind::DeleteSet},
      {"flushSet", NftCmdKind::FlushSet},
      {"addElements", NftCmdKind::AddElements},
      {"deleteElements", NftCmdKind::DeleteElements},
  };
  return k;
}

const std::map<std::string, NftExprKind>& exprKinds() {
  static const std::map<std::string, NftExprKind> k = {
      {"meta", NftExprKind::Meta},       {"payload", NftExprKind::Payload}, {"cmp", NftExprKind::Cmp},
      {"bitwise", NftExprKind::Bitwise}, {"lookup", NftExprKind::Lookup},   {"immediate", NftExprKind::Immediate},
      {"ct", NftExprKind::Ct},           {"fib", NftExprKind::Fib},         {"nat", NftExprKind::Nat},
      {"masq", NftExprKind::Masq},       {"redir", NftExprKind::Redir},     {"counter", NftExprKind::Counter},
      {"notrack", NftExprKind::Notrack}, {"reject", NftExprKind::Reject},
  };
  return k;
}

// JS registers 0..15 are the kernel's 32-bit registers NFT_REG32_00..15.
uint32_t reg(const Reader& r, const char* key) {
  if (!r.has(key)) r.fail(key, "is required");
  return NFT_REG32_00 + static_cast<uint32_t>(*r.integer(key, 0, 15));
}

std::optional<uint32_t> optionalReg(const Reader& r, const char* key) {
  if (!r.has(key)) return std::nullopt;
  return reg(r, key);
}

uint32_t natFlags(const Reader& r) {
  uint32_t flags = 0;
  Napi::Array list = r.array("flags", false);
  for (uint32_t i = 0; i < list.Length(); i++) {
    Napi::Value v = list.Get(i);
    std::string name = v.IsString() ? v.As<Napi::String>().Utf8Value() : "";
    auto it = nftNatFlags().find(name);
    if (it == nftNatFlags().end()) r.fail("flags", "must hold 'random', 'fully-random' or 'persistent'");
    flags |= it->second;
  }
  return flags;
}

NftVerdict verdictFrom(const Reader& r) {
  NftVerdict v{r.choice("verdict", nftVerdictCodes()), ""};
  bool needsChain = v.code == NFT_JUMP || v.code == NFT_GOTO;
  if (needsChain) v.chain = r.string("chain", true);
  else if (r.has("chain")) r.fail("chain", "goes only with a jump or goto verdict");
  return v;
}

NftExpr exprFrom(const Reader& r) {
  NftExpr e;
  e.kind = r.choice("expr", exprKinds());
  switch (e.kind) {
    case NftExprKind::Meta:
    case NftExprKind::MetaSet:
      e.key = r.choice("key", nftMetaKeys());
      if (r.has("sreg") == r.has("dreg")) r.fail("dreg", "or sreg (not both) is required");
      if (r.has("sreg")) {
        e.kind = NftExprKind::MetaSet;
        e.sreg = reg(r, "sreg");
      } else {
        e.dreg = reg(r, "dreg");
      }
      break;
    case NftExprKind::Payload:
      e.base = r.choice("base", nftPayloadBases());
      e.offset = static_cast<uint32_t>(r.integer("offset", 0, 255).value_or(0));
      e.len = static_cast<uint32_t>(r.integer("len", 1, 64).value_or(0));
      if (!e.len) r.fail("len", "is required");
      e.dreg = reg(r, "dreg");
      break;
    case NftExprKind::Cmp:
      e.op = r.choice("op", nftCmpOps());
      e.sreg = reg(r, "sreg");
      e.data = r.bytes("data");
      if (e.data.empty() || e.data.size() > 64) r.fail("data", "must be 1 to 64 bytes");
      break;
    case NftExprKind::Bitwise:
      e.sreg = reg(r, "sreg");
      e.dreg = reg(r, "dreg");
      e.mask = r.bytes("mask");
      e.xorBits = r.bytes("xor");
      e.len = static_cast<uint32_t>(e.mask.size());
      if (e.len == 0 || e.len > 64 || e.xorBits.size() != e.mask.size()) r.fail("xor", "and mask must be 1 to 64 bytes, of one length");
      break;
    case NftExprKind::Lookup:
      e.set = r.string("set", true);
      e.sreg = reg(r, "sreg");
      e.invert = r.boolean("invert").value_or(false);
      if (r.has("dreg")) {
        e.hasDreg = true;
        bool verdict = r.value("dreg").IsString() && r.string("dreg") == "verdict";
        e.dreg = verdict ? static_cast<uint32_t>(NFT_REG_VERDICT) : reg(r, "dreg");
      }
      break;
    case NftExprKind::Immediate:
      if (r.has("verdict") == r.has("data")) r.fail("verdict", "or data (not both) is required");
      if (r.has("verdict")) {
        e.verdict = verdictFrom(r);
      } else {
        e.dreg = reg(r, "dreg");
        e.data = r.bytes("data");
        if (e.data.empty() || e.data.size() > 16) r.fail("data", "must be 1 to 16 bytes");
      }
      break;
    case NftExprKind::Ct:
      e.key = r.choice("key", nftCtKeys());
      e.dreg = reg(r, "dreg");
      if (r.has("direction")) {
        static const std::map<std::string, uint8_t> dirs = {{"original", IP_CT_DIR_ORIGINAL}, {"reply", IP_CT_DIR_REPLY}};
        e.direction = r.choice("direction", dirs);
      }
      break;
    case NftExprKind::Fib:
      e.key = r.choice("result", nftFibResults());
      e.dreg = reg(r, "dreg");
      for (const std::string& flag : r.strings("flags")) {
        auto it = nftFibFlags().find(flag);
        if (it == nftFibFlags().end()) r.fail("flags", "has an unknown fib flag");
        e.flags |= it->second;
      }
      break;
    case NftExprKind::Nat: {
      static const std::map<std::string, uint32_t> types = {{"snat", NFT_NAT_SNAT}, {"dnat", NFT_NAT_DNAT}};
      static const std::map<std::string, uint32_t> natFamilies = {{"ip", NFPROTO_IPV4}, {"ip6", NFPROTO_IPV6}};
      e.natType = r.choice("type", types);
      e.natFamily = r.choice("family", natFamilies);
      e.addrMin = optionalReg(r, "addr");
      e.addrMax = optionalReg(r, "addrMax");
      e.protoMin = optionalReg(r, "port");
      e.protoMax = optionalReg(r, "portMax");
      e.flags = natFlags(r);
      break;
    }
    case NftExprKind::Masq:
    case NftExprKind::Redir:
      e.protoMin = optionalReg(r, "port");
      e.protoMax = optionalReg(r, "portMax");
      e.flags = natFlags(r);
      break;
    case NftExprKind::Reject:
      e.rejectType = r.has("type") ? r.choice("type", nftRejectTypes()) : uint32_t{NFT_REJECT_ICMPX_UNREACH};
      e.icmpCode = static_cast<uint8_t>(r.integer("code", 0, 255).value_or(NFT_REJECT_ICMPX_PORT_UNREACH));
      break;
    case NftExprKind::Counter:
    case NftExprKind::Notrack: break;
  }
  return e;
}

// A key or value: bytes, or an array of byte strings (the fields of a concatenation).
std::vector<std::vector<uint8_t>> partsFrom(const Reader& r, const char* key) {
  Napi::Value v = r.value(key);
  if (!v.IsArray()) return {r.bytes(key)};
  Napi::Array a = v.As<Napi::Array>();
  if (a.Length() == 0) r.fail(key, "must not be empty");
  std::vector<std::vector<uint8_t>> parts;
  for (uint32_t i = 0; i < a.Length(); i++) parts.push_back(r.bytesFrom(a.Get(i), key));
  return parts;
}

NftElement elementFrom(const Reader& r) {
  NftElement e;
  e.key = partsFrom(r, "key");
  if (r.has("keyEnd")) e.keyEnd = partsFrom(r, "keyEnd");
  if (r.has("data")) e.data = partsFrom(r, "data");
  if (r.has("verdict")) e.verdict = verdictFrom(r);
  if (r.has("timeout")) e.timeoutMs = static_cast<uint64_t>(*r.integer("timeout", 1, int64_t(1) << 50));
  return e;
}

// A set's key or value type: a name or an array of names.
std::vector<std::string> typesFrom(const Reader& r, const char* key) {
  Napi::Value v = r.value(key);
  std::vector<std::string> names = v.IsArray() ? r.strings(key) : std::vector<std::string>{r.string(key, true)};
  for (const std::string& name : names) {
    if (!nftTypes().count(name) && !(name == "verdict" && std::string(key) == "data" && names.size() == 1)) {
      r.fail(key, "must name ipv4_addr, ipv6_addr, ether_addr, inet_proto, inet_service, mark or ifname");
    }
  }
  if (names.empty()) r.fail(key, "must not be empty");
  return names;
}

NftSetSpec setSpecFrom(const Reader& r) {
  NftSetSpec s;
  s.key = typesFrom(r, "key");
  if (r.has("data")) s.data = typesFrom(r, "data");
  for (const std::string& flag : r.has("flags") ? r.strings("flags") : std::vector<std::string>{}) {
    if (flag == "interval") s.interval = true;
    else if (flag == "constant") s.constant = true;
    else if (flag == "timeout") s.timeout = true;
    else r.fail("flags", "must hold 'interval', 'constant' or 'timeout'");
  }
  if (r.has("timeout")) s.timeoutMs = static_cast<uint64_t>(*r.integer("timeout", 1, int64_t(1) << 50));
  return s;
}

NftCommand commandFrom(const Reader& r) {
  NftCommand c;
  c.kind = r.choice("cmd", commandKinds());
  c.family = r.choice("family", families());
  c.table = r.string("table", true);
  c.exclusive = r.boolean("exclusive").value_or(false);
  c.ifExists = r.boolean("ifExists").value_or(false);
  switch (c.kind) {
    case NftCmdKind::AddTable:
    case NftCmdKind::DeleteTable:
    case NftCmdKind::FlushTable: break;
    case NftCmdKind::AddChain:
      c.chain = r.string("chain", true);
      if (r.has("hook")) {
        c.base = NftBaseChain{r.string("type", true), r.choice("hook", hooks()),
                              static_cast<int32_t>(r.integer("priority", INT32_MIN, INT32_MAX).value_or(0)), std::nullopt};
        if (r.has("policy")) c.base->policy = r.choice("policy", policies());
      } else if (r.has("type") || r.has("priority") || r.has("policy")) {
        r.fail("hook", "is required for a base chain (type, priority, policy)");
      }
      break;
    case NftCmdKind::DeleteChain:
    case NftCmdKind::FlushChain: c.chain = r.string("chain", true); break;
    case NftCmdKind::AddRule: {
      c.chain = r.string("chain", true);
      Napi::Array exprs = r.array("exprs");
      for (uint32_t i = 0; i < exprs.Length(); i++) c.exprs.push_back(exprFrom(r.item(exprs, "exprs", i)));
      c.comment = r.string("comment");
      if (c.comment.size() > 127 || c.comment.find('\0') != std::string::npos) r.fail("comment", "must be at most 127 bytes, without NUL");
      if (r.has("position")) c.position = static_cast<uint64_t>(*r.integer("position", 1, int64_t(1) << 53));
      c.insert = r.boolean("insert").value_or(false);
      break;
    }
    case NftCmdKind::DeleteRule:
      c.chain = r.string("chain", true);
      if (!r.has("handle")) r.fail("handle", "is required");
      c.handle = static_cast<uint64_t>(*r.integer("handle", 1, int64_t(1) << 53));
      break;
    case NftCmdKind::AddSet:
      c.set = r.string("set", true);
      c.setSpec = setSpecFrom(r);
      break;
    case NftCmdKind::DeleteSet:
    case NftCmdKind::FlushSet: c.set = r.string("set", true); break;
    case NftCmdKind::AddElements:
    case NftCmdKind::DeleteElements: {
      c.set = r.string("set", true);
      Napi::Array elements = r.array("elements");
      for (uint32_t i = 0; i < elements.Length(); i++) c.elements.push_back(elementFrom(r.item(elements, "elements", i)));
      break;
    }
  }
  return c;
}

ConntrackFilter conntrackFrom(const Reader& r) {
  ConntrackFilter f;
  f.family = r.family("family");
  if (f.family == AF_UNSPEC) r.fail("family", "must be 4 or 6");
  static const std::map<std::string, uint8_t> protocols = {{"tcp", IPPROTO_TCP}, {"udp", IPPROTO_UDP}, {"sctp", IPPROTO_SCTP}};
  f.protocol = r.choice("protocol", protocols);
  std::string dst = r.string("destination");
  if (!dst.empty()) {
    f.dst.resize(f.family == AF_INET ? 4 : 16);
    if (inet_pton(f.family, dst.c_str(), f.dst.data()) != 1) r.fail("destination", "must be an address of the family");
  }
  if (r.has("port")) f.dstPort = static_cast<uint16_t>(*r.integer("port", 1, 65535));
  return f;
}

std::string hex(const std::vector<uint8_t>& bytes) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  for (uint8_t b : bytes) {
    out += digits[b >> 4];
    out += digits[b & 15];
  }
  return out;
}

// The fields every listed table, chain, rule and set has.
void setPlace(Napi::Env env, Napi::Object& o, uint8_t family, const std::string& table, uint64_t handle) {
  o.Set("family", Napi::String::New(env, nftFamilyName(family)));
  if (!table.empty()) o.Set("table", table);
  o.Set("handle", static_cast<double>(handle));
}

template <class T, class F>
Napi::Array listToJs(Napi::Env env, const std::vector<T>& items, F convert) {
  Napi::Array a = Napi::Array::New(env, items.size());
  for (size_t i = 0; i < items.size(); i++) {
    Napi::Object o = Napi::Object::New(env);
    convert(o, items[i]);
    a.Set(i, o);
  }
  return a;
}

std::string nameOf(const std::map<std::string, uint32_t>& names, uint32_t value) {
  for (const auto& [name, v] : names) {
    if (v == value) return name;
  }
  return std::to_string(value);
}

}  // namespace

void fieldsFrom(const Reader& r, op::NftTransaction& o) {
  Napi::Array commands = r.array("commands");
  for (uint32_t i = 0; i < commands.Length(); i++) o.commands.push_back(commandFrom(r.item(commands, "commands", i)));
}

void fieldsFrom(const Reader& r, op::NftListTables& o) {
  o.family = r.has("family") ? r.choice("family", families()) : uint8_t{NFPROTO_UNSPEC};
}

void fieldsFrom(const Reader& r, op::NftListChains& o) {
  o.family = r.choice("family", families());
  o.table = r.string("table", true);
}

void fieldsFrom(const Reader& r, op::NftListRules& o) {
  o.family = r.choice("family", families());
  o.table = r.string("table", true);
  o.chain = r.string("chain");
}

void fieldsFrom(const Reader& r, op::NftListSets& o) {
  o.family = r.choice("family", families());
  o.table = r.string("table", true);
}

void fieldsFrom(const Reader& r, op::NftListElements& o) {
  o.family = r.choice("family", families());
  o.table = r.string("table", true);
  o.set = r.string("set", true);
}

void fieldsFrom(const Reader& r, op::ConntrackDelete& o) {
  Napi::Array filters = r.array("filters");
  for (uint32_t i = 0; i < filters.Length(); i++) o.filters.push_back(conntrackFrom(r.item(filters, "filters", i)));
}

Napi::Value netfilterResultToJs(Napi::Env env, const std::vector<NftTableInfo>& v) {
  return listToJs(env, v, [&](Napi::Object& o, const NftTableInfo& t) {
    setPlace(env, o, t.family, "", t.handle);
    o.Set("name", t.name);
    o.Set("flags", t.flags);
    o.Set("use", t.use);
  });
}

Napi::Value netfilterResultToJs(Napi::Env env, const std::vector<NftChainInfo>& v) {
  return listToJs(env, v, [&](Napi::Object& o, const NftChainInfo& c) {
    setPlace(env, o, c.family, c.table, c.handle);
    o.Set("name", c.name);
    o.Set("use", c.use);
    if (!c.hook) return;
    o.Set("type", c.type);
    o.Set("hook", nameOf(hooks(), *c.hook));
    o.Set("priority", c.priority);
    if (c.policy) o.Set("policy", nameOf(policies(), *c.policy));
  });
}

Napi::Value netfilterResultToJs(Napi::Env env, const std::vector<NftRuleInfo>& v) {
  return listToJs(env, v, [&](Napi::Object& o, const NftRuleInfo& r) {
    setPlace(env, o, r.family, r.table, r.handle);
    o.Set("chain", r.chain);
    o.Set("comment", r.comment.empty() ? env.Null() : Napi::String::New(env, r.comment));
    Napi::Array exprs = Napi::Array::New(env, r.exprs.size());
    for (size_t i = 0; i < r.exprs.size(); i++) exprs.Set(i, r.exprs[i]);
    o.Set("exprs", exprs);
  });
}

Napi::Value netfilterResultToJs(Napi::Env env, const std::vector<NftSetInfo>& v) {
  return listToJs(env, v, [&](Napi::Object& o, const NftSetInfo& s) {
    setPlace(env, o, s.family, s.table, s.handle);
    o.Set("name", s.name);
    o.Set("flags", s.flags);
    o.Set("map", Napi::Boolean::New(env, s.flags & NFT_SET_MAP));
    o.Set("interval", Napi::Boolean::New(env, s.flags & NFT_SET_INTERVAL));
    o.Set("keyType", s.keyType);
    o.Set("keyLen", s.keyLen);
    o.Set("dataType", s.dataType);
    o.Set("dataLen", s.dataLen);
    o.Set("timeout", static_cast<double>(s.timeoutMs));
  });
}

Napi::Value netfilterResultToJs(Napi::Env env, const std::vector<NftElementInfo>& v) {
  return listToJs(env, v, [&](Napi::Object& o, const NftElementInfo& e) {
    o.Set("key", hex(e.key));
    if (!e.keyEnd.empty()) o.Set("keyEnd", hex(e.keyEnd));
    if (!e.data.empty()) o.Set("data", hex(e.data));
    if (e.verdict) {
      o.Set("verdict", nftVerdictName(e.verdict->code));
      if (!e.verdict->chain.empty()) o.Set("chain", e.verdict->chain);
    }
    o.Set("intervalEnd", Napi::Boolean::New(env, e.flags & NFT_SET_ELEM_INTERVAL_END));
    if (e.timeoutMs) o.Set("timeout", static_cast<double>(e.timeoutMs));
    if (e.expiresMs) o.Set("expires", static_cast<double>(e.expiresMs));
  });
}

}  // namespace cnm
