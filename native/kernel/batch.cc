#include "batch.h"

#include <fcntl.h>

#include <cctype>
#include <cerrno>
#include <optional>
#include <utility>
#include <variant>

#include "dns-redirect.h"
#include "kept-sockets.h"
#include "netns.h"
#include "sysctl.h"

namespace cnm {

void checkIfname(const std::string& name, const char* syscall) {
  bool bad = name.empty() || name.size() > 15 || name == "." || name == "..";
  // '%' would make the kernel pick the name from a template ("veth%d"); no real link has one.
  for (unsigned char c : name) bad = bad || c == '/' || c == ':' || c == '%' || std::isspace(c) || c == 0;
  if (bad) throw KernelError(EINVAL, syscall, "interface name '" + name + "' (1 to 15 bytes, no '/', ':', '%' or spaces)");
}

namespace {

// A name the op carries; an empty one is left to the kernel.
void checkGivenIfname(const std::string& name, const char* syscall) {
  if (!name.empty()) checkIfname(name, syscall);
}

// Reads or writes a sysctl in the namespace at `netns` (empty: the host's).
template <class F>
void inNamespace(const std::string& netns, F access) {
  if (netns.empty()) access();
  else runInNetns(openNetns(netns).get(), access);
}

// Undoing after a failure: the first failure is the one to report.
template <class F>
void ignoreKernelError(F undo) {
  try {
    undo();
  } catch (const KernelError&) {
  }
}

// IPv6 for the interfaces a namespace gets from now on; sandboxes are made with it off.
const std::string kIpv6Default = "net/ipv6/conf/default/disable_ipv6";

}  // namespace

template <class T>
std::optional<T> Batch::takeKept(const std::string& netns, std::optional<T> (KeptSockets::*take)(const std::string&, bool)) {
  std::optional<T> part = (keptSockets().*take)(netns, keptChecked_.count(netns) > 0);
  if (part) keptChecked_.insert(netns);
  return part;
}

NlSocket& Batch::socketFor(const std::string& netns) {
  auto it = sockets_.find(netns);
  if (it != sockets_.end()) return it->second;
  if (netns.empty()) {
    // Worker threads never leave the host namespace, so each keeps one host socket for good.
    thread_local NlSocket host = NlSocket::open();
    if (!hostSocketUsed_) host.forgetIndexes();  // names may have changed since the last batch
    hostSocketUsed_ = true;
    return host;
  }
  std::optional<NlSocket> kept = takeKept(netns, &KeptSockets::takeRoute);
  return sockets_.emplace(netns, kept ? std::move(*kept) : openSocketIn(netns)).first->second;
}

NlSocket& Batch::netfilterSocketFor(const std::string& netns) {
  if (netns.empty()) {
    thread_local NlSocket host = NlSocket::open(NETLINK_NETFILTER);
    return host;
  }
  if (NlSocket* existing = existingNetfilterSocket(netns)) return *existing;
  return netfilterSockets_.emplace(netns, openSocketIn(netns, NETLINK_NETFILTER)).first->second;
}

NlSocket* Batch::existingNetfilterSocket(const std::string& netns) {
  auto it = netfilterSockets_.find(netns);
  if (it != netfilterSockets_.end()) return &it->second;
  std::optional<NlSocket> kept = takeKept(netns, &KeptSockets::takeNetfilter);
  return kept ? &netfilterSockets_.emplace(netns, std::move(*kept)).first->second : nullptr;
}

std::optional<ResolverSockets> Batch::takeResolverSockets(const std::string& netns) {
  auto it = resolverSockets_.find(netns);
  if (it == resolverSockets_.end()) return takeKept(netns, &KeptSockets::takeResolver);
  std::optional<ResolverSockets> made(std::move(it->second));
  resolverSockets_.erase(it);
  return made;
}

// One overload per op (std::visit fails to compile if one is missing). Each checks the interface
// names its op carries before anything reaches the kernel.
struct Batch::Runner {
  Batch& batch;
  const std::string& netns;

  NlSocket& socket() const { return batch.socketFor(netns); }
  NlSocket& netfilter() const { return batch.netfilterSocketFor(netns); }

  OpResult operator()(const op::NetnsCreate& o) const {
    std::string path = o.dir + "/" + o.fileName;
    NamespaceSockets created;
    netnsCreate(o.dir, o.fileName, [&] {
      // Still inside the new namespace: set its sysctls and open its sockets on this thread.
      for (const auto& [key, value] : o.sysctls) {
        bool kept = value == "1" && sysctlPath(key) == sysctlPath(kIpv6Default);
        Fd file = sysctlOpen(key);
        sysctlWrite(file, value, key);
        if (kept) created.ipv6Default.emplace(std::move(file));  // written through again by linkAdd's ipv6
      }
      created.route.emplace(NlSocket::open());
      if (o.resolverSockets) {
        // lo first: it holds 127.0.0.11, and a socket bound there before would answer from 127.0.0.1.
        LinkChange up;
        up.up = true;
        linkSet(*created.route, "lo", up);
        created.netfilter.emplace(NlSocket::open(NETLINK_NETFILTER));
        created.resolver.emplace(openDnsSockets(*o.resolverSockets));
      }
    });
    batch.forgetSockets(path);
    batch.sockets_.emplace(path, std::move(*created.route));
    if (created.netfilter) batch.netfilterSockets_.emplace(path, std::move(*created.netfilter));
    if (created.resolver) batch.resolverSockets_.emplace(path, std::move(*created.resolver));
    if (created.ipv6Default) batch.ipv6Defaults_.emplace(path, std::move(*created.ipv6Default));
    batch.made_.insert(path);
    return path;
  }
  OpResult operator()(const op::NetnsDelete& o) const {
    keptSockets().forget(o.path);
    batch.made_.erase(o.path);
    batch.forgetSockets(o.path);
    netnsDelete(o.path);
    return {};
  }
  OpResult operator()(const op::NetnsInfo& o) const { return netnsInfo(o.path); }

  OpResult operator()(const op::LinkAdd& o) const {
    checkIfname(o.link.name, "RTM_NEWLINK");
    if (o.link.peer) checkIfname(o.link.peer->name, "RTM_NEWLINK");
    checkGivenIfname(o.link.master, "RTM_NEWLINK");
    checkGivenIfname(o.link.parent, "RTM_NEWLINK");
    // The new interface that gets IPv6 on, and the namespace it is made in (a peer's own, else the link's).
    const std::string& linkNetns = o.link.netns.empty() ? netns : o.link.netns;
    if (o.link.ipv6 && o.link.peer && o.link.peer->ipv6)
      throw KernelError(EINVAL, "RTM_NEWLINK", "veth " + o.link.name + ": ipv6 turns IPv6 on for one end, not both");
    if (o.link.peer && o.link.peer->ipv6)
      batch.linkAddWithIpv6(socket(), o.link, linkNetns, o.link.peer->name, o.link.peer->netns.empty() ? linkNetns : o.link.peer->netns);
    else if (o.link.ipv6) batch.linkAddWithIpv6(socket(), o.link, linkNetns, o.link.name, linkNetns);
    else linkAdd(socket(), o.link);
    return {};
  }
  OpResult operator()(const op::LinkDelete& o) const {
    checkGivenIfname(o.ifname, "RTM_GETLINK");
    linkDelete(socket(), o.ifname);
    return {};
  }
  OpResult operator()(const op::LinkDeleteGroup& o) const {
    for (const std::string& name : o.ifnames) checkIfname(name, "RTM_DELLINK");
    return linkDeleteGroup(socket(), o.ifnames, o.group);
  }
  OpResult operator()(const op::LinkSet& o) const {
    checkGivenIfname(o.ifname, "RTM_GETLINK");
    checkGivenIfname(o.change.newName, "RTM_NEWLINK");
    if (o.change.master) checkGivenIfname(*o.change.master, "RTM_NEWLINK");
    linkSet(socket(), o.ifname, o.change);
    return {};
  }
  OpResult operator()(const op::LinkGet& o) const {
    checkGivenIfname(o.ifname, "RTM_GETLINK");
    return linkGet(socket(), o.ifname);
  }
  OpResult operator()(const op::LinkList&) const { return linkList(socket()); }

  OpResult operator()(const op::AddressAdd& o) const {
    checkGivenIfname(o.ifname, "RTM_GETLINK");
    addressAdd(socket(), o.ifname, o.cidr, o.nodad);
    return {};
  }
  OpResult operator()(const op::AddressDelete& o) const {
    checkGivenIfname(o.ifname, "RTM_GETLINK");
    addressDelete(socket(), o.ifname, o.cidr);
    return {};
  }
  OpResult operator()(const op::AddressList& o) const {
    checkGivenIfname(o.ifname, "RTM_GETLINK");
    return addressList(socket(), o.ifname, o.family);
  }

  OpResult operator()(const op::RouteAdd& o) const { return route(RouteChange::Add, o.route); }
  OpResult operator()(const op::RouteReplace& o) const { return route(RouteChange::Replace, o.route); }
  OpResult operator()(const op::RouteDelete& o) const { return route(RouteChange::Delete, o.route); }
  OpResult route(RouteChange change, const RouteSpec& spec) const {
    checkGivenIfname(spec.dev, "RTM_NEWROUTE");
    routeChange(socket(), change, spec);
    return {};
  }
  OpResult operator()(const op::RouteList& o) const { return routeList(socket(), o.family, o.table); }

  OpResult operator()(const op::SysctlGet& o) const {
    std::string value;
    inNamespace(netns, [&] { value = sysctlRead(o.key); });
    return value;
  }
  OpResult operator()(const op::SysctlSet& o) const {
    inNamespace(netns, [&] { sysctlWrite(o.key, o.value); });
    return {};
  }

  OpResult operator()(const op::LockFile& o) const { return lockFile(o.path, o.owner); }
  OpResult operator()(const op::UnlockFile& o) const {
    unlockFile(o.fd);
    return {};
  }
  OpResult operator()(const op::PortReserve& o) const { return reservePort(o.address, o.protocol, o.port, o.portEnd); }
  OpResult operator()(const op::PortRelease& o) const {
    releasePort(o.fd);
    return {};
  }
  OpResult operator()(const op::RemovePaths& o) const {
    removePaths(o.base, o.paths, o.durable);
    return {};
  }
  OpResult operator()(const op::WriteFiles& o) const {
    writeFiles(o.base, o.files, o.mode);
    return {};
  }
  OpResult operator()(const op::ListFolder& o) const { return listFolder(o.base, o.path); }
  OpResult operator()(const op::ReadFiles& o) const { return readFiles(o.base, o.paths); }

  OpResult operator()(const op::NftTransaction& o) const {
    nftTransaction(netfilter(), o.commands);
    return {};
  }
  OpResult operator()(const op::NftListTables& o) const { return nftListTables(netfilter(), o.family); }
  OpResult operator()(const op::NftListChains& o) const { return nftListChains(netfilter(), o.family, o.table); }
  OpResult operator()(const op::NftListRules& o) const { return nftListRules(netfilter(), o.family, o.table, o.chain); }
  OpResult operator()(const op::NftListSets& o) const { return nftListSets(netfilter(), o.family, o.table); }
  OpResult operator()(const op::NftListElements& o) const { return nftListElements(netfilter(), o.family, o.table, o.set); }
  OpResult operator()(const op::ConntrackDelete& o) const { return conntrackDelete(netfilter(), o.filters); }
  OpResult operator()(const op::DnsSockets& o) const {
    // Never into the host's own 127.0.0.11 and nf_tables.
    if (!o.redirectTable.empty() && netns.empty()) throw KernelError(EINVAL, "dnsSockets", "a redirect needs a namespace (netns)");
    // The namespace's file stays open with the sockets: forwarded queries open theirs there later.
    Fd ns = netns.empty() ? Fd(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)) : openNetns(netns);
    if (!ns.valid()) throwErrno("open", "/proc/thread-self/ns/net");
    std::optional<ResolverSockets> sockets = netns.empty() ? std::nullopt : batch.takeResolverSockets(netns);
    if (sockets && !sockets->on(o.ports)) sockets.reset();  // kept for other ports: closed
    if (!sockets) {
      // One helper thread in the namespace for the sockets and, when the redirect has none yet, its
      // nf_tables socket (a restart reopens every sandbox's resolver this way).
      bool redirectSocket = !o.redirectTable.empty() && batch.existingNetfilterSocket(netns) == nullptr;
      std::optional<NlSocket> nf;
      runInNetns(ns.get(), [&] {
        sockets.emplace(openDnsSockets(o.ports));
        if (redirectSocket) nf.emplace(NlSocket::open(NETLINK_NETFILTER));
      });
      if (nf) batch.netfilterSockets_.emplace(netns, std::move(*nf));
    }
    // For the ports they got; a failure closes them (still owned here).
    if (!o.redirectTable.empty()) nftTransaction(netfilter(), dnsRedirectCommands(o.redirectTable, sockets->udpPort, sockets->tcpPort));
    return sockets->release(ns.release());
  }
};

const Fd* Batch::ipv6DefaultFor(const std::string& netns) {
  if (netns.empty()) return nullptr;
  auto it = ipv6Defaults_.find(netns);
  if (it != ipv6Defaults_.end()) return &it->second;
  std::optional<Fd> kept = takeKept(netns, &KeptSockets::takeIpv6Default);
  return kept ? &ipv6Defaults_.emplace(netns, std::move(*kept)).first->second : nullptr;
}

// With the namespace's default file at hand, the new interface is made with IPv6 on (the kernel
// copies the namespace's default when it registers a device) and the default is put back: two
// writes on this thread. Without it (a namespace not made by this process, or made more than a
// batch ago), the interface's own disable_ipv6 is written from a helper thread in the namespace.
// All or nothing, as one op must be: a link made whose IPv6 could not be turned on is deleted.
void Batch::linkAddWithIpv6(NlSocket& socket, const LinkSpec& link, const std::string& linkNetns, const std::string& name,
                            const std::string& netns) {
  const Fd* ipv6Default = ipv6DefaultFor(netns);
  if (ipv6Default) sysctlWrite(*ipv6Default, "0", kIpv6Default);
  try {
    linkAdd(socket, link);
  } catch (...) {
    if (ipv6Default) ignoreKernelError([&] { sysctlWrite(*ipv6Default, "1", kIpv6Default); });
    throw;
  }
  try {
    if (ipv6Default) sysctlWrite(*ipv6Default, "1", kIpv6Default);
    else inNamespace(netns, [&] { sysctlWrite("net/ipv6/conf/" + name + "/disable_ipv6", "0"); });
  } catch (...) {
    ignoreKernelError([&] { linkDelete(socketFor(linkNetns), link.name); });  // a veth's peer goes with it
    throw;
  }
}

std::vector<OpResult> Batch::execute(const std::vector<Op>& ops) {
  std::vector<OpResult> results;
  results.reserve(ops.size());
  for (size_t i = 0; i < ops.size(); i++) {
    try {
      results.push_back(std::visit(Runner{*this, ops[i].netns}, ops[i].body));
    } catch (KernelError& e) {
      // The caller gets no results: the DNS sockets handed over before the failure are closed here.
      for (const OpResult& r : results) {
        if (auto* sockets = std::get_if<DnsSockets>(&r)) closeDnsSockets(*sockets);
      }
      throw BatchError{i, std::move(e)};
    }
  }
  // The sockets of namespaces made here are kept for their next batch (a join after newSandbox).
  for (const std::string& path : made_) keptSockets().keep(path, takeSockets(path));
  return results;
}

NamespaceSockets Batch::takeSockets(const std::string& path) {
  NamespaceSockets out;
  if (auto it = sockets_.find(path); it != sockets_.end()) out.route.emplace(std::move(it->second));
  if (auto it = netfilterSockets_.find(path); it != netfilterSockets_.end()) out.netfilter.emplace(std::move(it->second));
  if (auto it = resolverSockets_.find(path); it != resolverSockets_.end()) out.resolver.emplace(std::move(it->second));
  if (auto it = ipv6Defaults_.find(path); it != ipv6Defaults_.end()) out.ipv6Default.emplace(std::move(it->second));
  forgetSockets(path);
  return out;
}

void Batch::forgetSockets(const std::string& path) {
  sockets_.erase(path);
  netfilterSockets_.erase(path);
  resolverSockets_.erase(path);
  ipv6Defaults_.erase(path);
  keptChecked_.erase(path);
}

}  // namespace cnm
