// The operations a batch runs: one struct per op with exactly its own fields, and its JS name.
// `OpBody` is the one list of ops; the binding's reader table and the batch runner's std::visit
// are both derived from it, so an op missing from either is a compile error.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "conntrack.h"
#include "dns-sockets.h"
#include "files.h"
#include "files-read.h"
#include "link.h"
#include "nftables.h"
#include "route.h"

namespace cnm {
namespace op {

struct NetnsCreate {
  static constexpr std::string_view name = "netnsCreate";
  std::string dir;                                           // the namespace directory
  std::string fileName;                                      // the namespace file in it
  std::vector<std::pair<std::string, std::string>> sysctls;  // set inside the new namespace
  // Also brings lo up and opens, while inside, the nf_tables socket and the DNS sockets (on these
  // ports) a resolver needs; kept.
  std::optional<ResolverPorts> resolverSockets;
};
struct NetnsDelete {
  static constexpr std::string_view name = "netnsDelete";
  std::string path;
};
struct NetnsInfo {
  static constexpr std::string_view name = "netnsInfo";
  std::string path;
};

struct LinkAdd {
  static constexpr std::string_view name = "linkAdd";
  LinkSpec link;
};
struct LinkDelete {
  static constexpr std::string_view name = "linkDelete";
  std::string ifname;
};
struct LinkDeleteGroup {
  static constexpr std::string_view name = "linkDeleteGroup";
  std::vector<std::string> ifnames;
  std::optional<uint32_t> group;  // the group to use; absent: a random one
};
struct LinkSet {
  static constexpr std::string_view name = "linkSet";
  std::string ifname;
  LinkChange change;
};
struct LinkGet {
  static constexpr std::string_view name = "linkGet";
  std::string ifname;
};
struct LinkList {
  static constexpr std::string_view name = "linkList";
};

struct AddressAdd {
  static constexpr std::string_view name = "addressAdd";
  std::string ifname, cidr;
  bool nodad = false;  // IPv6: usable at once, without duplicate address detection
};
struct AddressDelete {
  static constexpr std::string_view name = "addressDelete";
  std::string ifname, cidr;
};
struct AddressList {
  static constexpr std::string_view name = "addressList";
  std::string ifname;  // empty: every link's
  int family = 0;
};

struct RouteAdd {
  static constexpr std::string_view name = "routeAdd";
  RouteSpec route;
};
struct RouteReplace {
  static constexpr std::string_view name = "routeReplace";
  RouteSpec route;
};
struct RouteDelete {
  static constexpr std::string_view name = "routeDelete";
  RouteSpec route;
};
struct RouteList {
  static constexpr std::string_view name = "routeList";
  int family = 0;
  std::optional<uint32_t> table;
};

struct SysctlGet {
  static constexpr std::string_view name = "sysctlGet";
  std::string key;
};
struct SysctlSet {
  static constexpr std::string_view name = "sysctlSet";
  std::string key, value;
};

struct LockFile {
  static constexpr std::string_view name = "lockFile";
  std::string path, owner;  // owner: what to write into the file
};
struct UnlockFile {
  static constexpr std::string_view name = "unlockFile";
  int fd = -1;
};
struct PortReserve {
  static constexpr std::string_view name = "portReserve";
  std::string address, protocol;  // protocol: "tcp", "udp", "sctp"
  uint16_t port = 0, portEnd = 0;
};
struct PortRelease {
  static constexpr std::string_view name = "portRelease";
  int fd = -1;
};

struct RemovePaths {
  static constexpr std::string_view name = "removePaths";
  std::string base;
  std::vector<std::string> paths;  // relative to `base`
  bool durable = false;            // the folders are flushed to disk
};
struct WriteFiles {
  static constexpr std::string_view name = "writeFiles";
  std::string base;
  std::vector<FileContent> files;  // relative to `base`
  WriteMode mode = WriteMode::InPlace;
};

struct ListFolder {
  static constexpr std::string_view name = "listFolder";
  std::string base;
  std::string path;  // relative to `base`; empty: the base itself
};
struct ReadFiles {
  static constexpr std::string_view name = "readFiles";
  std::string base;
  std::vector<std::string> paths;  // relative to `base`
};

struct NftTransaction {
  static constexpr std::string_view name = "nftTransaction";
  std::vector<NftCommand> commands;
};
struct NftListTables {
  static constexpr std::string_view name = "nftListTables";
  uint8_t family = 0;
};
struct NftListChains {
  static constexpr std::string_view name = "nftListChains";
  uint8_t family = 0;
  std::string table;
};
struct NftListRules {
  static constexpr std::string_view name = "nftListRules";
  uint8_t family = 0;
  std::string table, chain;  // chain empty: every chain's
};
struct NftListSets {
  static constexpr std::string_view name = "nftListSets";
  uint8_t family = 0;
  std::string table;
};
struct NftListElements {
  static constexpr std::string_view name = "nftListElements";
  uint8_t family = 0;
  std::string table, set;
};
struct ConntrackDelete {
  static constexpr std::string_view name = "conntrackDelete";
  std::vector<ConntrackFilter> filters;  // entries matching any of them
};

struct DnsSockets {
  static constexpr std::string_view name = "dnsSockets";
  ResolverPorts ports;        // if free there; 0: the kernel picks
  std::string redirectTable;  // non-empty: 127.0.0.11:53 is sent to the ports they got (dns-redirect.h)
};

}  // namespace op

using OpBody =
    std::variant<op::NetnsCreate, op::NetnsDelete, op::NetnsInfo, op::LinkAdd, op::LinkDelete, op::LinkDeleteGroup, op::LinkSet,
                 op::LinkGet, op::LinkList, op::AddressAdd, op::AddressDelete, op::AddressList, op::RouteAdd, op::RouteReplace,
                 op::RouteDelete, op::RouteList, op::SysctlGet, op::SysctlSet, op::LockFile, op::UnlockFile, op::PortReserve,
                 op::PortRelease, op::RemovePaths, op::WriteFiles, op::ListFolder, op::ReadFiles, op::NftTransaction, op::NftListTables,
                 op::NftListChains, op::NftListRules, op::NftListSets, op::NftListElements, op::ConntrackDelete, op::DnsSockets>;

// One op of a batch: where it acts and what it does.
struct Op {
  std::string netns;  // the namespace the op acts in (path); empty: the caller's (host)
  OpBody body;
};

// The JS names of the ops, in the order of OpBody's alternatives.
template <class Variant>
struct OpNames;
template <class... Ops>
struct OpNames<std::variant<Ops...>> {
  static constexpr std::array<std::string_view, sizeof...(Ops)> value{Ops::name...};
};
inline constexpr auto kOpNames = OpNames<OpBody>::value;

constexpr bool namesAreUnique() {
  for (size_t i = 0; i < kOpNames.size(); i++) {
    for (size_t j = i + 1; j < kOpNames.size(); j++) {
      if (kOpNames[i] == kOpNames[j]) return false;
    }
  }
  return true;
}
static_assert(namesAreUnique(), "two ops share a JS name");

}  // namespace cnm
