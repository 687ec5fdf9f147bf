// Reading nf_tables back: tables, chains, rules, sets and set elements, as the kernel has them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "netlink.h"
#include "nftexpr.h"

namespace cnm {

struct NftTableInfo {
  uint8_t family = 0;
  std::string name;
  uint64_t handle = 0;
  uint32_t flags = 0;
  uint32_t use = 0;  // how many chains, sets and objects it holds
};

struct NftChainInfo {
  uint8_t family = 0;
  std::string table, name;
  uint64_t handle = 0;
  std::string type;              // base chains: "filter", "nat", "route"
  std::optional<uint32_t> hook;  // base chains
  int32_t priority = 0;
  std::optional<uint32_t> policy;
  uint32_t use = 0;  // how many rules and jumps refer to it
};

struct NftRuleInfo {
  uint8_t family = 0;
  std::string table, chain;
  uint64_t handle = 0;
  std::string comment;             // nft's rule comment from the user data, or ""
  std::vector<std::string> exprs;  // the expressions' names, in order
};

struct NftSetInfo {
  uint8_t family = 0;
  std::string table, name;
  uint64_t handle = 0;
  uint32_t flags = 0;
  uint32_t keyType = 0, keyLen = 0, dataType = 0, dataLen = 0;
  uint64_t timeoutMs = 0;
};

struct NftElementInfo {
  std::vector<uint8_t> key, keyEnd, data;
  std::optional<NftVerdict> verdict;
  uint32_t flags = 0;  // NFT_SET_ELEM_INTERVAL_END
  uint64_t timeoutMs = 0, expiresMs = 0;
};

// `family` 0 (NFPROTO_UNSPEC) lists tables of every family.
std::vector<NftTableInfo> nftListTables(NlSocket& socket, uint8_t family);
std::vector<NftChainInfo> nftListChains(NlSocket& socket, uint8_t family, const std::string& table);
// Every rule of a table, or of one chain if `chain` is given, in chain order.
std::vector<NftRuleInfo> nftListRules(NlSocket& socket, uint8_t family, const std::string& table, const std::string& chain);
std::vector<NftSetInfo> nftListSets(NlSocket& socket, uint8_t family, const std::string& table);
std::vector<NftElementInfo> nftListElements(NlSocket& socket, uint8_t family, const std::string& table, const std::string& set);

// One message of such a dump: nothing for another message type (or another table or chain); the
// elements of a set element message are appended to `out`. Throw EBADMSG for a message cut short.
std::optional<NftTableInfo> nftParseTable(const nlmsghdr* h);
std::optional<NftChainInfo> nftParseChain(const nlmsghdr* h, const std::string& table);
std::optional<NftRuleInfo> nftParseRule(const nlmsghdr* h, const std::string& table, const std::string& chain);
std::optional<NftSetInfo> nftParseSet(const nlmsghdr* h, const std::string& table);
void nftParseElements(const nlmsghdr* h, std::vector<NftElementInfo>& out);

}  // namespace cnm
