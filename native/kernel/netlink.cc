#include "netlink.h"

#include <sys/socket.h>

#include <cerrno>

#include "error.h"
#include "nfnetlink.h"

#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif
#ifndef NETLINK_GET_STRICT_CHK
#define NETLINK_GET_STRICT_CHK 12
#endif

namespace cnm {

NlRequest::NlRequest(uint16_t type, uint16_t flags) : type_(type) {
  buf_.reserve(512);
  append(nullptr, NLMSG_HDRLEN);
  nlmsghdr* h = hdr();
  h->nlmsg_type = type;
  h->nlmsg_flags = NLM_F_REQUEST | flags;
}

size_t NlRequest::append(const void* data, size_t len) {
  size_t off = buf_.size();
  buf_.resize(off + NLMSG_ALIGN(len), 0);
  if (data) std::memcpy(buf_.data() + off, data, len);
  hdr()->nlmsg_len = buf_.size();
  return off;
}

void NlRequest::put(uint16_t type, const void* data, size_t len) {
  rtattr a{};
  a.rta_type = type;
  a.rta_len = RTA_LENGTH(len);
  append(&a, sizeof a);
  append(data, len);
}

size_t NlRequest::beginNested(uint16_t type) {
  rtattr a{};
  a.rta_type = type;
  return append(&a, sizeof a);
}

void NlRequest::endNested(size_t offset) {
  auto* a = reinterpret_cast<rtattr*>(buf_.data() + offset);
  a->rta_len = buf_.size() - offset;
}

NlAttrs::NlAttrs(const void* data, size_t len) {
  auto* a = static_cast<const rtattr*>(data);
  int remaining = static_cast<int>(len);
  for (; RTA_OK(a, remaining); a = RTA_NEXT(a, remaining)) {
    uint16_t type = a->rta_type & NLA_TYPE_MASK;
    if (type >= byType_.size()) byType_.resize(type + 1, nullptr);
    byType_[type] = a;
  }
}

const rtattr* NlAttrs::get(uint16_t type) const { return type < byType_.size() ? byType_[type] : nullptr; }

uint8_t NlAttrs::u8(uint16_t type, uint8_t def) const {
  const rtattr* a = get(type);
  return a && RTA_PAYLOAD(a) >= 1 ? *static_cast<const uint8_t*>(RTA_DATA(a)) : def;
}

uint32_t NlAttrs::u32(uint16_t type, uint32_t def) const {
  const rtattr* a = get(type);
  if (!a || RTA_PAYLOAD(a) < 4) return def;
  uint32_t v;
  std::memcpy(&v, RTA_DATA(a), 4);
  return v;
}

std::string NlAttrs::str(uint16_t type) const {
  const rtattr* a = get(type);
  if (!a) return "";
  return std::string(static_cast<const char*>(RTA_DATA(a)), strnlen(static_cast<const char*>(RTA_DATA(a)), RTA_PAYLOAD(a)));
}

NlAttrs NlAttrs::nested(uint16_t type) const {
  const rtattr* a = get(type);
  return a ? NlAttrs(RTA_DATA(a), RTA_PAYLOAD(a)) : NlAttrs(nullptr, 0);
}

const char* nlMessageName(uint16_t type) {
  switch (type) {
    case RTM_NEWLINK: return "RTM_NEWLINK";
    case RTM_DELLINK: return "RTM_DELLINK";
    case RTM_GETLINK: return "RTM_GETLINK";
    case RTM_SETLINK: return "RTM_SETLINK";
    case RTM_NEWADDR: return "RTM_NEWADDR";
    case RTM_DELADDR: return "RTM_DELADDR";
    case RTM_GETADDR: return "RTM_GETADDR";
    case RTM_NEWROUTE: return "RTM_NEWROUTE";
    case RTM_DELROUTE: return "RTM_DELROUTE";
    case RTM_GETROUTE: return "RTM_GETROUTE";
    default: return nfMessageName(type);
  }
}

NlSocket NlSocket::open(int protocol) {
  const char* what = protocol == NETLINK_ROUTE ? "NETLINK_ROUTE" : protocol == NETLINK_NETFILTER ? "NETLINK_NETFILTER" : "netlink";
  Fd fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol));
  if (!fd.valid()) throwErrno("socket", what);
  int one = 1;
  // Both are best effort: older kernels lack them and requests still work.
  setsockopt(fd.get(), SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
  setsockopt(fd.get(), SOL_NETLINK, NETLINK_GET_STRICT_CHK, &one, sizeof one);
  sockaddr_nl local{};
  local.nl_family = AF_NETLINK;
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&local), sizeof local) < 0) throwErrno("bind", what);
  int rcvbuf = 1 << 20;
  setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  return NlSocket(std::move(fd));
}

void NlSocket::send(NlRequest& req) {
  req.hdr()->nlmsg_seq = ++seq_;
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  ssize_t n;
  do {
    n = ::sendto(fd_.get(), req.data(), req.size(), 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel);
  } while (n < 0 && errno == EINTR);
  if (n < 0) throwErrno("sendto", nlMessageName(req.type()));
}

std::string nlExtack(const nlmsghdr* h) {
  if (!(h->nlmsg_flags & NLM_F_ACK_TLVS) || h->nlmsg_len < NLMSG_SPACE(sizeof(nlmsgerr))) return "";
  auto* e = static_cast<const nlmsgerr*>(NLMSG_DATA(h));
  // The attributes follow the error and, unless capped, a copy of the refused request.
  size_t off = sizeof(nlmsgerr);
  if (!(h->nlmsg_flags & NLM_F_CAPPED)) {
    if (e->msg.nlmsg_len < NLMSG_HDRLEN) return "";
    off += e->msg.nlmsg_len - NLMSG_HDRLEN;
  }
  size_t total = h->nlmsg_len - NLMSG_HDRLEN;
  if (NLMSG_ALIGN(off) >= total) return "";
  NlAttrs attrs(reinterpret_cast<const uint8_t*>(e) + NLMSG_ALIGN(off), total - NLMSG_ALIGN(off));
  return attrs.str(NLMSGERR_ATTR_MSG);
}

bool nlReadAnswers(const uint8_t* data, size_t len, uint32_t seq, uint16_t type, const std::string& object,
                   const std::function<void(const nlmsghdr*)>& each) {
  int left = static_cast<int>(len);
  for (auto* h = reinterpret_cast<const nlmsghdr*>(data); NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
    if (h->nlmsg_seq != seq) continue;  // a late answer to an earlier request
    if (h->nlmsg_type == NLMSG_DONE) return true;
    if (h->nlmsg_type == NLMSG_ERROR) {
      const nlmsgerr* e = nlPayload<nlmsgerr>(h);
      if (e->error == 0) return true;  // the ACK
      // INT_MIN has no positive errno; anything outside 1..4095 is a malformed answer.
      if (e->error < -4095 || e->error > 0) throw KernelError(EBADMSG, nlMessageName(type), object);
      throw KernelError(-e->error, nlMessageName(type), object, nlExtack(h));
    }
    if (each) each(h);
  }
  return false;
}

void NlSocket::receive(uint32_t seq, const NlRequest& req, const std::string& object, const std::function<void(const nlmsghdr*)>& each) {
  for (;;) {
    ssize_t n = ::recv(fd_.get(), rxbuf_.data(), rxbuf_.size(), MSG_TRUNC);
    if (n < 0) {
      if (errno == EINTR) continue;
      throwErrno("recv", nlMessageName(req.type()));
    }
    if (static_cast<size_t>(n) > rxbuf_.size()) {
      // A datagram larger than the buffer was cut; netlink never does this with 64 KiB, but be loud.
      throw KernelError(EMSGSIZE, nlMessageName(req.type()), object);
    }
    if (nlReadAnswers(rxbuf_.data(), static_cast<size_t>(n), seq, req.type(), object, each)) return;
  }
}

std::optional<uint32_t> NlSocket::knownIndex(const std::string& name) const {
  auto it = ifindexes_.find(name);
  if (it == ifindexes_.end()) return std::nullopt;
  return it->second;
}

void NlSocket::request(NlRequest& req, const std::string& object, const std::function<void(const nlmsghdr*)>& reply) {
  if (req.type() == RTM_NEWLINK || req.type() == RTM_DELLINK || req.type() == RTM_SETLINK) forgetIndexes();
  req.hdr()->nlmsg_flags |= NLM_F_ACK;
  send(req);
  receive(seq_, req, object, reply);
}

void NlSocket::dump(NlRequest& req, const std::function<void(const nlmsghdr*)>& each) {
  req.hdr()->nlmsg_flags |= NLM_F_DUMP;
  send(req);
  receive(seq_, req, nlMessageName(req.type()), each);
}

}  // namespace cnm
