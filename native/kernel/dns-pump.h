// The embedded DNS servers' sockets, served by ONE thread (epoll) for every sandbox: it receives
// queries (UDP, and TCP with its 2-byte length framing) and upstream replies, hands them over in
// batches (one notification per batch, however many messages), and sends what it is given. The
// answers are decided elsewhere (lib/dns); no caller ever blocks on a socket. The sockets are
// opened inside the sandboxes' namespaces beforehand (dns-sockets.h): this thread never changes
// namespace, it only reads and writes sockets that already exist.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "fd.h"

namespace cnm {

enum class DnsChannel : uint8_t {
  Udp = 0,          // a client's query over UDP, or the reply to it
  Tcp = 1,          // a client's query over TCP (`conn`), or the reply to it
  Forward = 2,      // to or from an upstream server, through the sandbox's namespace
  HostForward = 3,  // to or from an upstream server, through the host's namespace
};

// One DNS message and where it goes or comes from.
struct DnsMessage {
  uint32_t id = 0;  // the resolver (one per sandbox)
  DnsChannel channel = DnsChannel::Udp;
  uint32_t conn = 0;          // Tcp: the connection
  std::vector<uint8_t> peer;  // UDP channels: the other end (a sockaddr_in / sockaddr_in6)
  std::vector<uint8_t> data;  // the message, without TCP's length prefix
};

// The sockets of one resolver (-1: none). The pump owns them once given.
struct DnsFds {
  int udp = -1, tcp = -1, forward = -1, hostForward = -1;
};

class DnsPump {
 public:
  // At most this many messages wait to be taken; more are dropped (UDP's own rule under load).
  static constexpr size_t kMaxWaiting = 8192;
  // TCP connections a resolver keeps open at once; more are refused.
  static constexpr size_t kMaxConnections = 64;

  // `notify` is called on the pump's thread when messages arrive and none were waiting: the
  // receiver then calls take().
  explicit DnsPump(std::function<void()> notify);
  // Stops the thread and closes every socket.
  ~DnsPump();
  DnsPump(const DnsPump&) = delete;
  DnsPump& operator=(const DnsPump&) = delete;

  void attach(uint32_t id, DnsFds fds);
  // Closes the resolver's sockets (its TCP connections too); messages sent to it later are dropped.
  void detach(uint32_t id);
  void send(std::vector<DnsMessage> messages);
  // The messages received since the last call; the next arrival notifies again.
  std::vector<DnsMessage> take();

 private:
  struct Watch;
  struct Connection;
  struct Resolver;
  struct Item;  // an attach, detach or message, applied on the pump's thread in order

  void run();
  bool applyQueued();
  void add(uint32_t id, DnsFds fds);
  void transmit(DnsMessage& message);
  void handle(Watch& watch, uint32_t events, std::vector<DnsMessage>& received);
  void receiveDatagrams(Resolver& resolver, int fd, DnsChannel channel, std::vector<DnsMessage>& received);
  void accept(Resolver& resolver);
  void readConnection(Resolver& resolver, Connection& conn, std::vector<DnsMessage>& received);
  void flush(Resolver& resolver, uint32_t connId);
  void watchConnection(Connection& conn, bool write);
  void deliver(std::vector<DnsMessage>& received);
  void queue(Item item);

  std::function<void()> notify_;
  Fd epoll_;
  Fd wake_;  // eventfd: items queued, or stop
  std::mutex mutex_;
  std::vector<Item> queued_;                                 // guarded by mutex_
  bool wakePending_ = false;                                 // guarded by mutex_
  bool stopping_ = false;                                    // guarded by mutex_
  std::vector<DnsMessage> waiting_;                          // received, not yet taken; guarded by mutex_
  bool notified_ = false;                                    // guarded by mutex_
  std::map<uint32_t, std::unique_ptr<Resolver>> resolvers_;  // the pump thread's own
  uint32_t nextConn_ = 1;
  std::thread thread_;
};

}  // namespace cnm
