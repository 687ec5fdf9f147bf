#include "dns-redirect.h"

// glibc's netinet/in.h before the kernel's headers, which then leave its definitions alone.
#include <netinet/in.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

namespace cnm {

namespace {

const std::vector<uint8_t> kResolverAddress = {127, 0, 0, 11};

NftExpr load(NftExprKind kind, uint32_t key, uint32_t reg) {
  NftExpr e;
  e.kind = kind;
  e.key = key;
  e.dreg = reg;
  return e;
}

NftExpr payload(uint32_t base, uint32_t offset, uint32_t len) {
  NftExpr e;
  e.kind = NftExprKind::Payload;
  e.base = base;
  e.offset = offset;
  e.len = len;
  e.dreg = NFT_REG32_00;
  return e;
}

NftExpr equals(std::vector<uint8_t> data) {
  NftExpr e;
  e.kind = NftExprKind::Cmp;
  e.op = NFT_CMP_EQ;
  e.sreg = NFT_REG32_00;
  e.data = std::move(data);
  return e;
}

NftExpr immediate(uint32_t reg, std::vector<uint8_t> data) {
  NftExpr e;
  e.kind = NftExprKind::Immediate;
  e.dreg = reg;
  e.data = std::move(data);
  return e;
}

std::vector<uint8_t> portBytes(uint16_t port) { return {static_cast<uint8_t>(port >> 8), static_cast<uint8_t>(port & 0xff)}; }

// nft's `meta nfproto ipv4 ip daddr 127.0.0.11 meta l4proto P P dport 53 dnat ip to 127.0.0.11:PORT`.
std::vector<NftExpr> redirectRule(uint8_t protocol, uint16_t port) {
  NftExpr nat;
  nat.kind = NftExprKind::Nat;
  nat.natType = NFT_NAT_DNAT;
  nat.natFamily = NFPROTO_IPV4;
  nat.addrMin = NFT_REG32_00;
  nat.protoMin = NFT_REG32_01;
  return {
      load(NftExprKind::Meta, NFT_META_NFPROTO, NFT_REG32_00),
      equals({NFPROTO_IPV4}),
      payload(NFT_PAYLOAD_NETWORK_HEADER, 16, 4),  // the IPv4 destination
      equals(kResolverAddress),
      load(NftExprKind::Meta, NFT_META_L4PROTO, NFT_REG32_00),
      equals({protocol}),
      payload(NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2),  // the destination port
      equals(portBytes(53)),
      immediate(NFT_REG32_00, kResolverAddress),
      immediate(NFT_REG32_01, portBytes(port)),
      nat,
  };
}

}  // namespace

std::vector<NftCommand> dnsRedirectCommands(const std::string& table, uint16_t udpPort, uint16_t tcpPort) {
  auto command = [&](NftCmdKind kind) {
    NftCommand c;
    c.kind = kind;
    c.family = NFPROTO_INET;
    c.table = table;
    return c;
  };
  NftCommand chain = command(NftCmdKind::AddChain);
  chain.chain = "output";
  chain.base = NftBaseChain{"nat", NF_INET_LOCAL_OUT, -100, NF_ACCEPT};
  std::vector<NftCommand> commands = {command(NftCmdKind::AddTable), command(NftCmdKind::FlushTable), chain};
  for (auto [protocol, port] : {std::pair<uint8_t, uint16_t>{IPPROTO_UDP, udpPort}, {IPPROTO_TCP, tcpPort}}) {
    NftCommand rule = command(NftCmdKind::AddRule);
    rule.chain = "output";
    rule.exprs = redirectRule(protocol, port);
    commands.push_back(std::move(rule));
  }
  return commands;
}

}  // namespace cnm
