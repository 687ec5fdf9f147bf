#include "linkwatch.h"

#include <linux/rtnetlink.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include <cerrno>

#include "link.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

namespace cnm {

namespace {

NlSocket subscribedToLinks() {
  NlSocket s = NlSocket::open();
  int group = RTNLGRP_LINK;
  if (setsockopt(s.fd(), SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group, sizeof group) < 0) throwErrno("setsockopt", "RTNLGRP_LINK");
  // Hundreds of namespaces dropped at once send several events per link. Root may go past
  // rmem_max; an overrun all the same is caught up with by looking the links up again.
  int size = 8 << 20;
  setsockopt(s.fd(), SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size);
  return s;
}

Fd makeEventFd() {
  Fd fd(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!fd.valid()) throwErrno("eventfd", "link watcher");
  return fd;
}

}  // namespace

LinkWatcher::LinkWatcher() : query_(NlSocket::open()), wake_(makeEventFd()) {
  thread_ = std::thread([this] { run(); });
}

LinkWatcher::~LinkWatcher() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  uint64_t one = 1;
  (void)!::write(wake_.get(), &one, sizeof one);
  thread_.join();
}

void LinkWatcher::wait(std::vector<std::string> names, std::chrono::milliseconds timeout, Done done) {
  Waiter w;
  for (std::string& name : names) w.links.push_back(Link{std::move(name), 0});
  w.deadline = std::chrono::steady_clock::now() + timeout;
  w.timeout = timeout;
  w.done = std::move(done);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    incoming_.push_back(std::move(w));
  }
  uint64_t one = 1;
  (void)!::write(wake_.get(), &one, sizeof one);
}

void LinkWatcher::run() {
  for (;;) {
    pollfd fds[2] = {{events_ ? events_->fd() : -1, POLLIN, 0}, {wake_.get(), POLLIN, 0}};
    int ready = ::poll(fds, 2, pollTimeoutMs());
    uint64_t count;
    if (ready > 0 && (fds[1].revents & POLLIN)) (void)!::read(wake_.get(), &count, sizeof count);
    std::list<Waiter> incoming;
    bool stopping;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      incoming.splice(incoming.end(), incoming_);
      stopping = stopping_;
    }
    if (stopping) {
      waiting_.splice(waiting_.end(), incoming);
      for (Waiter& w : waiting_) w.done(KernelError(ECANCELED, "RTM_DELLINK", "wait for links (the addon is unloading)"));
      return;
    }
    try {
      if (ready < 0 && errno != EINTR) throwErrno("poll", "link events");
      // Events before lookups: whatever the lookups find, the events still queued are newer.
      if (ready > 0 && (fds[0].revents & POLLIN)) readEvents();
      // Subscribed before the new waiters' links are looked up (see admit).
      if (!incoming.empty() && !events_) events_.emplace(subscribedToLinks());
      admit(incoming);
    } catch (KernelError& e) {
      waiting_.splice(waiting_.end(), incoming);
      for (Waiter& w : waiting_) w.done(e);
      waiting_.clear();
    }
    finishGoneAndExpired();
    if (waiting_.empty()) events_.reset();
  }
}

// The subscription is older than any waiter it admits, so a link found here sends its
// RTM_DELLINK later and is not missed; a link not found is gone already.
void LinkWatcher::admit(std::list<Waiter>& incoming) {
  query_.forgetIndexes();
  while (!incoming.empty()) {
    Waiter& w = incoming.front();
    try {
      std::vector<Link> present;
      for (Link& link : w.links) {
        try {
          present.push_back(Link{link.name, linkIndex(query_, link.name)});
        } catch (KernelError& e) {
          if (e.err != ENODEV) throw;
        }
      }
      w.links = std::move(present);
      waiting_.splice(waiting_.end(), incoming, incoming.begin());
    } catch (KernelError& e) {
      w.done(e);
      incoming.pop_front();
    }
  }
}

void LinkWatcher::readEvents() {
  static thread_local std::vector<uint8_t> buf(64 * 1024);
  bool overrun = false;
  for (;;) {
    ssize_t n = ::recv(events_->fd(), buf.data(), buf.size(), MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      if (errno == ENOBUFS) {
        overrun = true;
        continue;
      }
      throwErrno("recv", "link events");
    }
    int len = static_cast<int>(n);
    for (auto* h = reinterpret_cast<const nlmsghdr*>(buf.data()); NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
      if (h->nlmsg_type != RTM_DELLINK || h->nlmsg_len < NLMSG_SPACE(sizeof(ifinfomsg))) continue;
      auto* ifi = static_cast<const ifinfomsg*>(NLMSG_DATA(h));
      // AF_BRIDGE: a port left its bridge, the device lives on. AF_UNSPEC: the device is gone.
      if (ifi->ifi_family == AF_UNSPEC) forget(static_cast<uint32_t>(ifi->ifi_index));
    }
  }
  if (overrun) resync();
}

// Events were lost: each awaited link is looked up again by its index.
void LinkWatcher::resync() {
  for (Waiter& w : waiting_) {
    std::vector<Link> present;
    for (Link& link : w.links) {
      if (linkExists(query_, link.index)) present.push_back(link);
    }
    w.links = std::move(present);
  }
}

void LinkWatcher::forget(uint32_t index) {
  for (Waiter& w : waiting_) {
    for (auto it = w.links.begin(); it != w.links.end(); ++it) {
      if (it->index == index) {
        w.links.erase(it);
        break;
      }
    }
  }
}

void LinkWatcher::finishGoneAndExpired() {
  auto now = std::chrono::steady_clock::now();
  for (auto it = waiting_.begin(); it != waiting_.end();) {
    if (it->links.empty()) {
      it->done(std::nullopt);
    } else if (now >= it->deadline) {
      std::string names;
      for (const Link& link : it->links) names += (names.empty() ? "" : ", ") + link.name;
      it->done(
          KernelError(ETIMEDOUT, "RTM_DELLINK", "links " + names + " still there after " + std::to_string(it->timeout.count()) + " ms"));
    } else {
      ++it;
      continue;
    }
    it = waiting_.erase(it);
  }
}

int LinkWatcher::pollTimeoutMs() const {
  if (waiting_.empty()) return -1;
  auto first = waiting_.front().deadline;
  for (const Waiter& w : waiting_) first = std::min(first, w.deadline);
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(first - std::chrono::steady_clock::now()).count();
  return left < 0 ? 0 : static_cast<int>(left) + 1;
}

}  // namespace cnm
