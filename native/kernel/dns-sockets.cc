#include "dns-sockets.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>

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

// Binds to 127.0.0.11 on `port` if it is free, else on a port the kernel picks, and returns the port.
uint16_t bindResolverAddress(int fd, uint16_t port, const char* what) {
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(port);
  inet_pton(AF_INET, kAddress, &sin.sin_addr);
  int bound = ::bind(fd, reinterpret_cast<sockaddr*>(&sin), sizeof sin);
  if (bound < 0 && errno == EADDRINUSE && port != 0) {
    sin.sin_port = 0;
    bound = ::bind(fd, reinterpret_cast<sockaddr*>(&sin), sizeof sin);
  }
  if (bound < 0) throwErrno("bind", std::string(kAddress) + " (" + what + ")");
  socklen_t len = sizeof sin;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&sin), &len) < 0) throwErrno("getsockname", what);
  return ntohs(sin.sin_port);
}

}  // namespace

ResolverSockets openDnsSockets(ResolverPorts ports) {
  ResolverSockets s;
  s.udp = openSocket(SOCK_DGRAM, "dns udp");
  s.tcp = openSocket(SOCK_STREAM, "dns tcp");
  s.udpPort = bindResolverAddress(s.udp.get(), ports.udp, "dns udp");
  s.tcpPort = bindResolverAddress(s.tcp.get(), ports.tcp, "dns tcp");
  if (::listen(s.tcp.get(), 128) < 0) throwErrno("listen", "dns tcp");
  return s;
}

DnsSockets ResolverSockets::release(int netns) {
  DnsSockets out;
  out.udp = udp.release();
  out.tcp = tcp.release();
  out.netns = netns;
  out.udpPort = udpPort;
  out.tcpPort = tcpPort;
  return out;
}

bool ResolverSockets::on(const ResolverPorts& wanted) const {
  return (wanted.udp == 0 || wanted.udp == udpPort) && (wanted.tcp == 0 || wanted.tcp == tcpPort);
}

void closeDnsSockets(const DnsSockets& sockets) {
  for (int fd : {sockets.udp, sockets.tcp, sockets.netns}) {
    if (fd >= 0) ::close(fd);
  }
}

}  // namespace cnm
