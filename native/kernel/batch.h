// A batch: several kernel operations run in order in one trip to a worker thread, each aimed at
// the host or at a namespace by its path. Sockets are opened once per namespace per batch.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "address.h"
#include "error.h"
#include "kept-sockets.h"
#include "lockfile.h"
#include "netns.h"
#include "nftlist.h"
#include "ops.h"
#include "ports.h"

namespace cnm {

using OpResult = std::variant<std::monostate, std::string, std::vector<std::string>, NetnsInfo, LinkInfo, std::vector<LinkInfo>,
                              std::vector<AddressInfo>, std::vector<RouteInfo>, LockResult, PortReservation, uint32_t,
                              std::vector<NftTableInfo>, std::vector<NftChainInfo>, std::vector<NftRuleInfo>, std::vector<NftSetInfo>,
                              std::vector<NftElementInfo>, std::vector<FileRead>, DnsSockets>;

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
  struct Runner;  // runs one op (batch.cc)
  NlSocket& socketFor(const std::string& netns);
  // A NETLINK_NETFILTER socket (nf_tables, conntrack) for the namespace, opened the same way.
  NlSocket& netfilterSocketFor(const std::string& netns);
  // The namespace's NETLINK_NETFILTER socket of this batch or kept for it, if there is one.
  NlSocket* existingNetfilterSocket(const std::string& netns);
  // The DNS sockets a netnsCreate opened for the namespace (in this batch or kept), if any.
  std::optional<ResolverSockets> takeResolverSockets(const std::string& netns);
  // The namespace's net.ipv6.conf.default.disable_ipv6 file, opened inside it by a netnsCreate
  // (in this batch or kept) that set it to 1; null if there is none.
  const Fd* ipv6DefaultFor(const std::string& netns);
  // Makes the link of a linkAdd (it lives in `linkNetns`) with IPv6 on for `name`, its new
  // interface in `netns`.
  void linkAddWithIpv6(NlSocket& socket, const LinkSpec& link, const std::string& linkNetns, const std::string& name,
                       const std::string& netns);
  // The part kept for `netns` (kept-sockets.h): whether the path still names its namespace is
  // looked at once per batch, with the first part taken.
  template <class T>
  std::optional<T> takeKept(const std::string& netns, std::optional<T> (KeptSockets::*take)(const std::string&, bool));
  // Moves the namespace's sockets out of this batch (to be kept), and forgets them.
  NamespaceSockets takeSockets(const std::string& path);
  void forgetSockets(const std::string& path);
  std::map<std::string, NlSocket> sockets_;  // by namespace path, opened in that namespace
  std::map<std::string, NlSocket> netfilterSockets_;
  std::map<std::string, ResolverSockets> resolverSockets_;  // opened by a netnsCreate here, not yet taken
  std::map<std::string, Fd> ipv6Defaults_;                  // by namespace path (ipv6DefaultFor)
  std::set<std::string> made_;                              // namespaces this batch made: their sockets are kept (kept-sockets.h)
  std::set<std::string> keptChecked_;                       // namespaces whose kept parts this batch has checked (takeKept)
  bool hostSocketUsed_ = false;
};

}  // namespace cnm
