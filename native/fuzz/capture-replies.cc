// Captures real kernel replies as the fuzz target's seed corpus (test/fuzz/capture.sh runs it once,
// inside a namespace it has filled with links, addresses, routes and nf_tables objects; the files
// are committed under test/fuzz/corpus/). Each received datagram becomes one file, named after
// the request. Plain C++ over the kernel layer's request builder.
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "../kernel/netlink.h"
#include "../kernel/nfnetlink.h"

namespace {

using namespace cnm;

std::string outDir;

int openSocket(int protocol) {
  int fd = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol);
  int one = 1;
  setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
  sockaddr_nl local{};
  local.nl_family = AF_NETLINK;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) < 0) {
    std::perror("netlink socket");
    std::exit(1);
  }
  return fd;
}

void save(const std::string& name, int index, const uint8_t* data, size_t len) {
  std::ofstream(outDir + "/" + name + "-" + std::to_string(index), std::ios::binary).write(reinterpret_cast<const char*>(data), len);
}

// Sends `bytes` and saves every datagram of the answer until NLMSG_DONE or an error/ACK (or, with
// `drain`, until nothing more is queued: the answers of a batch).
void capture(int protocol, const std::string& name, const std::vector<uint8_t>& bytes, bool drain = false) {
  int fd = openSocket(protocol);
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (::sendto(fd, bytes.data(), bytes.size(), 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) < 0) std::perror(name.c_str());
  std::vector<uint8_t> buf(64 * 1024);
  for (int i = 0;; i++) {
    ssize_t n = ::recv(fd, buf.data(), buf.size(), drain && i > 0 ? MSG_DONTWAIT : 0);
    if (n <= 0) break;
    save(name, i, buf.data(), static_cast<size_t>(n));
    bool done = false;
    int left = static_cast<int>(n);
    for (auto* h = reinterpret_cast<const nlmsghdr*>(buf.data()); NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
      if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR) done = true;
    }
    if (done && !drain) break;
  }
  ::close(fd);
}

std::vector<uint8_t> bytesOf(NlRequest& req, uint32_t seq) {
  req.hdr()->nlmsg_seq = seq;
  return std::vector<uint8_t>(req.data(), req.data() + req.size());
}

std::vector<uint8_t> dump(uint16_t type, uint8_t family) {
  NlRequest req(type, NLM_F_DUMP);
  if (type == RTM_GETLINK) req.header<ifinfomsg>()->ifi_family = family;
  if (type == RTM_GETADDR) req.header<ifaddrmsg>()->ifa_family = family;
  if (type == RTM_GETROUTE) req.header<rtmsg>()->rtm_family = family;
  return bytesOf(req, 7);
}

std::vector<uint8_t> nftDump(uint8_t msg, const char* table = nullptr, uint16_t tableAttr = 0, const char* set = nullptr) {
  NlRequest req = nfRequest(NFNL_SUBSYS_NFTABLES, msg, NLM_F_DUMP, NFPROTO_INET);
  if (table) req.putString(tableAttr, table);
  if (set) req.putString(NFTA_SET_ELEM_LIST_SET, set);
  return bytesOf(req, 9);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: capture-replies OUTDIR\n");
    return 2;
  }
  outDir = argv[1];
  capture(NETLINK_ROUTE, "link-dump", dump(RTM_GETLINK, AF_UNSPEC));
  capture(NETLINK_ROUTE, "addr-dump", dump(RTM_GETADDR, AF_UNSPEC));
  capture(NETLINK_ROUTE, "route4-dump", dump(RTM_GETROUTE, AF_INET));
  capture(NETLINK_ROUTE, "route6-dump", dump(RTM_GETROUTE, AF_INET6));

  // One link by name (a reply and its ACK), and one that is not there (an error).
  NlRequest get(RTM_GETLINK, NLM_F_ACK);
  get.header<ifinfomsg>()->ifi_family = AF_UNSPEC;
  get.putString(IFLA_IFNAME, "fz-br");
  capture(NETLINK_ROUTE, "link-get", bytesOf(get, 11));
  NlRequest missing(RTM_GETLINK, NLM_F_ACK);
  missing.header<ifinfomsg>()->ifi_family = AF_UNSPEC;
  missing.putString(IFLA_IFNAME, "fz-missing");
  capture(NETLINK_ROUTE, "link-get-missing", bytesOf(missing, 12));

  // Refusals with an extended ack: a veth without a peer name's room, an IPv4 route with /40.
  NlRequest badLink(RTM_NEWLINK, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
  badLink.header<ifinfomsg>()->ifi_family = AF_UNSPEC;
  badLink.putString(IFLA_IFNAME, "fz-bad");
  size_t info = badLink.beginNested(IFLA_LINKINFO);
  badLink.putString(IFLA_INFO_KIND, "no-such-kind");
  badLink.endNested(info);
  capture(NETLINK_ROUTE, "link-new-error", bytesOf(badLink, 13));
  NlRequest badRoute(RTM_NEWROUTE, NLM_F_ACK | NLM_F_CREATE);
  rtmsg* rt = badRoute.header<rtmsg>();
  rt->rtm_family = AF_INET;
  rt->rtm_dst_len = 40;
  rt->rtm_table = RT_TABLE_MAIN;
  rt->rtm_type = RTN_UNICAST;
  uint32_t dst = 0x0a;
  badRoute.putU32(RTA_DST, dst);
  capture(NETLINK_ROUTE, "route-new-extack", bytesOf(badRoute, 14));

  capture(NETLINK_NETFILTER, "nft-tables", nftDump(NFT_MSG_GETTABLE));
  capture(NETLINK_NETFILTER, "nft-chains", nftDump(NFT_MSG_GETCHAIN));
  capture(NETLINK_NETFILTER, "nft-rules", nftDump(NFT_MSG_GETRULE, "fz", NFTA_RULE_TABLE));
  capture(NETLINK_NETFILTER, "nft-sets", nftDump(NFT_MSG_GETSET, "fz", NFTA_SET_TABLE));
  capture(NETLINK_NETFILTER, "nft-elements", nftDump(NFT_MSG_GETSETELEM, "fz", NFTA_SET_ELEM_LIST_TABLE, "ports"));
  capture(NETLINK_NETFILTER, "nft-elements-interval", nftDump(NFT_MSG_GETSETELEM, "fz", NFTA_SET_ELEM_LIST_TABLE, "nets"));

  // A batch whose second message is refused (a chain in a table that is not there): acks, an
  // error with an extended ack.
  std::vector<uint8_t> batch;
  auto append = [&](NlRequest& r, uint32_t seq) {
    std::vector<uint8_t> b = bytesOf(r, seq);
    batch.insert(batch.end(), b.begin(), b.end());
  };
  NlRequest begin = nfRequest(0, 0, 0, AF_UNSPEC);
  begin.hdr()->nlmsg_type = NFNL_MSG_BATCH_BEGIN;
  NlRequest table = nfRequest(NFNL_SUBSYS_NFTABLES, NFT_MSG_NEWTABLE, NLM_F_ACK | NLM_F_CREATE, NFPROTO_INET);
  table.putString(NFTA_TABLE_NAME, "fz2");
  NlRequest chain = nfRequest(NFNL_SUBSYS_NFTABLES, NFT_MSG_NEWCHAIN, NLM_F_ACK | NLM_F_CREATE, NFPROTO_INET);
  chain.putString(NFTA_CHAIN_TABLE, "fz-missing");
  chain.putString(NFTA_CHAIN_NAME, "c");
  NlRequest end = nfRequest(0, 0, 0, AF_UNSPEC);
  end.hdr()->nlmsg_type = NFNL_MSG_BATCH_END;
  append(begin, 20);
  append(table, 21);
  append(chain, 22);
  append(end, 23);
  // res_id of the batch messages (big-endian): the nf_tables subsystem.
  for (size_t off : {size_t(0), batch.size() - end.size()}) {
    batch[off + NLMSG_HDRLEN + 2] = 0;
    batch[off + NLMSG_HDRLEN + 3] = NFNL_SUBSYS_NFTABLES;
  }
  capture(NETLINK_NETFILTER, "nft-batch-error", batch, true);
  return 0;
}
