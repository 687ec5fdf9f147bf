// Network namespaces: named ones made the way `ip netns add` makes them, and helper threads that
// enter a namespace so that no JS or libuv thread ever does.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>

#include "fd.h"
#include "netlink.h"

namespace cnm {

struct NetnsInfo {
  bool isNetns = false;  // the path is a network namespace file (nsfs)
  bool isHost = false;   // ... and it is the caller's own namespace
  uint64_t inode = 0;
  uint64_t dev = 0;
};

// Opens a namespace file, O_RDONLY | O_CLOEXEC | `flags`, and checks that it is a network namespace.
Fd openNetns(const std::string& path, int flags = 0);

// Describes a path: whether it is a network namespace and whether it is the host's own.
NetnsInfo netnsInfo(const std::string& path);

// Runs `work` on a short-lived thread that has entered the namespace `nsfd`. The thread exits
// afterwards, so no namespace change outlives it. Exceptions from `work` are rethrown here.
void runInNetns(int nsfd, const std::function<void()>& work);

// Opens a netlink socket (NETLINK_ROUTE unless told otherwise) inside the namespace at `path`
// (vishvananda's NewHandleAt).
NlSocket openSocketIn(const std::string& path, int protocol = NETLINK_ROUTE);

// Creates the named namespace `dir/name`: makes `dir` a shared mount (once per process), creates
// the file with O_EXCL, and bind-mounts a fresh namespace on it from a helper thread. `inNew`, if
// given, runs on that thread while it is inside the new namespace. Returns the path.
std::string netnsCreate(const std::string& dir, const std::string& name, const std::function<void()>& inNew = nullptr);

// Deletes a named namespace: unmounts it (MNT_DETACH) and removes the file. The kernel destroys
// the namespace and its interfaces once nothing else holds it, without this call waiting. A file
// that is not a network namespace, a symlink (ELOOP), or the caller's own (the host's) is refused.
void netnsDelete(const std::string& path);

}  // namespace cnm
