#include "batch.h"

#include <cerrno>
#include <cctype>

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

// Checks every interface name an op carries before anything reaches the kernel.
void checkNames(const Op& op) {
  const char* call = op.kind == OpKind::LinkAdd ? "RTM_NEWLINK" : "RTM_GETLINK";
  if (!op.name.empty() && op.kind != OpKind::NetnsCreate) checkIfname(op.name, call);
  for (const std::string& name : op.names) checkIfname(name, "RTM_DELLINK");
  if (op.kind == OpKind::LinkAdd) {
    checkIfname(op.link.name, call);
    if (op.link.peer) checkIfname(op.link.peer->name, call);
    if (!op.link.master.empty()) checkIfname(op.link.master, call);
    if (!op.link.parent.empty()) checkIfname(op.link.parent, call);
  }
  if (op.kind == OpKind::LinkSet) {
    if (!op.change.newName.empty()) checkIfname(op.change.newName, "RTM_NEWLINK");
    if (op.change.master && !op.change.master->empty()) checkIfname(*op.change.master, "RTM_NEWLINK");
  }
  if (!op.route.dev.empty()) checkIfname(op.route.dev, "RTM_NEWROUTE");
}

}  // namespace

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
  return sockets_.emplace(netns, openSocketIn(netns)).first->second;
}

NlSocket& Batch::netfilterSocketFor(const std::string& netns) {
  if (netns.empty()) {
    thread_local NlSocket host = NlSocket::open(NETLINK_NETFILTER);
    return host;
  }
  auto it = netfilterSockets_.find(netns);
  if (it != netfilterSockets_.end()) return it->second;
  return netfilterSockets_.emplace(netns, openSocketIn(netns, NETLINK_NETFILTER)).first->second;
}

OpResult Batch::run(const Op& op) {
  checkNames(op);
  switch (op.kind) {
    case OpKind::NetnsCreate: {
      std::string path = op.dir + "/" + op.name;
      std::optional<NlSocket> socket;
      netnsCreate(op.dir, op.name, [&] {
        // Still inside the new namespace: set its sysctls and open its socket on this thread.
        for (const auto& [key, value] : op.sysctls) sysctlWrite(key, value);
        socket.emplace(NlSocket::open());
      });
      sockets_.erase(path);
      sockets_.emplace(path, std::move(*socket));
      return path;
    }
    case OpKind::NetnsDelete:
      sockets_.erase(op.path);
      netfilterSockets_.erase(op.path);
      netnsDelete(op.path);
      return {};
    case OpKind::NetnsInfo:
      return netnsInfo(op.path);
    case OpKind::LinkAdd:
      linkAdd(socketFor(op.netns), op.link);
      return {};
    case OpKind::LinkDelete:
      linkDelete(socketFor(op.netns), op.name);
      return {};
    case OpKind::LinkDeleteGroup:
      return linkDeleteGroup(socketFor(op.netns), op.names, op.group);
    case OpKind::LinkSet:
      linkSet(socketFor(op.netns), op.name, op.change);
      return {};
    case OpKind::LinkGet:
      return linkGet(socketFor(op.netns), op.name);
    case OpKind::LinkList:
      return linkList(socketFor(op.netns));
    case OpKind::AddressAdd:
      addressAdd(socketFor(op.netns), op.name, op.cidr);
      return {};
    case OpKind::AddressDelete:
      addressDelete(socketFor(op.netns), op.name, op.cidr);
      return {};
    case OpKind::AddressList:
      return addressList(socketFor(op.netns), op.name, op.family);
    case OpKind::RouteAdd:
      routeChange(socketFor(op.netns), RouteChange::Add, op.route);
      return {};
    case OpKind::RouteReplace:
      routeChange(socketFor(op.netns), RouteChange::Replace, op.route);
      return {};
    case OpKind::RouteDelete:
      routeChange(socketFor(op.netns), RouteChange::Delete, op.route);
      return {};
    case OpKind::RouteList:
      return routeList(socketFor(op.netns), op.family, op.table);
    case OpKind::SysctlGet:
    case OpKind::SysctlSet: {
      std::string value;
      auto access = [&] {
        if (op.kind == OpKind::SysctlGet) value = sysctlRead(op.key);
        else sysctlWrite(op.key, op.value);
      };
      if (op.netns.empty()) access();
      else runInNetns(openNetns(op.netns).get(), access);
      if (op.kind == OpKind::SysctlGet) return value;
      return {};
    }
    case OpKind::LockFile:
      return lockFile(op.path, op.value);
    case OpKind::UnlockFile:
      unlockFile(op.fd);
      return {};
    case OpKind::PortReserve:
      return reservePort(op.cidr, op.protocol, op.port, op.portEnd);
    case OpKind::PortRelease:
      releasePort(op.fd);
      return {};
    case OpKind::RemovePaths:
      removePaths(op.dir, op.paths, op.durable);
      return {};
    case OpKind::WriteFiles:
      writeFiles(op.dir, op.files, op.writeMode);
      return {};
    case OpKind::NftTransaction:
      nftTransaction(netfilterSocketFor(op.netns), op.nftCommands);
      return {};
    case OpKind::NftListTables:
      return nftListTables(netfilterSocketFor(op.netns), op.nftQuery.family);
    case OpKind::NftListChains:
      return nftListChains(netfilterSocketFor(op.netns), op.nftQuery.family, op.nftQuery.table);
    case OpKind::NftListRules:
      return nftListRules(netfilterSocketFor(op.netns), op.nftQuery.family, op.nftQuery.table, op.nftQuery.chain);
    case OpKind::NftListSets:
      return nftListSets(netfilterSocketFor(op.netns), op.nftQuery.family, op.nftQuery.table);
    case OpKind::NftListElements:
      return nftListElements(netfilterSocketFor(op.netns), op.nftQuery.family, op.nftQuery.table, op.nftQuery.set);
    case OpKind::ConntrackDelete:
      return conntrackDelete(netfilterSocketFor(op.netns), op.conntrack);
  }
  return {};
}

std::vector<OpResult> Batch::execute(const std::vector<Op>& ops) {
  std::vector<OpResult> results;
  results.reserve(ops.size());
  for (size_t i = 0; i < ops.size(); i++) {
    try {
      results.push_back(run(ops[i]));
    } catch (KernelError& e) {
      throw BatchError{i, std::move(e)};
    }
  }
  return results;
}

}  // namespace cnm
