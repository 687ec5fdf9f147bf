// A netlink request builder, a reply parser and a NETLINK_ROUTE socket.
#pragma once

#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "error.h"
#include "fd.h"

namespace cnm {

// One netlink message under construction: header, fixed family struct, attributes.
class NlRequest {
 public:
  NlRequest(uint16_t type, uint16_t flags);

  // Appends the fixed family header (ifinfomsg, ifaddrmsg, rtmsg) and returns it for filling in.
  // The pointer is valid only until the next attribute is added (the buffer may grow).
  template <class T>
  T* header() {
    size_t off = append(nullptr, NLMSG_ALIGN(sizeof(T)));
    return reinterpret_cast<T*>(buf_.data() + off);
  }

  void put(uint16_t type, const void* data, size_t len);
  void putU8(uint16_t type, uint8_t v) { put(type, &v, sizeof v); }
  void putU16(uint16_t type, uint16_t v) { put(type, &v, sizeof v); }
  void putU32(uint16_t type, uint32_t v) { put(type, &v, sizeof v); }
  void putString(uint16_t type, const std::string& s) { put(type, s.c_str(), s.size() + 1); }

  // Opens a nested attribute; returns its offset for endNested().
  size_t beginNested(uint16_t type);
  void endNested(size_t offset);

  nlmsghdr* hdr() { return reinterpret_cast<nlmsghdr*>(buf_.data()); }
  const uint8_t* data() const { return buf_.data(); }
  size_t size() const { return buf_.size(); }
  uint16_t type() const { return type_; }

 private:
  size_t append(const void* data, size_t len);
  std::vector<uint8_t> buf_;
  uint16_t type_;
};

// Attributes of one message, indexed by type (the last occurrence wins).
class NlAttrs {
 public:
  NlAttrs(const void* data, size_t len);
  const rtattr* get(uint16_t type) const;
  bool has(uint16_t type) const { return get(type) != nullptr; }
  uint8_t u8(uint16_t type, uint8_t def = 0) const;
  uint32_t u32(uint16_t type, uint32_t def = 0) const;
  std::string str(uint16_t type) const;
  // The payload of a nested attribute, parsed in turn.
  NlAttrs nested(uint16_t type) const;
  static const void* payload(const rtattr* a) { return RTA_DATA(a); }
  static size_t payloadLen(const rtattr* a) { return RTA_PAYLOAD(a); }

 private:
  std::vector<const rtattr*> byType_;
};

// The name a message type has in errors ("RTM_NEWLINK", "NFT_MSG_NEWRULE").
const char* nlMessageName(uint16_t type);

// The kernel's extended-ack text (NLMSGERR_ATTR_MSG) of an NLMSG_ERROR message, or "".
std::string nlExtack(const nlmsghdr* h);

// The fixed header (ifinfomsg, rtmsg, nfgenmsg, nlmsgerr, ...) that follows the netlink header of
// a received message. Throws KernelError EBADMSG if the message is too short to hold it.
template <class T>
const T* nlPayload(const nlmsghdr* h) {
  if (h->nlmsg_len < NLMSG_SPACE(sizeof(T))) throw KernelError(EBADMSG, nlMessageName(h->nlmsg_type), "a reply cut short");
  return static_cast<const T*>(NLMSG_DATA(h));
}

// The attributes that follow that fixed header.
template <class T>
NlAttrs nlAttrsAfter(const nlmsghdr* h) {
  const T* fixed = nlPayload<T>(h);
  return NlAttrs(reinterpret_cast<const uint8_t*>(fixed) + NLMSG_ALIGN(sizeof(T)), h->nlmsg_len - NLMSG_SPACE(sizeof(T)));
}

// Reads one received datagram of answers to the request numbered `seq` (of type `type`, acting on
// `object`): calls `each` with every data message, skips answers to other requests, and returns
// true once the answer is complete (the ACK, or NLMSG_DONE of a dump). Throws KernelError for an
// NLMSG_ERROR, and EBADMSG for an error message cut short.
bool nlReadAnswers(const uint8_t* data, size_t len, uint32_t seq, uint16_t type, const std::string& object,
                   const std::function<void(const nlmsghdr*)>& each);

// A buffer for netlink answers, allocated on first use and not zero-filled: the kernel writes
// what it sends, so only the pages an answer reaches are ever faulted in. Zeroing 64 KiB cost 16
// page faults per new socket (a namespace's first request), about 12 µs each on a virtual machine.
class RxBuffer {
 public:
  static constexpr size_t kSize = 64 * 1024;
  uint8_t* data() {
    if (!bytes_) bytes_.reset(new uint8_t[kSize]);
    return bytes_.get();
  }
  size_t size() const { return kSize; }

 private:
  std::unique_ptr<uint8_t[]> bytes_;
};

// A netlink socket (NETLINK_ROUTE unless told otherwise). Its network namespace is the one of the thread that opened it, for good;
// any thread may use it afterwards.
class NlSocket {
 public:
  // Opens a socket in the calling thread's network namespace.
  static NlSocket open(int protocol = NETLINK_ROUTE);

  // Sends a request with NLM_F_ACK and waits for the kernel's answer. Throws KernelError naming
  // `object` on failure. `reply`, if given, receives every data message of the answer.
  void request(NlRequest& req, const std::string& object, const std::function<void(const nlmsghdr*)>& reply = nullptr);

  // Sends a dump request and calls `each` for every message of the answer.
  void dump(NlRequest& req, const std::function<void(const nlmsghdr*)>& each);

  int fd() const { return fd_.get(); }

  // Reserves `count` consecutive sequence numbers (a batch of messages) and returns the first.
  uint32_t takeSeq(uint32_t count) {
    uint32_t first = seq_ + 1;
    seq_ += count;
    return first;
  }

  // A memo of interface indexes looked up on this socket, so that one batch looks each name up
  // once. Any link change sent on the socket forgets it; a batch starts with it empty.
  std::optional<uint32_t> knownIndex(const std::string& name) const;
  void rememberIndex(const std::string& name, uint32_t index) { ifindexes_[name] = index; }
  void forgetIndexes() { ifindexes_.clear(); }

 private:
  explicit NlSocket(Fd fd) : fd_(std::move(fd)) {}
  void send(NlRequest& req);
  // Reads the answers to `seq` until the ACK (or NLMSG_DONE of a dump).
  void receive(uint32_t seq, const NlRequest& req, const std::string& object, const std::function<void(const nlmsghdr*)>& each);

  Fd fd_;
  uint32_t seq_ = 0;
  RxBuffer rxbuf_;
  std::map<std::string, uint32_t> ifindexes_;
};

}  // namespace cnm
