// The embedded DNS servers' sockets, served by ONE thread (epoll) for every sandbox: it receives
// queries (UDP, and TCP with its 2-byte length framing), hands them over in batches (one
// notification per batch, however many messages), sends the replies it is given, and carries out
// the queries forwarded upstream, each on a socket of its own (dns-upstream.h) over UDP or TCP,
// reporting one outcome for each: the reply, or a failure. The answers are decided elsewhere
// (lib/dns), except that a UDP reply given with its query is kept, and a query with the same bytes
// (its id aside) is answered here with it until the names change (forget()): a repeated query
// costs no trip to the JS thread. No caller ever blocks on a socket, and neither does this thread (connects are
// non-blocking). The listening sockets are opened inside the sandboxes' namespaces beforehand
// (dns-sockets.h); the thread enters a sandbox's namespace only for the socket() call of a
// forwarded query and goes back at once. Every wait is bounded: forwarded queries, and clients'
// TCP connections that stay idle.
#pragma once

#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "fd.h"

namespace cnm {

enum class DnsChannel : uint8_t {
  Udp = 0,  // a client's query over UDP, or the reply to it
  Tcp = 1,  // a client's query over TCP (`conn`), or the reply to it
  // A query forwarded to an upstream server (`conn`: its exchange, the caller's number), and its outcome.
  Forward = 2,         // over UDP, from the sandbox's namespace
  HostForward = 3,     // over UDP, from the host's namespace
  ForwardTcp = 4,      // over TCP, from the sandbox's namespace
  HostForwardTcp = 5,  // over TCP, from the host's namespace
};

// One DNS message and where it goes or comes from.
struct DnsMessage {
  uint32_t id = 0;  // the resolver (one per sandbox)
  DnsChannel channel = DnsChannel::Udp;
  uint32_t conn = 0;          // Tcp: the connection; forwarding channels: the exchange
  std::vector<uint8_t> peer;  // Udp: the client; forwarding channels: the server (a sockaddr_in / sockaddr_in6)
  // The message, without TCP's length prefix. An outcome without data: the exchange failed (no
  // reply in time, refused, unreachable).
  std::vector<uint8_t> data;
  // A UDP reply: the query it answers, when any query with the same bytes (its id aside) gets the
  // same reply until the names change; the pump then answers those itself.
  std::vector<uint8_t> query;
  uint64_t generation = 0;  // of the names the reply was decided on (stamped by send())
};

// The sockets of one resolver, and its namespace (for forwarded queries' sockets). The pump owns them once given.
struct DnsFds {
  int udp = -1, tcp = -1, netns = -1;
};

class DnsPump {
 public:
  // At most this many clients' queries wait to be taken; more are dropped (UDP's own rule under
  // load). Outcomes of forwarded queries are never dropped: each has exactly one.
  static constexpr size_t kMaxWaiting = 8192;
  // TCP connections a resolver keeps open at once; more are refused.
  static constexpr size_t kMaxConnections = 64;
  // A forwarded query fails when its server has not answered by then (Docker's extIOTimeout).
  static constexpr std::chrono::milliseconds kUpstreamTimeout{4000};
  // A client's TCP connection is closed when it sends no first query within kFirstQueryTimeout, or
  // stays idle for kIdleTimeout after an answer (the timeouts of miekg/dns, which Docker's resolver runs on).
  static constexpr std::chrono::milliseconds kFirstQueryTimeout{2000};
  static constexpr std::chrono::milliseconds kIdleTimeout{8000};
  // How often timeouts are looked for, while anything can time out.
  static constexpr std::chrono::milliseconds kTick{250};
  // Replies a resolver keeps for repeated queries; when full, it starts again from none.
  static constexpr size_t kMaxKept = 256;

  // `notify` is called on the pump's thread when messages arrive and none were waiting: the
  // receiver then calls take().
  explicit DnsPump(std::function<void()> notify);
  // Stops the thread and closes every socket.
  ~DnsPump();
  DnsPump(const DnsPump&) = delete;
  DnsPump& operator=(const DnsPump&) = delete;

  // Serves the sockets as resolver `id` (the pump owns them from now on), from their first query
  // on. Never waits for the pump's thread, nor wakes it.
  void attach(uint32_t id, DnsFds fds);
  // Closes the resolver's sockets (its TCP connections too); messages sent to it later are dropped.
  void detach(uint32_t id);
  void send(std::vector<DnsMessage> messages);
  // The names changed: no kept reply is given again. Takes effect before it returns, for the
  // queries that arrive after.
  void forget();
  // The messages received since the last call; the next arrival notifies again.
  std::vector<DnsMessage> take();

 private:
  using Clock = std::chrono::steady_clock;
  struct Watch;
  struct Connection;
  struct Exchange;
  struct Resolver;
  struct Kept;
  struct Item;  // an attach, detach or message, applied on the pump's thread in order

  void run();
  int waitMs();
  bool applyQueued();
  void transmit(DnsMessage& message);
  void handle(Watch& watch, uint32_t events);
  void receiveDatagrams(Resolver& resolver, int fd, DnsChannel channel);
  bool answerKept(Resolver& resolver, uint8_t* query, size_t size, const sockaddr_storage& from, socklen_t fromLen);
  void keep(Resolver& resolver, DnsMessage& reply);
  void accept(Resolver& resolver);
  void readConnection(Resolver& resolver, Connection& conn);
  void flush(Resolver& resolver, uint32_t connId);
  void watchConnection(Connection& conn, bool write);
  void startExchange(Resolver& resolver, DnsMessage& query);
  void onExchange(Resolver& resolver, Exchange& exchange, uint32_t events);
  void finishExchange(Resolver& resolver, Exchange& exchange, std::vector<uint8_t> reply);
  void expire();
  void watch(int fd, Watch* watch, uint32_t events, int op);
  void deliver();
  void queue(Item item);

  std::function<void()> notify_;
  Fd epoll_;
  Fd wake_;  // eventfd: items queued, or stop
  Fd home_;  // the namespace the pump was started in (the host's): forwarded queries to host servers leave from it
  std::mutex mutex_;
  std::vector<Item> queued_;                                 // guarded by mutex_
  bool wakePending_ = false;                                 // guarded by mutex_
  std::atomic<bool> attachQueued_{false};                    // an attach waits in queued_, with no wake-up
  bool stopping_ = false;                                    // guarded by mutex_
  std::vector<DnsMessage> waiting_;                          // received, not yet taken; guarded by mutex_
  bool notified_ = false;                                    // guarded by mutex_
  std::atomic<uint64_t> generation_{0};                      // of the names: forget() moves it on
  std::map<uint32_t, std::unique_ptr<Resolver>> resolvers_;  // the pump thread's own, as all below
  std::vector<DnsMessage> received_;                         // this round's, delivered at its end
  uint32_t nextConn_ = 1;
  bool timing_ = false;  // a connection or an exchange is open: timeouts are looked for every kTick
  Clock::time_point nextTick_;
  std::thread thread_;
};

}  // namespace cnm
