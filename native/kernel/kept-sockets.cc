#include "kept-sockets.h"

#include <sys/stat.h>

#include <algorithm>
#include <iterator>

namespace cnm {

namespace {

// What the path names now: a namespace mount shows the namespace's own device and inode.
bool namesNow(const std::string& path, dev_t dev, ino_t ino) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && st.st_dev == dev && st.st_ino == ino;
}

}  // namespace

template <class T>
std::optional<T> KeptSockets::take(const std::string& path, std::optional<T> NamespaceSockets::*part, bool checked) {
  std::optional<T> found;
  dev_t dev;
  ino_t ino;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = std::find_if(kept_.begin(), kept_.end(), [&](const Kept& k) { return k.path == path; });
    if (it == kept_.end() || !(it->sockets.*part)) return std::nullopt;
    found = std::move(it->sockets.*part);
    (it->sockets.*part).reset();
    dev = it->dev;
    ino = it->ino;
    if (it->sockets.empty()) kept_.erase(it);
  }
  if (!checked && !namesNow(path, dev, ino)) {
    forget(path);  // deleted behind our back: closed here, the other parts too
    return std::nullopt;
  }
  return found;
}

std::optional<NlSocket> KeptSockets::takeRoute(const std::string& path, bool checked) {
  std::optional<NlSocket> socket = take(path, &NamespaceSockets::route, checked);
  if (socket) socket->forgetIndexes();
  return socket;
}

std::optional<NlSocket> KeptSockets::takeNetfilter(const std::string& path, bool checked) {
  return take(path, &NamespaceSockets::netfilter, checked);
}

std::optional<ResolverSockets> KeptSockets::takeResolver(const std::string& path, bool checked) {
  return take(path, &NamespaceSockets::resolver, checked);
}

std::optional<Fd> KeptSockets::takeIpv6Default(const std::string& path, bool checked) {
  return take(path, &NamespaceSockets::ipv6Default, checked);
}

void KeptSockets::keep(const std::string& path, NamespaceSockets sockets) {
  struct stat st {};
  if (sockets.empty() || ::stat(path.c_str(), &st) < 0) return;
  std::deque<Kept> dropped;  // closed outside the lock
  std::lock_guard<std::mutex> lock(mutex_);
  // What an earlier namespace at this path kept is stale: the path names the new one now.
  auto stale = std::remove_if(kept_.begin(), kept_.end(), [&](const Kept& k) { return k.path == path; });
  std::move(stale, kept_.end(), std::back_inserter(dropped));
  kept_.erase(stale, kept_.end());
  kept_.push_back(Kept{path, st.st_dev, st.st_ino, std::move(sockets)});
  while (kept_.size() > kMaxKept) {
    dropped.push_back(std::move(kept_.front()));
    kept_.pop_front();
  }
}

void KeptSockets::forget(const std::string& path) {
  std::lock_guard<std::mutex> lock(mutex_);
  kept_.erase(std::remove_if(kept_.begin(), kept_.end(), [&](const Kept& k) { return k.path == path; }), kept_.end());
}

void KeptSockets::dropAll() {
  std::deque<Kept> dropped;
  std::lock_guard<std::mutex> lock(mutex_);
  dropped.swap(kept_);
}

KeptSockets& keptSockets() {
  static KeptSockets* sockets = new KeptSockets();  // never destroyed: no order problem at exit
  return *sockets;
}

}  // namespace cnm
