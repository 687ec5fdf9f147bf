#include "dns-sockets.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "error.h"
#include "fd.h"

namespace cnm {

namespace {

constexpr const char* kAddress = "127.0.0.11";

Fd openSocket(int type, const char* what) {
  Fd fd(::socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) throwErrno("socket", what);
  return fd;
}

// Binds to 127.0.0.11 on a port the kernel picks and returns the port.
uint16_t bindResolverAddress(int fd, const char* what) {
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  inet_pton(AF_INET, kAddress, &sin.sin_addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&sin), sizeof sin) < 0) throwErrno("bind", std::string(kAddress) + " (" + what + ")");
  socklen_t len = sizeof sin;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&sin), &len) < 0) throwErrno("getsockname", what);
  return ntohs(sin.sin_port);
}

}  // namespace

DnsSockets openDnsSockets() {
  Fd udp = openSocket(SOCK_DGRAM, "dns udp");
  Fd tcp = openSocket(SOCK_STREAM, "dns tcp");
  DnsSockets s;
  s.udpPort = bindResolverAddress(udp.get(), "dns udp");
  s.tcpPort = bindResolverAddress(tcp.get(), "dns tcp");
  if (::listen(tcp.get(), 128) < 0) throwErrno("listen", "dns tcp");
  s.udp = udp.release();
  s.tcp = tcp.release();
  return s;
}

}  // namespace cnm
