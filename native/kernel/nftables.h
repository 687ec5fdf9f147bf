// nf_tables commands (tables, chains, rules, sets and their elements) sent as one atomic
// transaction over a NETLINK_NETFILTER socket.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "netlink.h"
#include "nftexpr.h"

namespace cnm {

enum class NftCmdKind {
  AddTable,
  DeleteTable,
  FlushTable,
  AddChain,
  DeleteChain,
  FlushChain,
  AddRule,
  DeleteRule,
  AddSet,
  DeleteSet,
  FlushSet,
  AddElements,
  DeleteElements,
};

// What makes a chain a base chain: where it hooks into the stack.
struct NftBaseChain {
  std::string type;   // "filter", "nat", "route"
  uint32_t hook = 0;  // NF_INET_PRE_ROUTING ...
  int32_t priority = 0;
  std::optional<uint32_t> policy;  // NF_ACCEPT / NF_DROP
};

// A set's key and, for a map, value: nft type names ("ipv4_addr"); several for a concatenation.
// A map whose value is {"verdict"} is a verdict map.
struct NftSetSpec {
  std::vector<std::string> key;
  std::vector<std::string> data;
  bool interval = false;
  bool constant = false;
  bool timeout = false;
  std::optional<uint64_t> timeoutMs;  // default element timeout
};

// One element. A key is one part, or one part per field of a concatenation (each padded to 4
// bytes, as the kernel's registers are). In an interval set, `keyEnd` is the range's last value.
struct NftElement {
  std::vector<std::vector<uint8_t>> key;
  std::vector<std::vector<uint8_t>> keyEnd;
  std::vector<std::vector<uint8_t>> data;  // a map's value
  std::optional<NftVerdict> verdict;       // a verdict map's value
  std::optional<uint64_t> timeoutMs;
};

struct NftCommand {
  NftCmdKind kind = NftCmdKind::AddTable;
  uint8_t family = 0;  // NFPROTO_INET, NFPROTO_IPV4, NFPROTO_IPV6, NFPROTO_BRIDGE
  std::string table, chain, set;
  bool exclusive = false;            // add table / set: fail with EEXIST if it exists
  bool ifExists = false;             // delete: no error if it is missing (NFT_MSG_DESTROY*, kernel 6.3)
  std::optional<NftBaseChain> base;  // AddChain
  std::vector<NftExpr> exprs;        // AddRule
  std::string comment;               // AddRule: stored as nft's rule comment
  std::optional<uint64_t> position;  // AddRule: after (or, with insert, before) this handle
  bool insert = false;               // AddRule: prepend instead of append
  uint64_t handle = 0;               // DeleteRule
  NftSetSpec setSpec;                // AddSet
  std::vector<NftElement> elements;  // AddElements, DeleteElements
};

// nft's data types for set keys and values: its type id (shown by `nft list`), length, and
// whether nft reads it in host byte order (interface names, marks).
struct NftType {
  uint32_t id;
  uint32_t len;
  bool hostOrder = false;
};
const std::map<std::string, NftType>& nftTypes();

// The family's name as nft prints it ("inet"), or "" for an unknown one.
const char* nftFamilyName(uint8_t family);

// Runs the commands as one transaction: all take effect or none does. Throws the KernelError of
// the first refused command, with `command` set to its index.
void nftTransaction(NlSocket& socket, const std::vector<NftCommand>& commands);

}  // namespace cnm
