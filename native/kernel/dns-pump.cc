#include "dns-pump.h"

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "dns-upstream.h"
#include "error.h"

namespace cnm {

// What an epoll event points at: a resolver's socket, one of its TCP connections (channel Tcp,
// conn != 0), or one of its forwarded queries (a forwarding channel, conn its exchange).
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
  bool peerClosed = false;                       // the client sent all it will: the connection goes once it is answered
  bool queried = false;                          // a whole query arrived: the idle timeout, not the first query's, applies
  std::chrono::steady_clock::time_point active;  // the last query received or bytes written
};

// A query forwarded upstream, on its own socket, until its outcome.
struct DnsPump::Exchange {
  Fd fd;
  Watch watch;
  std::vector<uint8_t> peer;
  std::vector<uint8_t> out;  // TCP: the length-prefixed query, not yet written
  std::vector<uint8_t> in;   // TCP: the reply read so far
  uint8_t queryId[2];        // a reply must repeat the query's id
  bool connecting = false;
  std::chrono::steady_clock::time_point deadline;
};

// A reply given for a query, for the queries with the same bytes after its id.
struct DnsPump::Kept {
  uint64_t generation;
  std::vector<uint8_t> reply;
};

struct DnsPump::Resolver {
  Fd udp, tcp, netns;
  std::vector<std::unique_ptr<Watch>> watches;
  std::map<uint32_t, std::unique_ptr<Connection>> connections;
  std::map<uint32_t, std::unique_ptr<Exchange>> exchanges;
  std::unordered_map<std::string, Kept> kept;  // by the query's bytes after its id
};

struct DnsPump::Item {
  enum class Kind { Attach, Detach, Send } kind;
  uint32_t id = 0;
  std::unique_ptr<Resolver> resolver;  // Attach: already watched, not yet the pump's
  DnsMessage message;
};

namespace {

bool isTcp(DnsChannel channel) { return channel == DnsChannel::ForwardTcp || channel == DnsChannel::HostForwardTcp; }
bool fromHost(DnsChannel channel) { return channel == DnsChannel::HostForward || channel == DnsChannel::HostForwardTcp; }

// Whether a message is a client's query (these may be dropped under load; outcomes of forwarded
// queries never are, so that every forwarded query has exactly one).
bool isClientQuery(const DnsMessage& m) { return m.channel == DnsChannel::Udp || m.channel == DnsChannel::Tcp; }

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
  // The caller's thread (the JS thread) is in the host's namespace; the pump's thread starts there too.
  home_ = Fd(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
  if (!home_.valid()) throwErrno("open", "/proc/thread-self/ns/net");
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
  // The queued items go with the pump: an attach never adopted closes its sockets.
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

// Watched here, on the caller's thread, without waking the pump's: on a busy machine the woken
// thread takes the caller's CPU, and a join waits for this call. The pump adopts the resolver
// with the next queued items, at the latest after the first event on its sockets (that event
// finds no resolver, and comes again: the sockets are level-triggered).
void DnsPump::attach(uint32_t id, DnsFds fds) {
  auto resolver = std::make_unique<Resolver>();
  resolver->udp = Fd(fds.udp);
  resolver->tcp = Fd(fds.tcp);
  resolver->netns = Fd(fds.netns);
  std::pair<int, DnsChannel> sockets[] = {{fds.udp, DnsChannel::Udp}, {fds.tcp, DnsChannel::Tcp}};
  for (auto [fd, channel] : sockets) {
    if (fd >= 0) resolver->watches.push_back(std::make_unique<Watch>(Watch{id, channel, 0, fd}));
  }
  // Queued before its sockets are watched, so that the round of their first event adopts it. The
  // watches stay where they are when the pump takes the resolver, and only a later detach from
  // this thread frees them.
  std::vector<Watch*> watches;
  for (auto& w : resolver->watches) watches.push_back(w.get());
  {
    std::lock_guard<std::mutex> lock(mutex_);
    queued_.push_back(Item{Item::Kind::Attach, id, std::move(resolver), {}});
    attachQueued_ = true;
  }
  for (Watch* w : watches) watch(w->fd, w, EPOLLIN, EPOLL_CTL_ADD);
}

void DnsPump::detach(uint32_t id) { queue(Item{Item::Kind::Detach, id, {}, {}}); }

void DnsPump::send(std::vector<DnsMessage> messages) {
  if (messages.empty()) return;
  bool wake;
  uint64_t generation = generation_.load();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (DnsMessage& m : messages) {
      m.generation = generation;
      queued_.push_back(Item{Item::Kind::Send, m.id, {}, std::move(m)});
    }
    wake = !wakePending_;
    wakePending_ = true;
  }
  if (wake) {
    uint64_t one = 1;
    (void)!::write(wake_.get(), &one, sizeof one);
  }
}

void DnsPump::forget() { generation_.fetch_add(1); }

std::vector<DnsMessage> DnsPump::take() {
  std::vector<DnsMessage> out;
  std::lock_guard<std::mutex> lock(mutex_);
  out.swap(waiting_);
  notified_ = false;
  return out;
}

void DnsPump::run() {
  epoll_event events[64];
  for (;;) {
    int n = ::epoll_wait(epoll_.get(), events, 64, waitMs());
    if (n < 0) {
      if (errno == EINTR) continue;
      n = 0;  // cannot happen with valid arguments; the wake-up still stops the thread
    }
    bool woken = false;
    for (int i = 0; i < n; i++) {
      auto* watch = static_cast<Watch*>(events[i].data.ptr);
      if (watch == nullptr) woken = true;
      else handle(*watch, events[i].events);
    }
    // Queued items after the events: a detach frees watches that events of this round may still point at.
    if ((woken || attachQueued_.load()) && !applyQueued()) return;
    if (timing_ && Clock::now() >= nextTick_) expire();
    deliver();
  }
}

// Forever while nothing can time out; else until the next look for timeouts.
int DnsPump::waitMs() {
  if (!timing_) return -1;
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(nextTick_ - Clock::now()).count();
  return left > 0 ? static_cast<int>(left) + 1 : 0;
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
    attachQueued_ = false;
  }
  for (Item& item : items) {
    switch (item.kind) {
      case Item::Kind::Attach:
        resolvers_[item.id] = std::move(item.resolver);  // an id attached twice: the old sockets close
        break;
      case Item::Kind::Detach:
        resolvers_.erase(item.id);  // closing a socket takes it out of the epoll set
        break;
      case Item::Kind::Send: transmit(item.message); break;
    }
  }
  return true;
}

void DnsPump::watch(int fd, Watch* watch, uint32_t events, int op) {
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = watch;
  ::epoll_ctl(epoll_.get(), op, fd, &ev);
}

void DnsPump::handle(Watch& watch, uint32_t events) {
  auto it = resolvers_.find(watch.id);
  if (it == resolvers_.end()) return;  // detached, or attached and not adopted yet
  Resolver& resolver = *it->second;
  // A socket of a resolver attached again under this id, not adopted yet.
  if (watch.conn == 0 && watch.fd != resolver.udp.get() && watch.fd != resolver.tcp.get()) return;
  if (watch.channel == DnsChannel::Udp) return receiveDatagrams(resolver, watch.fd, watch.channel);
  if (watch.channel != DnsChannel::Tcp) {
    auto exchange = resolver.exchanges.find(watch.conn);
    if (exchange != resolver.exchanges.end()) onExchange(resolver, *exchange->second, events);
    return;
  }
  if (watch.conn == 0) return accept(resolver);
  auto conn = resolver.connections.find(watch.conn);
  if (conn == resolver.connections.end()) return;
  if (events & EPOLLOUT) flush(resolver, watch.conn);
  conn = resolver.connections.find(watch.conn);
  if (conn == resolver.connections.end()) return;
  if (!conn->second->peerClosed) {
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) readConnection(resolver, *conn->second);
  } else if (events & (EPOLLHUP | EPOLLERR)) {
    resolver.connections.erase(conn);
  }
}

void DnsPump::receiveDatagrams(Resolver& resolver, int fd, DnsChannel channel) {
  static thread_local std::vector<uint8_t> buf(65536);
  // A bounded number per socket and round, so that one busy sandbox does not starve the others.
  for (int i = 0; i < 64; i++) {
    sockaddr_storage from{};
    socklen_t fromLen = sizeof from;
    ssize_t n = ::recvfrom(fd, buf.data(), buf.size(), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from), &fromLen);
    if (n < 0) return;  // EAGAIN, or an ICMP error queued by an earlier send: nothing to take
    if (channel == DnsChannel::Udp && answerKept(resolver, buf.data(), static_cast<size_t>(n), from, fromLen)) continue;
    DnsMessage m;
    m.id = resolver.watches.front()->id;
    m.channel = channel;
    auto* p = reinterpret_cast<const uint8_t*>(&from);
    m.peer.assign(p, p + fromLen);
    m.data.assign(buf.data(), buf.data() + n);
    received_.push_back(std::move(m));
  }
}

bool DnsPump::answerKept(Resolver& resolver, uint8_t* query, size_t size, const sockaddr_storage& from, socklen_t fromLen) {
  if (resolver.kept.empty() || size < 12) return false;
  auto it = resolver.kept.find(std::string(reinterpret_cast<const char*>(query) + 2, size - 2));
  if (it == resolver.kept.end() || it->second.generation != generation_.load()) return false;
  std::vector<uint8_t>& reply = it->second.reply;
  reply[0] = query[0];  // the id of this query
  reply[1] = query[1];
  (void)::sendto(resolver.udp.get(), reply.data(), reply.size(), MSG_DONTWAIT | MSG_NOSIGNAL, reinterpret_cast<const sockaddr*>(&from),
                 fromLen);
  return true;
}

void DnsPump::keep(Resolver& resolver, DnsMessage& reply) {
  // Decided on names that changed since: not given again.
  if (reply.query.size() < 12 || reply.data.size() < 12 || reply.generation != generation_.load()) return;
  if (resolver.kept.size() >= kMaxKept) resolver.kept.clear();
  resolver.kept[std::string(reply.query.begin() + 2, reply.query.end())] = Kept{reply.generation, std::move(reply.data)};
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
    conn->active = Clock::now();
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = &conn->watch;
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd.get(), &ev) < 0) continue;
    conn->fd = std::move(fd);
    resolver.connections[connId] = std::move(conn);
    if (!timing_) nextTick_ = Clock::now() + kTick;
    timing_ = true;
  }
}

void DnsPump::readConnection(Resolver& resolver, Connection& conn) {
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
    received_.push_back(std::move(m));
    conn.pending++;
    conn.queried = true;
    conn.active = Clock::now();
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
  uint32_t events = (conn.peerClosed ? 0u : static_cast<uint32_t>(EPOLLIN)) | (write ? static_cast<uint32_t>(EPOLLOUT) : 0u);
  watch(conn.fd.get(), &conn.watch, events, EPOLL_CTL_MOD);
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
  if (m.channel != DnsChannel::Udp) return startExchange(resolver, m);
  int fd = resolver.udp.get();
  if (fd < 0 || m.peer.size() < sizeof(sa_family_t) || m.peer.size() > sizeof(sockaddr_storage)) return;
  sockaddr_storage to{};
  std::memcpy(&to, m.peer.data(), m.peer.size());
  // Non-blocking: a full socket buffer drops the datagram, as a loss on the wire would.
  (void)::sendto(fd, m.data.data(), m.data.size(), MSG_DONTWAIT | MSG_NOSIGNAL, reinterpret_cast<sockaddr*>(&to),
                 static_cast<socklen_t>(m.peer.size()));
  if (!m.query.empty()) keep(resolver, m);
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
      conn.active = Clock::now();
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

void DnsPump::startExchange(Resolver& resolver, DnsMessage& query) {
  if (query.conn == 0 || resolver.exchanges.count(query.conn)) return;  // the caller numbers them, from 1
  int nsfd = fromHost(query.channel) ? home_.get() : resolver.netns.get();
  bool tcp = isTcp(query.channel);
  auto exchange = std::make_unique<Exchange>();
  exchange->watch = Watch{query.id, query.channel, query.conn, -1};
  exchange->peer = std::move(query.peer);
  exchange->deadline = Clock::now() + kUpstreamTimeout;
  bool valid = query.data.size() >= 12 && query.data.size() <= 65535;
  if (valid) std::memcpy(exchange->queryId, query.data.data(), 2);
  UpstreamSocket socket = valid ? openUpstream(nsfd, home_.get(), exchange->peer, tcp, query.data) : UpstreamSocket{Fd(), EINVAL, false};
  Exchange& e = *exchange;
  e.fd = std::move(socket.fd);
  e.watch.fd = e.fd.get();
  e.connecting = socket.connecting;
  resolver.exchanges[query.conn] = std::move(exchange);
  if (socket.error != 0) return finishExchange(resolver, e, {});
  if (tcp) {
    e.out.push_back(static_cast<uint8_t>(query.data.size() >> 8));
    e.out.push_back(static_cast<uint8_t>(query.data.size() & 0xff));
    e.out.insert(e.out.end(), query.data.begin(), query.data.end());
  }
  watch(e.fd.get(), &e.watch, tcp ? EPOLLOUT : EPOLLIN, EPOLL_CTL_ADD);
  if (!timing_) nextTick_ = Clock::now() + kTick;
  timing_ = true;
}

void DnsPump::onExchange(Resolver& resolver, Exchange& e, uint32_t events) {
  int fd = e.fd.get();
  if (!isTcp(e.watch.channel)) {
    static thread_local std::vector<uint8_t> buf(65536);
    for (;;) {
      ssize_t n = ::recv(fd, buf.data(), buf.size(), MSG_DONTWAIT);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
      // An error is the ICMP answer to the query (port or host unreachable): the server is not there.
      if (n < 0) return finishExchange(resolver, e, {});
      // Another id is not the reply (a late one of no use, or a forgery): wait on.
      if (n >= 12 && buf[0] == e.queryId[0] && buf[1] == e.queryId[1])
        return finishExchange(resolver, e, std::vector<uint8_t>(buf.begin(), buf.begin() + n));
    }
  }
  if (e.connecting && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
    int error = 0;
    socklen_t len = sizeof error;
    if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) < 0 || error != 0) return finishExchange(resolver, e, {});
    e.connecting = false;
  }
  if (e.connecting) return;
  while (!e.out.empty()) {
    ssize_t n = ::send(fd, e.out.data(), e.out.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n <= 0) return finishExchange(resolver, e, {});
    e.out.erase(e.out.begin(), e.out.begin() + n);
    if (e.out.empty()) watch(fd, &e.watch, EPOLLIN, EPOLL_CTL_MOD);
  }
  uint8_t buf[16384];
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n <= 0) return finishExchange(resolver, e, {});  // closed or reset before the whole reply
    e.in.insert(e.in.end(), buf, buf + n);
    if (e.in.size() < 2) continue;
    size_t len = (static_cast<size_t>(e.in[0]) << 8) | e.in[1];
    if (e.in.size() < 2 + len) continue;
    return finishExchange(resolver, e, std::vector<uint8_t>(e.in.begin() + 2, e.in.begin() + 2 + static_cast<long>(len)));
  }
}

// Hands the outcome over and closes the exchange's socket (taking it out of the epoll set).
void DnsPump::finishExchange(Resolver& resolver, Exchange& e, std::vector<uint8_t> reply) {
  DnsMessage m;
  m.id = e.watch.id;
  m.channel = e.watch.channel;
  m.conn = e.watch.conn;
  m.peer = std::move(e.peer);
  m.data = std::move(reply);
  received_.push_back(std::move(m));
  resolver.exchanges.erase(e.watch.conn);
}

// Fails the forwarded queries past their deadline and closes the idle client connections.
void DnsPump::expire() {
  auto now = Clock::now();
  bool left = false;
  for (auto& [id, resolver] : resolvers_) {
    for (auto it = resolver->exchanges.begin(); it != resolver->exchanges.end();) {
      Exchange& e = *(it++)->second;  // the iterator moves on before finishExchange erases it
      if (now >= e.deadline) finishExchange(*resolver, e, {});
    }
    for (auto it = resolver->connections.begin(); it != resolver->connections.end();) {
      const Connection& conn = *it->second;
      bool idle = conn.pending == 0 && now - conn.active >= (conn.queried ? kIdleTimeout : kFirstQueryTimeout);
      it = idle ? resolver->connections.erase(it) : std::next(it);
    }
    left = left || !resolver->exchanges.empty() || !resolver->connections.empty();
  }
  timing_ = left;
  nextTick_ = now + kTick;
}

void DnsPump::deliver() {
  if (received_.empty()) return;
  bool notify;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    size_t room = kMaxWaiting > waiting_.size() ? kMaxWaiting - waiting_.size() : 0;
    for (DnsMessage& m : received_) {
      if (isClientQuery(m) && room == 0) continue;
      if (isClientQuery(m)) room--;
      waiting_.push_back(std::move(m));
    }
    notify = !notified_ && !waiting_.empty();
    if (notify) notified_ = true;
  }
  received_.clear();
  if (notify) notify_();
}

}  // namespace cnm
