// Sockets opened inside new namespaces, kept for the namespace's next batch: a sandbox is made in
// one batch (the sockets are opened while the helper thread is inside the new namespace) and
// joined in the next, which then needs no helper thread to open a socket there. Kept per
// namespace: its rtnetlink socket, and when asked for at creation its nf_tables socket and its
// embedded DNS server's sockets (the first join to a network that serves names needs both), and
// its net.ipv6.conf.default.disable_ipv6 file when the namespace was made with IPv6 off (a join to
// an IPv6 network turns it on for its new interface through that file, see batch.cc).
//
// A socket pins its namespace (the kernel keeps a namespace alive while a socket is open in it),
// so a kept socket is given out once and not kept again, is given out only while its path still
// names the namespace it was opened in, goes when a batch deletes that namespace, at most
// kMaxKept namespaces keep sockets (the oldest go first), and dropAll() closes every one
// (lib/native calls it once no batch has run for a second).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>

#include "dns-sockets.h"
#include "fd.h"
#include "netlink.h"

namespace cnm {

// What a new namespace keeps; each part is given out on its own.
struct NamespaceSockets {
  std::optional<NlSocket> route;
  std::optional<NlSocket> netfilter;
  std::optional<ResolverSockets> resolver;
  std::optional<Fd> ipv6Default;

  bool empty() const { return !route && !netfilter && !resolver && !ipv6Default; }
};

class KeptSockets {
 public:
  static constexpr size_t kMaxKept = 64;

  // The part kept for the namespace at `path`, if the path still names the namespace it was
  // opened in (looked at unless `checked`: the caller took another part for that path a moment
  // ago, in the same batch); that part is no longer kept.
  std::optional<NlSocket> takeRoute(const std::string& path, bool checked);
  std::optional<NlSocket> takeNetfilter(const std::string& path, bool checked);
  std::optional<ResolverSockets> takeResolver(const std::string& path, bool checked);
  std::optional<Fd> takeIpv6Default(const std::string& path, bool checked);
  // Keeps the sockets of the namespace just made at `path`.
  void keep(const std::string& path, NamespaceSockets sockets);
  // The namespace at `path` is about to be deleted: its kept sockets are closed.
  void forget(const std::string& path);
  // Closes every kept socket.
  void dropAll();

 private:
  struct Kept {
    std::string path;
    dev_t dev;
    ino_t ino;
    NamespaceSockets sockets;
  };
  template <class T>
  std::optional<T> take(const std::string& path, std::optional<T> NamespaceSockets::*part, bool checked);

  std::mutex mutex_;
  std::deque<Kept> kept_;  // oldest first
};

// The process's kept sockets (namespaces are the process's, not one JS environment's).
KeptSockets& keptSockets();

}  // namespace cnm
