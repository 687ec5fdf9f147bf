#include "kept-sockets.h"

#include <sys/stat.h>

#include <algorithm>

namespace cnm {

namespace {

// What the path names now: a namespace mount shows the namespace's own device and inode.
bool namesNow(const std::string& path, dev_t dev, ino_t ino) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && st.st_dev == dev && st.st_ino == ino;
}

}  // namespace

std::optional<NlSocket> KeptSockets::take(const std::string& path) {
  std::optional<Kept> found;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = std::find_if(kept_.begin(), kept_.end(), [&](const Kept& k) { return k.path == path; });
    if (it == kept_.end()) return std::nullopt;
    found.emplace(std::move(*it));
    kept_.erase(it);
  }
  if (!namesNow(path, found->dev, found->ino)) return std::nullopt;  // deleted behind our back: closed here
  found->socket.forgetIndexes();
  return std::move(found->socket);
}

void KeptSockets::keep(const std::string& path, NlSocket socket) {
  struct stat st {};
  if (::stat(path.c_str(), &st) < 0) return;
  std::deque<Kept> dropped;  // closed outside the lock
  std::lock_guard<std::mutex> lock(mutex_);
  kept_.push_back(Kept{path, st.st_dev, st.st_ino, std::move(socket)});
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
