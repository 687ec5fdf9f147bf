#include "dns-upstream.h"

#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace cnm {

namespace {

// socket() in the namespace `nsfd`; -1 and errno on failure.
int socketIn(int nsfd, int homefd, int family, int type) {
  if (nsfd < 0) {
    errno = ENOENT;
    return -1;
  }
  if (nsfd != homefd && ::setns(nsfd, CLONE_NEWNET) < 0) return -1;
  int fd = ::socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int saved = errno;
  // Cannot fail with a valid descriptor of our own namespace; if it did, the next socket would
  // still be opened after its own setns, never in a namespace it was not meant for.
  if (nsfd != homefd) (void)::setns(homefd, CLONE_NEWNET);
  errno = saved;
  return fd;
}

}  // namespace

UpstreamSocket openUpstream(int nsfd, int homefd, const std::vector<uint8_t>& peer, bool tcp, const std::vector<uint8_t>& query) {
  UpstreamSocket s;
  sockaddr_storage to{};
  if (peer.size() < sizeof(sa_family_t) || peer.size() > sizeof to) {
    s.error = EINVAL;
    return s;
  }
  std::memcpy(&to, peer.data(), peer.size());
  if (to.ss_family != AF_INET && to.ss_family != AF_INET6) {
    s.error = EAFNOSUPPORT;
    return s;
  }
  s.fd = Fd(socketIn(nsfd, homefd, to.ss_family, tcp ? SOCK_STREAM : SOCK_DGRAM));
  if (!s.fd.valid()) {
    s.error = errno;
    return s;
  }
  if (::connect(s.fd.get(), reinterpret_cast<sockaddr*>(&to), static_cast<socklen_t>(peer.size())) < 0) {
    if (tcp && errno == EINPROGRESS) s.connecting = true;
    else s.error = errno;
    return s;
  }
  if (!tcp && ::send(s.fd.get(), query.data(), query.size(), MSG_DONTWAIT | MSG_NOSIGNAL) < 0) s.error = errno;
  return s;
}

}  // namespace cnm
