// Netlink sockets opened inside new namespaces, kept for the namespace's next batch: a sandbox is
// made in one batch (the socket is opened while the helper thread is inside the new namespace)
// and joined in the next, which then needs no helper thread to open a socket there.
//
// A socket pins its namespace (the kernel keeps a namespace alive while a socket is open in it),
// so a kept socket is given out once and not kept again, is given out only while its path still
// names the namespace it was opened in, goes when a batch deletes that namespace, at most
// kMaxKept are kept (the oldest go first), and dropAll() closes every one (lib/native calls it
// once no batch has run for a second).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>

#include "netlink.h"

namespace cnm {

class KeptSockets {
 public:
  static constexpr size_t kMaxKept = 64;

  // The socket kept for the namespace at `path`, if the path still names the namespace it was
  // opened in; it is no longer kept.
  std::optional<NlSocket> take(const std::string& path);
  // Keeps the socket of the namespace just made at `path`.
  void keep(const std::string& path, NlSocket socket);
  // The namespace at `path` is about to be deleted: its kept socket is closed.
  void forget(const std::string& path);
  // Closes every kept socket.
  void dropAll();

 private:
  struct Kept {
    std::string path;
    dev_t dev;
    ino_t ino;
    NlSocket socket;
  };
  std::mutex mutex_;
  std::deque<Kept> kept_;  // oldest first
};

// The process's kept sockets (namespaces are the process's, not one JS environment's).
KeptSockets& keptSockets();

}  // namespace cnm
