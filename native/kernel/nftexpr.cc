#include "nftexpr.h"

#include <linux/netfilter.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>

#include "nfnetlink.h"

namespace cnm {

namespace {

void putReg(NlRequest& req, uint16_t type, uint32_t reg) { putBe32(req, type, reg); }

void putOptionalReg(NlRequest& req, uint16_t type, const std::optional<uint32_t>& reg) {
  if (reg) putReg(req, type, *reg);
}

// masq and redir: range flags and the registers of the port range, each optional.
void putPortRange(NlRequest& req, const NftExpr& e, uint16_t flags, uint16_t min, uint16_t max) {
  if (e.flags) putBe32(req, flags, e.flags);
  putOptionalReg(req, min, e.protoMin);
  putOptionalReg(req, max, e.protoMax);
}

// The expression's kernel name and the attributes inside its NFTA_EXPR_DATA.
const char* putBody(NlRequest& req, const NftExpr& e) {
  switch (e.kind) {
    case NftExprKind::Meta:
      putBe32(req, NFTA_META_KEY, e.key);
      putReg(req, NFTA_META_DREG, e.dreg);
      return "meta";
    case NftExprKind::MetaSet:
      putBe32(req, NFTA_META_KEY, e.key);
      putReg(req, NFTA_META_SREG, e.sreg);
      return "meta";
    case NftExprKind::Payload:
      putReg(req, NFTA_PAYLOAD_DREG, e.dreg);
      putBe32(req, NFTA_PAYLOAD_BASE, e.base);
      putBe32(req, NFTA_PAYLOAD_OFFSET, e.offset);
      putBe32(req, NFTA_PAYLOAD_LEN, e.len);
      return "payload";
    case NftExprKind::Cmp:
      putReg(req, NFTA_CMP_SREG, e.sreg);
      putBe32(req, NFTA_CMP_OP, e.op);
      putValueData(req, NFTA_CMP_DATA, e.data);
      return "cmp";
    case NftExprKind::Bitwise:
      putReg(req, NFTA_BITWISE_SREG, e.sreg);
      putReg(req, NFTA_BITWISE_DREG, e.dreg);
      putBe32(req, NFTA_BITWISE_LEN, e.len);
      putBe32(req, NFTA_BITWISE_OP, NFT_BITWISE_BOOL);  // (reg & mask) ^ xor
      putValueData(req, NFTA_BITWISE_MASK, e.mask);
      putValueData(req, NFTA_BITWISE_XOR, e.xorBits);
      return "bitwise";
    case NftExprKind::Lookup:
      req.putString(NFTA_LOOKUP_SET, e.set);
      putReg(req, NFTA_LOOKUP_SREG, e.sreg);
      if (e.hasDreg) putReg(req, NFTA_LOOKUP_DREG, e.dreg);
      if (e.invert) putBe32(req, NFTA_LOOKUP_FLAGS, NFT_LOOKUP_F_INV);
      return "lookup";
    case NftExprKind::Immediate:
      if (e.verdict) {
        putReg(req, NFTA_IMMEDIATE_DREG, NFT_REG_VERDICT);
        putVerdictData(req, NFTA_IMMEDIATE_DATA, *e.verdict);
      } else {
        putReg(req, NFTA_IMMEDIATE_DREG, e.dreg);
        putValueData(req, NFTA_IMMEDIATE_DATA, e.data);
      }
      return "immediate";
    case NftExprKind::Ct:
      putBe32(req, NFTA_CT_KEY, e.key);
      putReg(req, NFTA_CT_DREG, e.dreg);
      if (e.direction) req.putU8(NFTA_CT_DIRECTION, *e.direction);
      return "ct";
    case NftExprKind::Fib:
      putReg(req, NFTA_FIB_DREG, e.dreg);
      putBe32(req, NFTA_FIB_RESULT, e.key);
      putBe32(req, NFTA_FIB_FLAGS, e.flags);
      return "fib";
    case NftExprKind::Nat:
      putBe32(req, NFTA_NAT_TYPE, e.natType);
      putBe32(req, NFTA_NAT_FAMILY, e.natFamily);
      putOptionalReg(req, NFTA_NAT_REG_ADDR_MIN, e.addrMin);
      putOptionalReg(req, NFTA_NAT_REG_ADDR_MAX, e.addrMax);
      putOptionalReg(req, NFTA_NAT_REG_PROTO_MIN, e.protoMin);
      putOptionalReg(req, NFTA_NAT_REG_PROTO_MAX, e.protoMax);
      if (e.flags) putBe32(req, NFTA_NAT_FLAGS, e.flags);
      return "nat";
    case NftExprKind::Masq: putPortRange(req, e, NFTA_MASQ_FLAGS, NFTA_MASQ_REG_PROTO_MIN, NFTA_MASQ_REG_PROTO_MAX); return "masq";
    case NftExprKind::Redir: putPortRange(req, e, NFTA_REDIR_FLAGS, NFTA_REDIR_REG_PROTO_MIN, NFTA_REDIR_REG_PROTO_MAX); return "redir";
    case NftExprKind::Counter: return "counter";
    case NftExprKind::Notrack: return "notrack";
    case NftExprKind::Reject:
      putBe32(req, NFTA_REJECT_TYPE, e.rejectType);
      if (e.rejectType != NFT_REJECT_TCP_RST) req.putU8(NFTA_REJECT_ICMP_CODE, e.icmpCode);
      return "reject";
  }
  return "";
}

}  // namespace

void putValueData(NlRequest& req, uint16_t type, const std::vector<uint8_t>& bytes) {
  size_t nest = req.beginNested(type);
  req.put(NFTA_DATA_VALUE, bytes.data(), bytes.size());
  req.endNested(nest);
}

void putVerdictData(NlRequest& req, uint16_t type, const NftVerdict& verdict) {
  size_t nest = req.beginNested(type);
  size_t inner = req.beginNested(NFTA_DATA_VERDICT);
  putBe32(req, NFTA_VERDICT_CODE, static_cast<uint32_t>(verdict.code));
  if (!verdict.chain.empty()) req.putString(NFTA_VERDICT_CHAIN, verdict.chain);
  req.endNested(inner);
  req.endNested(nest);
}

void putExpressions(NlRequest& req, const std::vector<NftExpr>& exprs) {
  size_t list = req.beginNested(NFTA_RULE_EXPRESSIONS);
  for (const NftExpr& e : exprs) {
    size_t elem = req.beginNested(NFTA_LIST_ELEM);
    size_t data = req.beginNested(NFTA_EXPR_DATA);
    const char* name = putBody(req, e);
    req.endNested(data);
    req.putString(NFTA_EXPR_NAME, name);  // the kernel reads attributes by type, not by order
    req.endNested(elem);
  }
  req.endNested(list);
}

const std::map<std::string, uint32_t>& nftMetaKeys() {
  static const std::map<std::string, uint32_t> keys = {
      {"len", NFT_META_LEN},           {"protocol", NFT_META_PROTOCOL}, {"mark", NFT_META_MARK},         {"iif", NFT_META_IIF},
      {"oif", NFT_META_OIF},           {"iifname", NFT_META_IIFNAME},   {"oifname", NFT_META_OIFNAME},   {"iiftype", NFT_META_IIFTYPE},
      {"oiftype", NFT_META_OIFTYPE},   {"nfproto", NFT_META_NFPROTO},   {"l4proto", NFT_META_L4PROTO},   {"pkttype", NFT_META_PKTTYPE},
      {"skuid", NFT_META_SKUID},       {"skgid", NFT_META_SKGID},       {"priority", NFT_META_PRIORITY}, {"iifgroup", NFT_META_IIFGROUP},
      {"oifgroup", NFT_META_OIFGROUP},
  };
  return keys;
}

const std::map<std::string, uint32_t>& nftFibResults() {
  static const std::map<std::string, uint32_t> results = {
      {"oif", NFT_FIB_RESULT_OIF}, {"oifname", NFT_FIB_RESULT_OIFNAME}, {"type", NFT_FIB_RESULT_ADDRTYPE}};
  return results;
}

const std::map<std::string, uint32_t>& nftFibFlags() {
  static const std::map<std::string, uint32_t> flags = {{"saddr", NFTA_FIB_F_SADDR},
                                                        {"daddr", NFTA_FIB_F_DADDR},
                                                        {"mark", NFTA_FIB_F_MARK},
                                                        {"iif", NFTA_FIB_F_IIF},
                                                        {"oif", NFTA_FIB_F_OIF}};
  return flags;
}

const std::map<std::string, uint32_t>& nftCtKeys() {
  static const std::map<std::string, uint32_t> keys = {
      {"state", NFT_CT_STATE},
      {"direction", NFT_CT_DIRECTION},
      {"status", NFT_CT_STATUS},
      {"mark", NFT_CT_MARK},
      {"expiration", NFT_CT_EXPIRATION},
      {"l3proto", NFT_CT_L3PROTOCOL},
      {"protocol", NFT_CT_PROTOCOL},
      {"src", NFT_CT_SRC},
      {"dst", NFT_CT_DST},
      {"proto-src", NFT_CT_PROTO_SRC},
      {"proto-dst", NFT_CT_PROTO_DST},
      {"saddr-ip", NFT_CT_SRC_IP},
      {"daddr-ip", NFT_CT_DST_IP},
      {"saddr-ip6", NFT_CT_SRC_IP6},
      {"daddr-ip6", NFT_CT_DST_IP6},
      {"zone", NFT_CT_ZONE},
  };
  return keys;
}

const std::map<std::string, uint32_t>& nftCmpOps() {
  static const std::map<std::string, uint32_t> ops = {
      {"eq", NFT_CMP_EQ}, {"neq", NFT_CMP_NEQ}, {"lt", NFT_CMP_LT}, {"lte", NFT_CMP_LTE}, {"gt", NFT_CMP_GT}, {"gte", NFT_CMP_GTE},
  };
  return ops;
}

const std::map<std::string, uint32_t>& nftPayloadBases() {
  static const std::map<std::string, uint32_t> bases = {
      {"link", NFT_PAYLOAD_LL_HEADER},
      {"network", NFT_PAYLOAD_NETWORK_HEADER},
      {"transport", NFT_PAYLOAD_TRANSPORT_HEADER},
  };
  return bases;
}

const std::map<std::string, int32_t>& nftVerdictCodes() {
  static const std::map<std::string, int32_t> codes = {
      {"accept", NF_ACCEPT}, {"drop", NF_DROP}, {"return", NFT_RETURN}, {"continue", NFT_CONTINUE}, {"jump", NFT_JUMP}, {"goto", NFT_GOTO},
  };
  return codes;
}

std::string nftVerdictName(int32_t code) {
  for (const auto& [name, value] : nftVerdictCodes()) {
    if (value == code) return name;
  }
  return "";
}

const std::map<std::string, uint32_t>& nftNatFlags() {
  static const std::map<std::string, uint32_t> flags = {
      {"random", NF_NAT_RANGE_PROTO_RANDOM},
      {"fully-random", NF_NAT_RANGE_PROTO_RANDOM_FULLY},
      {"persistent", NF_NAT_RANGE_PERSISTENT},
  };
  return flags;
}

const std::map<std::string, uint32_t>& nftRejectTypes() {
  static const std::map<std::string, uint32_t> types = {
      {"icmp", NFT_REJECT_ICMP_UNREACH},
      {"tcp-reset", NFT_REJECT_TCP_RST},
      {"icmpx", NFT_REJECT_ICMPX_UNREACH},
  };
  return types;
}

}  // namespace cnm
