// A batch: several kernel operations run in order in one trip to a worker thread, each aimed at
// the host or at a namespace by its path. Sockets are opened once per namespace per batch.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "address.h"
#include "conntrack.h"
#include "error.h"
#include "files.h"
#include "link.h"
#include "lockfile.h"
#include "netns.h"
#include "ports.h"
#include "nftables.h"
#include "nftlist.h"
#include "route.h"

namespace cnm {

enum class OpKind {
  NetnsCreate, NetnsDelete, NetnsInfo,
  LinkAdd, LinkDelete, LinkDeleteGroup, LinkSet, LinkGet, LinkList,
  AddressAdd, AddressDelete, AddressList,
  RouteAdd, RouteReplace, RouteDelete, RouteList,
  SysctlGet, SysctlSet,
  LockFile, UnlockFile,
  PortReserve, PortRelease,
  RemovePaths, WriteFiles,
  NftTransaction, NftListTables, NftListChains, NftListRules, NftListSets, NftListElements,
  ConntrackDelete,
};

// What an nf_tables read-back op lists: the tables of a family, or a table's chains, rules
// (optionally of one chain) or sets, or one set's elements.
struct NftQuery {
  uint8_t family = 0;
  std::string table, chain, set;
};

struct Op {
  OpKind kind;
  std::string netns;  // the namespace the op acts in (path); empty: the caller's (host)
  std::string dir;    // NetnsCreate: the namespace directory; RemovePaths, WriteFiles: the base folder
  std::string name;   // NetnsCreate: the namespace name; link ops: the link
  std::vector<std::string> names;  // LinkDeleteGroup
  std::optional<uint32_t> group;   // LinkDeleteGroup: the group to use; absent: a random one
  std::string path;   // NetnsDelete, NetnsInfo
  std::vector<std::pair<std::string, std::string>> sysctls;  // NetnsCreate: set inside the new one
  LinkSpec link;
  LinkChange change;
  std::string cidr;
  int family = 0;
  RouteSpec route;
  std::optional<uint32_t> table;
  std::string key, value;  // sysctl; LockFile: value is what to write into the file
  int fd = -1;             // UnlockFile, PortRelease
  std::string protocol;    // PortReserve: "tcp", "udp", "sctp" (the address is in `cidr`)
  uint16_t port = 0, portEnd = 0;  // PortReserve
  std::vector<std::string> paths;  // RemovePaths (relative to `dir`)
  std::vector<FileContent> files;  // WriteFiles (relative to `dir`)
  WriteMode writeMode = WriteMode::InPlace;  // WriteFiles (see files.h)
  bool durable = false;                 // RemovePaths: the folders are flushed to disk
  std::vector<NftCommand> nftCommands;  // NftTransaction
  NftQuery nftQuery;                    // NftList*
  std::vector<ConntrackFilter> conntrack;  // ConntrackDelete: entries matching any of them
};

using OpResult = std::variant<std::monostate, std::string, std::vector<std::string>, NetnsInfo, LinkInfo, std::vector<LinkInfo>,
                              std::vector<AddressInfo>, std::vector<RouteInfo>, LockResult, PortReservation, uint32_t,
                              std::vector<NftTableInfo>, std::vector<NftChainInfo>, std::vector<NftRuleInfo>,
                              std::vector<NftSetInfo>, std::vector<NftElementInfo>>;

// The batch stopped at op `index`; the ops before it took effect.
struct BatchError {
  size_t index;
  KernelError error;
};

// Interface names: 1..15 bytes, no '/', ':' or whitespace, not "." or "..". Throws EINVAL.
void checkIfname(const std::string& name, const char* syscall);

class Batch {
 public:
  // Runs the ops in order and stops at the first failure (throws BatchError).
  std::vector<OpResult> execute(const std::vector<Op>& ops);

 private:
  OpResult run(const Op& op);
  NlSocket& socketFor(const std::string& netns);
  // A NETLINK_NETFILTER socket (nf_tables, conntrack) for the namespace, opened the same way.
  NlSocket& netfilterSocketFor(const std::string& netns);
  std::map<std::string, NlSocket> sockets_;  // by namespace path, opened in that namespace
  std::map<std::string, NlSocket> netfilterSockets_;
  bool hostSocketUsed_ = false;
};

}  // namespace cnm
