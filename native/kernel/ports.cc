#include "ports.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cstring>

#include "error.h"
#include "fd.h"
#include "inet.h"

namespace cnm {

namespace {

int socketFor(int family, const std::string& protocol, const std::string& what) {
  int type = protocol == "udp" ? SOCK_DGRAM : SOCK_STREAM;
  int proto = protocol == "udp" ? IPPROTO_UDP : protocol == "sctp" ? IPPROTO_SCTP : IPPROTO_TCP;
  if (protocol != "tcp" && protocol != "udp" && protocol != "sctp")
    throw KernelError(EINVAL, "socket", what + " (protocol is not tcp, udp or sctp)");
  int fd = ::socket(family, type | SOCK_CLOEXEC, proto);
  if (fd < 0) throwErrno("socket", what);
  return fd;
}

// Binds `fd` to address:port; returns false if the port is taken.
bool bindTo(int fd, const IpAddress& ip, uint16_t port, const std::string& what) {
  sockaddr_storage storage{};
  socklen_t len;
  if (ip.family == AF_INET) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&storage);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
    std::memcpy(&sin->sin_addr, ip.bytes.data(), 4);
    len = sizeof *sin;
  } else {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&storage);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(port);
    std::memcpy(&sin6->sin6_addr, ip.bytes.data(), 16);
    len = sizeof *sin6;
  }
  if (::bind(fd, reinterpret_cast<sockaddr*>(&storage), len) == 0) return true;
  if (errno == EADDRINUSE) return false;
  throwErrno("bind", what);
}

uint16_t boundPort(int fd, const std::string& what) {
  sockaddr_storage storage{};
  socklen_t len = sizeof storage;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&storage), &len) < 0) throwErrno("getsockname", what);
  return ntohs(storage.ss_family == AF_INET ? reinterpret_cast<sockaddr_in*>(&storage)->sin_port
                                            : reinterpret_cast<sockaddr_in6*>(&storage)->sin6_port);
}

}  // namespace

PortReservation reservePort(const std::string& address, const std::string& protocol, uint16_t port, uint16_t portEnd) {
  std::string what = protocol + " " + address + ":" + std::to_string(port) + (portEnd > port ? "-" + std::to_string(portEnd) : "");
  IpAddress ip;
  if (!parseIp(address, ip)) throw KernelError(EINVAL, "bind", what + " (not an IP address)");
  for (uint32_t candidate = port; candidate <= std::max(port, portEnd); candidate++) {
    Fd fd(socketFor(ip.family, protocol, what));
    if (ip.family == AF_INET6) {
      int on = 1;  // "::" means IPv6 only here, so that 0.0.0.0 can be held on its own
      ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
    }
    if (!bindTo(fd.get(), ip, static_cast<uint16_t>(candidate), what)) continue;
    PortReservation r;
    r.port = boundPort(fd.get(), what);
    r.fd = fd.release();
    return r;
  }
  throw KernelError(EADDRINUSE, "bind", what);
}

void releasePort(int fd) {
  if (::close(fd) < 0) throwErrno("close", "reserved port");
}

}  // namespace cnm
