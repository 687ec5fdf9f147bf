// libFuzzer target for the netlink reply parsers (npm run fuzz, test/fuzz/run.js). An input is one
// datagram as recv() hands it to NlSocket: rtnetlink link, address and route dumps, nf_tables list
// dumps, ACKs and errors with extended acks, batch answers. The answer reader walks it, and every
// message in it is copied into a heap buffer of exactly its own length before each parser reads
// it, so that AddressSanitizer reports a read past the message (inside the 64 KiB receive buffer
// such a read stays invisible). Plain C++ over the kernel layer: no Node headers.
#include <linux/netfilter/nf_tables.h>

#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "../kernel/address.h"
#include "../kernel/error.h"
#include "../kernel/link.h"
#include "../kernel/netlink.h"
#include "../kernel/nfnetlink.h"
#include "../kernel/nftlist.h"
#include "../kernel/route.h"

namespace {

using namespace cnm;

// A string attribute of an nf_tables message (the table or chain a list is filtered by), so that
// the filters let the message through to the rest of the parser.
std::string nftString(const nlmsghdr* h, uint16_t type) {
  try {
    return nlAttrsAfter<nfgenmsg>(h).str(type);
  } catch (const KernelError&) {
    return "";
  }
}

// Runs `parse`; a KernelError (EBADMSG for a message cut short) is an answer, not a failure.
template <class F>
void attempt(F parse) {
  try {
    parse();
  } catch (const KernelError&) {
  }
}

// Every parser on one message, which sits alone in a buffer of exactly its length.
void parseMessage(const nlmsghdr* h) {
  static const std::map<uint32_t, std::string> names = {{1, "lo"}, {2, "eth0"}};
  attempt([&] {
    if (h->nlmsg_type == RTM_NEWLINK) parseLink(h);
  });
  attempt([&] { parseAddress(h); });
  attempt([&] { parseRoute(h, RT_TABLE_MAIN, names); });
  attempt([&] { parseRoute(h, RT_TABLE_LOCAL, names); });
  attempt([&] { nlExtack(h); });
  attempt([&] { nftParseTable(h); });
  attempt([&] { nftParseChain(h, nftString(h, NFTA_CHAIN_TABLE)); });
  attempt([&] { nftParseRule(h, nftString(h, NFTA_RULE_TABLE), nftString(h, NFTA_RULE_CHAIN)); });
  attempt([&] { nftParseRule(h, nftString(h, NFTA_RULE_TABLE), ""); });
  attempt([&] { nftParseSet(h, nftString(h, NFTA_SET_TABLE)); });
  attempt([&] {
    std::vector<NftElementInfo> elements;
    nftParseElements(h, elements);
  });
  attempt([&] {
    // A batch of two messages numbered from just before this answer's.
    static std::vector<NlRequest> msgs = {NlRequest(NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_NEWTABLE, 0),
                                          NlRequest(NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_NEWCHAIN, 0)};
    static const std::vector<std::string> objects = {"table", "chain"};
    size_t acked = 0;
    std::optional<KernelError> failure;
    nfBatchAnswer(h, h->nlmsg_seq - 1, msgs, objects, acked, failure);
  });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // libFuzzer's input is a heap buffer of exactly `size` bytes already.
  uint32_t seq = 0;
  if (size >= sizeof(nlmsghdr)) std::memcpy(&seq, data + offsetof(nlmsghdr, nlmsg_seq), sizeof seq);
  attempt([&] {
    nlReadAnswers(data, size, seq, RTM_GETLINK, "fuzz", [](const nlmsghdr* h) {
      std::vector<uint8_t> copy(reinterpret_cast<const uint8_t*>(h), reinterpret_cast<const uint8_t*>(h) + h->nlmsg_len);
      parseMessage(reinterpret_cast<const nlmsghdr*>(copy.data()));
    });
  });
  // Errors and ACKs end the reader's walk; the parsers see those messages too.
  int left = static_cast<int>(size);
  for (auto* h = reinterpret_cast<const nlmsghdr*>(data); NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
    if (h->nlmsg_type != NLMSG_ERROR && h->nlmsg_type != NLMSG_DONE) continue;
    std::vector<uint8_t> copy(reinterpret_cast<const uint8_t*>(h), reinterpret_cast<const uint8_t*>(h) + h->nlmsg_len);
    parseMessage(reinterpret_cast<const nlmsghdr*>(copy.data()));
  }
  return 0;
}
