// Waiting until links are gone: the kernel destroys the links of a dropped namespace in the
// background (cleanup_net), so a delete that is to be finished when it resolves must wait for
// them. One thread with one netlink socket subscribed to link events (RTNLGRP_LINK) in the host
// namespace serves every pending wait, so that a thousand concurrent deletes cost one listener,
// not a poll each. With no wait pending it is not subscribed, so joins do not wake it.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "error.h"
#include "fd.h"
#include "netlink.h"

namespace cnm {

class LinkWatcher {
 public:
  // Called on the watcher's thread, once: no error when every link is gone, else ETIMEDOUT naming
  // the links still there, ECANCELED when the watcher stops first, or the error of a lookup.
  using Done = std::function<void(std::optional<KernelError>)>;

  // Starts the thread, in the calling thread's (the host's) namespace.
  LinkWatcher();
  // Stops the thread; waits still pending end with ECANCELED.
  ~LinkWatcher();
  LinkWatcher(const LinkWatcher&) = delete;
  LinkWatcher& operator=(const LinkWatcher&) = delete;

  // Calls `done` once no link named in `names` is left in the host namespace (a name that is
  // already gone counts as gone), or when `timeout` has passed.
  void wait(std::vector<std::string> names, std::chrono::milliseconds timeout, Done done);

 private:
  struct Link {
    std::string name;
    uint32_t index = 0;  // 0 until looked up on the watcher's thread
  };
  struct Waiter {
    std::vector<Link> links;  // those still there
    std::chrono::steady_clock::time_point deadline;
    std::chrono::milliseconds timeout;
    Done done;
  };

  void run();
  void admit(std::list<Waiter>& incoming);
  void readEvents();
  void resync();
  void forget(uint32_t index);
  void finishGoneAndExpired();
  int pollTimeoutMs() const;

  std::optional<NlSocket> events_;  // subscribed to RTNLGRP_LINK while waits are pending; only read
  NlSocket query_;                  // lookups by name and index
  Fd wake_;                         // eventfd: new waiters, or stop
  std::mutex mutex_;
  std::list<Waiter> incoming_;  // guarded by mutex_
  bool stopping_ = false;       // guarded by mutex_
  std::list<Waiter> waiting_;   // the watcher thread's own
  std::thread thread_;
};

}  // namespace cnm
