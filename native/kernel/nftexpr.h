// nf_tables rule expressions: plain structs and their netlink encoding (NFTA_RULE_EXPRESSIONS).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "netlink.h"

namespace cnm {

// A verdict: NF_ACCEPT, NF_DROP, NFT_RETURN, NFT_CONTINUE, or NFT_JUMP / NFT_GOTO with a chain.
struct NftVerdict {
  int32_t code = 0;
  std::string chain;
};

enum class NftExprKind { Meta, MetaSet, Payload, Cmp, Bitwise, Lookup, Immediate, Ct, Fib, Nat, Masq, Redir, Counter, Notrack, Reject };

// One expression. Registers are kernel numbers (NFT_REG_VERDICT, NFT_REG32_00..15); which fields
// count depends on `kind`, as noted.
struct NftExpr {
  NftExprKind kind = NftExprKind::Counter;
  uint32_t key = 0;                                              // Meta, MetaSet, Ct: NFT_META_* / NFT_CT_*; Fib: NFT_FIB_RESULT_*
  uint32_t dreg = 0;                                             // Meta, Payload, Bitwise, Immediate (data), Ct, Lookup (maps)
  uint32_t sreg = 0;                                             // MetaSet, Cmp, Bitwise, Lookup
  bool hasDreg = false;                                          // Lookup: a map lookup, which writes the element's value
  std::optional<uint8_t> direction;                              // Ct: IP_CT_DIR_ORIGINAL / IP_CT_DIR_REPLY
  uint32_t base = 0;                                             // Payload: NFT_PAYLOAD_*_HEADER
  uint32_t offset = 0;                                           // Payload
  uint32_t len = 0;                                              // Payload, Bitwise
  uint32_t op = 0;                                               // Cmp: NFT_CMP_*
  std::vector<uint8_t> data;                                     // Cmp, Immediate (data)
  std::vector<uint8_t> mask, xorBits;                            // Bitwise
  std::optional<NftVerdict> verdict;                             // Immediate (verdict)
  std::string set;                                               // Lookup
  bool invert = false;                                           // Lookup
  uint32_t natType = 0;                                          // Nat: NFT_NAT_SNAT / NFT_NAT_DNAT
  uint32_t natFamily = 0;                                        // Nat: NFPROTO_IPV4 / NFPROTO_IPV6
  std::optional<uint32_t> addrMin, addrMax, protoMin, protoMax;  // Nat, Masq, Redir: registers
  uint32_t flags = 0;                                            // Nat, Masq, Redir: NF_NAT_RANGE_* flags; Fib: NFTA_FIB_F_*
  uint32_t rejectType = 0;                                       // Reject: NFT_REJECT_*
  uint8_t icmpCode = 0;                                          // Reject
};

// Appends NFTA_RULE_EXPRESSIONS with every expression of a rule.
void putExpressions(NlRequest& req, const std::vector<NftExpr>& exprs);

// Appends a verdict (NFTA_DATA_VERDICT) or a value (NFTA_DATA_VALUE) as the nested attribute `type`.
void putVerdictData(NlRequest& req, uint16_t type, const NftVerdict& verdict);
void putValueData(NlRequest& req, uint16_t type, const std::vector<uint8_t>& bytes);

// Names the JS side uses, and the kernel numbers they stand for.
const std::map<std::string, uint32_t>& nftMetaKeys();
const std::map<std::string, uint32_t>& nftCtKeys();
const std::map<std::string, uint32_t>& nftFibResults();
const std::map<std::string, uint32_t>& nftFibFlags();
const std::map<std::string, uint32_t>& nftCmpOps();
const std::map<std::string, uint32_t>& nftPayloadBases();
const std::map<std::string, int32_t>& nftVerdictCodes();
const std::map<std::string, uint32_t>& nftNatFlags();
const std::map<std::string, uint32_t>& nftRejectTypes();
// The name of a verdict code ("accept", "jump"), or "" if unknown.
std::string nftVerdictName(int32_t code);

}  // namespace cnm
