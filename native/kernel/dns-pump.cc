#include "dns-pump.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "error.h"

namespace cnm {

// What an epoll event points at: a resolver's socket, or one of its TCP connections (conn != 0).
struct DnsPump::Watch {
  uint32_t id;
  DnsChannel channel;
  uint32_t conn;
  int fd;
};

struct DnsPump::Connection {
  Fd fd;
  Watch watch;
  std::vector<uint8_t> in;   // bytes read, not yet a whole message
  std::vector<uint8_t> out;  // length-prefixed replies not yet written
  unsigned pending = 0;      // queries handed over, not yet answered
  bool waitingToWrite = false;
  bool peerClosed = false;  // the client sent all it will: the connection goes once it is answered
};

struct DnsPump::Resolver {
  Fd udp, tcp, forward, hostForward;
  std::vector<std::unique_ptr<Watch>> watches;
  std::map<uint32_t, std::unique_ptr<Connection>> connections;
};

struct DnsPump::Item {
  enum class Kind { Attach, Detach, Send } kind;
  uint32_t id = 0;
  DnsFds fds;
  DnsMessage message;
};

namespace {

// Closes the descriptors of an attach that never happened.
void closeAll(const DnsFds& fds) {
  for (int fd : {fds.udp, fds.tcp, fds.forward, fds.hostForward}) {
    if (fd >= 0) ::close(fd);
  }
}

}  // namespace

DnsPump::DnsPump(std::function<void()> notify) : notify_(std::move(notify)) {
  epoll_ = Fd(::epoll_create1(EPOLL_CLOEXEC));
  if (!epoll_.valid()) throwErrno("epoll_create1", "dns");
  wake_ = Fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wake_.valid()) throwErrno("eventfd", "dns");
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = nullptr;  // the wake-up
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, wake_.get(), &ev) < 0) throwErrno("epoll_ctl", "dns");
  thread_ = std::thread([this] { run(); });
}

DnsPump::~DnsPump() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  uint64_t one = 1;
  (void)!::write(wake_.get(), &one, sizeof one);
  thread_.join();
  for (Item& item : queued_) {
    if (item.kind == Item::Kind::Attach) closeAll(item.fds);
  }
}

void DnsPump::queue(Item item) {
  bool wake;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    queued_.push_back(std::move(item));
    wake = !wakePending_;
    wakePending_ = true;
  }
  // One write per batch of items: the pump's thread drains them all when it wakes.
  if (wake) {
    uint64_t one = 1;
    (void)!::write(wake_.get(), &one, sizeof one);
  }
}

void DnsPump::attach(uint32_t id, DnsFds fds) {
  Item item{Item::Kind::Attach, id, fds, {}};
  queue(std::move(item));
}

void DnsPump::detach(uint32_t id) { queue(Item{Item::Kind::Detach, id, {}, {}}); }

void DnsPump::send(std::vector<DnsMessage> messages) {
  if (messages.empty()) return;
  bool wake;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (DnsMessage& m : messages) queued_.push_back(Item{Item::Kind::Send, m.id, {}, std::move(m)});
    wake = !wakePending_;
    wakePending_ = true;
  }
  if (wake) {
    uint64_t one = 1;
    (void)!::write(wake_.get(), &one, sizeof one);
  }
}

std::vector<DnsMessage> DnsPump::take() {
  std::vector<DnsMessage> out;
  std::lock_guard<std::mutex> lock(mutex_);
  out.swap(waiting_);
  notified_ = false;
  return out;
}

void DnsPump::run() {
  epoll_event events[64];
  std::vector<DnsMessage> received;
  for (;;) {
    int n = ::epoll_wait(epoll_.get(), events, 64, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      n = 0;  // cannot happen with valid arguments; the wake-up still stops the thread
    }
    bool woken = false;
    for (int i = 0; i < n; i++) {
      auto* watch = static_cast<Watch*>(events[i].data.ptr);
      if (watch == nullptr) woken = true;
      else handle(*watch, events[i].events, received);
    }
    deliver(received);
    // Queued items last: a detach frees watches that events of this round may still point at.
    if (woken && !applyQueued()) return;
  }
}

bool DnsPump::applyQueued() {
  uint64_t count;
  (void)!::read(wake_.get(), &count, sizeof count);
  std::vector<Item> items;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) return false;
    items.swap(queued_);
    wakePending_ = false;
  }
  for (Item& item : items) {
    switch (item.kind) {
      case Item::Kind::Attach: add(item.id, item.fds); break;
      case Item::Kind::Detach:
        resolvers_.erase(item.id);  // closing a socket takes it out of the epoll set
        break;
      case Item::Kind::Send: transmit(item.message); break;
    }
  }
  return true;
}

void DnsPump::add(uint32_t id, DnsFds fds) {
  auto resolver = std::make_unique<Resolver>();
  resolver->udp = Fd(fds.udp);
  resolver->tcp = Fd(fds.tcp);
  resolver->forward = Fd(fds.forward);
  resolver->hostForward = Fd(fds.hostForward);
  std::pair<int, DnsChannel> sockets[] = {{fds.udp, DnsChannel::Udp},
                                          {fds.tcp, DnsChannel::Tcp},
                                          {fds.forward, DnsChannel::Forward},
                                          {fds.hostForward, DnsChannel::HostForward}};
  for (auto [fd, channel] : sockets) {
    if (fd < 0) continue;
    resolver->watches.push_back(std::make_unique<Watch>(Watch{id, channel, 0, fd}));
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = resolver->watches.back().get();
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev);
  }
  resolvers_[id] = std::move(resolver);  // an id attached twice: the old sockets close
}

void DnsPump::handle(Watch& watch, uint32_t events, std::vector<DnsMessage>& received) {
  auto it = resolvers_.find(watch.id);
  if (it == resolvers_.end()) return;
  Resolver& resolver = *it->second;
  if (watch.channel != DnsChannel::Tcp) return receiveDatagrams(resolver, watch.fd, watch.channel, received);
  if (watch.conn == 0) return accept(resolver);
  auto conn = resolver.connections.find(watch.conn);
  if (conn == resolver.connections.end()) return;
  if (events & EPOLLOUT) flush(resolver, watch.conn);
  conn = resolver.connections.find(watch.conn);
  if (conn == resolver.connections.end()) return;
  if (!conn->second->peerClosed) {
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) readConnection(resolver, *conn->second, received);
  } else if (events & (EPOLLHUP | EPOLLERR)) {
    resolver.connections.erase(conn);
  }
}

void DnsPump::receiveDatagrams(Resolver& resolver, int fd, DnsChannel channel, std::vector<DnsMessage>& received) {
  static thread_local std::vector<uint8_t> buf(65536);
  // A bounded number per socket and round, so that one busy sandbox does not starve the others.
  for (int i = 0; i < 64; i++) {
    sockaddr_storage from{};
    socklen_t fromLen = sizeof from;
    ssize_t n = ::recvfrom(fd, buf.data(), buf.size(), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from), &fromLen);
    if (n < 0) return;  // EAGAIN, or an ICMP error queued by an earlier send: nothing to take
    DnsMessage m;
    m.id = resolver.watches.front()->id;
    m.channel = channel;
    auto* p = reinterpret_cast<const uint8_t*>(&from);
    m.peer.assign(p, p + fromLen);
    m.data.assign(buf.data(), buf.data() + n);
    received.push_back(std::move(m));
  }
}

void DnsPump::accept(Resolver& resolver) {
  for (;;) {
    Fd fd(::accept4(resolver.tcp.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (!fd.valid()) return;
    if (resolver.connections.size() >= kMaxConnections) continue;  // closed at once
    uint32_t id = resolver.watches.front()->id;
    uint32_t connId = nextConn_++;
    if (nextConn_ == 0) nextConn_ = 1;
    auto conn = std::make_unique<Connection>();
    conn->watch = Watch{id, DnsChannel::Tcp, connId, fd.get()};
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = &conn->watch;
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd.get(), &ev) < 0) continue;
    conn->fd = std::move(fd);
    resolver.connections[connId] = std::move(conn);
  }
}

void DnsPump::readConnection(Resolver& resolver, Connection& conn, std::vector<DnsMessage>& received) {
  uint8_t buf[16384];
  bool closed = false;
  for (;;) {
    ssize_t n = ::recv(conn.fd.get(), buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0) {
      conn.in.insert(conn.in.end(), buf, buf + n);
      continue;
    }
    if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) closed = true;
    if (n < 0 && errno == EINTR) continue;
    break;
  }
  // Whole messages: a 2-byte big-endian length, then the message (RFC 1035 4.2.2).
  size_t at = 0;
  while (conn.in.size() - at >= 2) {
    size_t len = (static_cast<size_t>(conn.in[at]) << 8) | conn.in[at + 1];
    if (conn.in.size() - at - 2 < len) break;
    DnsMessage m;
    m.id = conn.watch.id;
    m.channel = DnsChannel::Tcp;
    m.conn = conn.watch.conn;
    m.data.assign(conn.in.begin() + static_cast<long>(at) + 2, conn.in.begin() + static_cast<long>(at + 2 + len));
    received.push_back(std::move(m));
    conn.pending++;
    at += 2 + len;
  }
  conn.in.erase(conn.in.begin(), conn.in.begin() + static_cast<long>(at));
  if (!closed) return;
  // A client that closed its side still gets the replies to what it sent: the connection goes once
  // they are written. Meanwhile it is not read (an end of file stays readable for good).
  if (conn.pending == 0 && conn.out.empty()) {
    resolver.connections.erase(conn.watch.conn);
    return;
  }
  conn.peerClosed = true;
  watchConnection(conn, !conn.out.empty());
}

void DnsPump::watchConnection(Connection& conn, bool write) {
  conn.waitingToWrite = write;
  epoll_event ev{};
  ev.events = (conn.peerClosed ? 0u : static_cast<uint32_t>(EPOLLIN)) | (write ? static_cast<uint32_t>(EPOLLOUT) : 0u);
  ev.data.ptr = &conn.watch;
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, conn.fd.get(), &ev);
}

void DnsPump::transmit(DnsMessage& m) {
  auto it = resolvers_.find(m.id);
  if (it == resolvers_.end()) return;
  Resolver& resolver = *it->second;
  if (m.channel == DnsChannel::Tcp) {
    auto conn = resolver.connections.find(m.conn);
    if (conn == resolver.connections.end() || m.data.size() > 65535) return;
    if (conn->second->pending > 0) conn->second->pending--;
    std::vector<uint8_t>& out = conn->second->out;
    out.push_back(static_cast<uint8_t>(m.data.size() >> 8));
    out.push_back(static_cast<uint8_t>(m.data.size() & 0xff));
    out.insert(out.end(), m.data.begin(), m.data.end());
    return flush(resolver, m.conn);
  }
  const Fd& socket = m.channel == DnsChannel::Udp       ? resolver.udp
                     : m.channel == DnsChannel::Forward ? resolver.forward
                                                        : resolver.hostForward;
  int fd = socket.get();
  if (fd < 0 || m.peer.size() < sizeof(sa_family_t) || m.peer.size() > sizeof(sockaddr_storage)) return;
  sockaddr_storage to{};
  std::memcpy(&to, m.peer.data(), m.peer.size());
  // Non-blocking: a full socket buffer drops the datagram, as a loss on the wire would.
  (void)::sendto(fd, m.data.data(), m.data.size(), MSG_DONTWAIT | MSG_NOSIGNAL, reinterpret_cast<sockaddr*>(&to),
                 static_cast<socklen_t>(m.peer.size()));
}

void DnsPump::flush(Resolver& resolver, uint32_t connId) {
  auto it = resolver.connections.find(connId);
  if (it == resolver.connections.end()) return;
  Connection& conn = *it->second;
  size_t sent = 0;
  while (sent < conn.out.size()) {
    ssize_t n = ::send(conn.fd.get(), conn.out.data() + sent, conn.out.size() - sent, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    resolver.connections.erase(it);  // the client is gone
    return;
  }
  conn.out.erase(conn.out.begin(), conn.out.begin() + static_cast<long>(sent));
  if (conn.peerClosed && conn.pending == 0 && conn.out.empty()) {
    resolver.connections.erase(it);
    return;
  }
  bool wantWrite = !conn.out.empty();
  if (wantWrite != conn.waitingToWrite) watchConnection(conn, wantWrite);
}

void DnsPump::deliver(std::vector<DnsMessage>& received) {
  if (received.empty()) return;
  bool notify;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    size_t room = kMaxWaiting > waiting_.size() ? kMaxWaiting - waiting_.size() : 0;
    if (received.size() > room) received.resize(room);
    for (DnsMessage& m : received) waiting_.push_back(std::move(m));
    notify = !notified_ && !waiting_.empty();
    if (notify) notified_ = true;
  }
  received.clear();
  if (notify) notify_();
}

}  // namespace cnm
