#include "nfnetlink.h"

#include <arpa/inet.h>
#include <endian.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>

#include "error.h"

#ifndef NETLINK_CAP_ACK
#define NETLINK_CAP_ACK 10
#endif

namespace cnm {

namespace {

NlRequest nfMessage(uint16_t type, uint16_t flags, uint8_t family, uint16_t resId) {
  NlRequest req(type, flags);
  auto* g = req.header<nfgenmsg>();
  g->nfgen_family = family;
  g->version = NFNETLINK_V0;
  g->res_id = htons(resId);
  return req;
}

// Every name up to NFT_MSG_DESTROYSETELEM (30, kernel 6.3), by message number.
const char* const kNftNames[] = {
    "NFT_MSG_NEWTABLE",       "NFT_MSG_GETTABLE",     "NFT_MSG_DELTABLE",     "NFT_MSG_NEWCHAIN",     "NFT_MSG_GETCHAIN",
    "NFT_MSG_DELCHAIN",       "NFT_MSG_NEWRULE",      "NFT_MSG_GETRULE",      "NFT_MSG_DELRULE",      "NFT_MSG_NEWSET",
    "NFT_MSG_GETSET",         "NFT_MSG_DELSET",       "NFT_MSG_NEWSETELEM",   "NFT_MSG_GETSETELEM",   "NFT_MSG_DELSETELEM",
    "NFT_MSG_NEWGEN",         "NFT_MSG_GETGEN",       "NFT_MSG_TRACE",        "NFT_MSG_NEWOBJ",       "NFT_MSG_GETOBJ",
    "NFT_MSG_DELOBJ",         "NFT_MSG_GETOBJ_RESET", "NFT_MSG_NEWFLOWTABLE", "NFT_MSG_GETFLOWTABLE", "NFT_MSG_DELFLOWTABLE",
    "NFT_MSG_GETRULE_RESET",  "NFT_MSG_DESTROYTABLE", "NFT_MSG_DESTROYCHAIN", "NFT_MSG_DESTROYRULE",  "NFT_MSG_DESTROYSET",
    "NFT_MSG_DESTROYSETELEM",
};

// Reads the answers queued on the socket without waiting, until none is left.
template <class F>
void drainAnswers(NlSocket& socket, RxBuffer& buf, F each) {
  for (;;) {
    ssize_t n = ::recv(socket.fd(), buf.data(), buf.size(), MSG_DONTWAIT | MSG_TRUNC);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n < 0) throwErrno("recv", "nf_tables batch");
    if (static_cast<size_t>(n) > buf.size()) throw KernelError(EMSGSIZE, "recv", "nf_tables batch");
    int len = static_cast<int>(n);
    for (auto* h = reinterpret_cast<const nlmsghdr*>(buf.data()); NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) each(h);
  }
}

// Makes room for a batch of `messages` acks and `bytes` of requests: each queued ack costs about
// 1 KiB of receive buffer, and a datagram larger than the send buffer is refused (EMSGSIZE).
void sizeBuffers(int fd, size_t messages, size_t bytes) {
  int rcv = static_cast<int>(std::min<size_t>((messages + 64) * 1024, 64u << 20));
  int snd = static_cast<int>(std::min<size_t>(bytes + 4096, 256u << 20));
  // The FORCE variants pass the sysctl limits (we are root); the plain ones are the fallback.
  if (rcv > (1 << 20) && setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof rcv) < 0) {
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
  }
  if (snd > (200 << 10) && setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &snd, sizeof snd) < 0) {
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &snd, sizeof snd);
  }
}

}  // namespace

NlRequest nfRequest(uint8_t subsys, uint8_t msg, uint16_t flags, uint8_t family) {
  return nfMessage(static_cast<uint16_t>(subsys << 8 | msg), flags, family, 0);
}

const char* nfMessageName(uint16_t type) {
  uint8_t subsys = type >> 8, msg = type & 0xff;
  if (type == NFNL_MSG_BATCH_BEGIN) return "NFNL_MSG_BATCH_BEGIN";
  if (type == NFNL_MSG_BATCH_END) return "NFNL_MSG_BATCH_END";
  if (subsys == NFNL_SUBSYS_NFTABLES && msg < sizeof kNftNames / sizeof kNftNames[0]) return kNftNames[msg];
  if (subsys == NFNL_SUBSYS_CTNETLINK) {
    switch (msg) {
      case IPCTNL_MSG_CT_NEW: return "IPCTNL_MSG_CT_NEW";
      case IPCTNL_MSG_CT_GET: return "IPCTNL_MSG_CT_GET";
      case IPCTNL_MSG_CT_DELETE: return "IPCTNL_MSG_CT_DELETE";
      default: break;
    }
  }
  return "netlink";
}

void putBe16(NlRequest& req, uint16_t type, uint16_t v) { req.putU16(type, htobe16(v)); }
void putBe32(NlRequest& req, uint16_t type, uint32_t v) { req.putU32(type, htobe32(v)); }
void putBe64(NlRequest& req, uint16_t type, uint64_t v) {
  uint64_t be = htobe64(v);
  req.put(type, &be, sizeof be);
}

// The attribute's payload as a raw (still big-endian) integer, or nothing if it is too short.
template <class T>
std::optional<T> rawInt(const NlAttrs& attrs, uint16_t type) {
  const rtattr* a = attrs.get(type);
  if (!a || NlAttrs::payloadLen(a) < sizeof(T)) return std::nullopt;
  T v;
  std::memcpy(&v, NlAttrs::payload(a), sizeof v);
  return v;
}

uint16_t be16(const NlAttrs& attrs, uint16_t type, uint16_t def) {
  auto v = rawInt<uint16_t>(attrs, type);
  return v ? be16toh(*v) : def;
}

uint32_t be32(const NlAttrs& attrs, uint16_t type, uint32_t def) {
  auto v = rawInt<uint32_t>(attrs, type);
  return v ? be32toh(*v) : def;
}

uint64_t be64(const NlAttrs& attrs, uint16_t type, uint64_t def) {
  auto v = rawInt<uint64_t>(attrs, type);
  return v ? be64toh(*v) : def;
}

std::vector<uint8_t> bytesOf(const NlAttrs& attrs, uint16_t type) {
  const rtattr* a = attrs.get(type);
  if (!a) return {};
  auto* p = static_cast<const uint8_t*>(NlAttrs::payload(a));
  return std::vector<uint8_t>(p, p + NlAttrs::payloadLen(a));
}

void nfBatchAnswer(const nlmsghdr* h, uint32_t first, const std::vector<NlRequest>& msgs, const std::vector<std::string>& objects,
                   size_t& acked, std::optional<KernelError>& failure) {
  if (h->nlmsg_type != NLMSG_ERROR || h->nlmsg_seq < first || h->nlmsg_seq > first + msgs.size() + 1) return;
  const nlmsgerr* e = nlPayload<nlmsgerr>(h);
  if (e->error == 0) {
    acked++;
    return;
  }
  if (failure) return;                                       // answers come in message order: the first refusal is the one to report
  long index = static_cast<long>(h->nlmsg_seq - first) - 1;  // -1: the batch itself
  bool inBatch = index >= 0 && static_cast<size_t>(index) < msgs.size();
  // INT_MIN has no positive errno; anything outside -4095..-1 is a malformed answer.
  int err = e->error < -4095 || e->error > 0 ? EBADMSG : -e->error;
  failure.emplace(err, inBatch ? nfMessageName(msgs[index].type()) : "NFNL_MSG_BATCH_BEGIN",
                  inBatch ? objects.at(index) : "nf_tables batch", nlExtack(h));
  failure->command = inBatch ? index : -1;
}

void nfTransaction(NlSocket& socket, std::vector<NlRequest>& msgs, const std::vector<std::string>& objects) {
  if (msgs.empty()) return;
  int fd = socket.fd();
  int one = 1;
  // Errors without a copy of the refused message: a batch may be large.
  setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);

  NlRequest begin = nfMessage(NFNL_MSG_BATCH_BEGIN, 0, AF_UNSPEC, NFNL_SUBSYS_NFTABLES);
  NlRequest end = nfMessage(NFNL_MSG_BATCH_END, 0, AF_UNSPEC, NFNL_SUBSYS_NFTABLES);
  uint32_t first = socket.takeSeq(static_cast<uint32_t>(msgs.size() + 2));
  std::vector<uint8_t> out;
  auto append = [&](NlRequest& r, uint32_t seq) {
    r.hdr()->nlmsg_seq = seq;
    out.insert(out.end(), r.data(), r.data() + r.size());
  };
  append(begin, first);
  for (size_t i = 0; i < msgs.size(); i++) {
    msgs[i].hdr()->nlmsg_flags |= NLM_F_ACK;
    append(msgs[i], first + 1 + static_cast<uint32_t>(i));
  }
  append(end, first + 1 + static_cast<uint32_t>(msgs.size()));
  sizeBuffers(fd, msgs.size(), out.size());

  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  ssize_t n;
  do {
    n = ::sendto(fd, out.data(), out.size(), 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel);
  } while (n < 0 && errno == EINTR);
  if (n < 0) throwErrno("sendmsg", "nf_tables batch");

  // The kernel runs the whole batch inside sendmsg, so every answer is queued by now: read them
  // without waiting. The first refusal names the failed message; the ones after it do not matter.
  size_t acked = 0;
  std::optional<KernelError> failure;
  RxBuffer buf;
  drainAnswers(socket, buf, [&](const nlmsghdr* h) { nfBatchAnswer(h, first, msgs, objects, acked, failure); });
  if (failure) throw *failure;
  if (acked != msgs.size()) {
    throw KernelError(EPROTO, "NFNL_MSG_BATCH_END",
                      "nf_tables batch (" + std::to_string(acked) + " of " + std::to_string(msgs.size()) + " messages acknowledged)");
  }
}

}  // namespace cnm
