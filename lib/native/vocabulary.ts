// The fixed word lists of the native boundary, each written once. The types in types.ts and
// nft-types.ts derive from them, and the validators check input against the same lists.

/** The smallest MTU on which the kernel gives a link IPv6 (RFC 8200's minimum link MTU). */
export const IPV6_MIN_MTU = 1280;

export const LINK_KINDS = ['bridge', 'veth', 'macvlan', 'vxlan'] as const;
export const MACVLAN_MODES = ['private', 'vepa', 'bridge', 'passthru'] as const;
export const ADDR_GEN_MODES = ['none', 'eui64', 'stable_secret', 'random'] as const;
export const ROUTE_SCOPES = ['global', 'site', 'link', 'host'] as const;
export const PORT_PROTOCOLS = ['tcp', 'udp', 'sctp'] as const;

export const NFT_FAMILIES = ['inet', 'ip', 'ip6', 'bridge'] as const;
export const NFT_HOOKS = ['prerouting', 'input', 'forward', 'output', 'postrouting'] as const;
export const NFT_CHAIN_TYPES = ['filter', 'nat', 'route'] as const;
export const NFT_POLICIES = ['accept', 'drop'] as const;
export const NFT_SET_TYPES = ['ipv4_addr', 'ipv6_addr', 'ether_addr', 'inet_proto', 'inet_service', 'mark', 'ifname'] as const;
export const NFT_SET_FLAGS = ['interval', 'constant', 'timeout'] as const;
export const NFT_META_KEYS = [
  'len',
  'protocol',
  'mark',
  'iif',
  'oif',
  'iifname',
  'oifname',
  'iiftype',
  'oiftype',
  'nfproto',
  'l4proto',
  'pkttype',
  'skuid',
  'skgid',
  'priority',
  'iifgroup',
  'oifgroup',
] as const;
export const NFT_CT_KEYS = [
  'state',
  'direction',
  'status',
  'mark',
  'expiration',
  'l3proto',
  'protocol',
  'src',
  'dst',
  'proto-src',
  'proto-dst',
  'saddr-ip',
  'daddr-ip',
  'saddr-ip6',
  'daddr-ip6',
  'zone',
] as const;
export const NFT_CMP_OPS = ['eq', 'neq', 'lt', 'lte', 'gt', 'gte'] as const;
export const NFT_PAYLOAD_BASES = ['link', 'network', 'transport'] as const;
export const NFT_NAT_FLAGS = ['random', 'fully-random', 'persistent'] as const;
export const NFT_CT_DIRECTIONS = ['original', 'reply'] as const;
export const NFT_FIB_RESULTS = ['oif', 'oifname', 'type'] as const;
export const NFT_FIB_FLAGS = ['saddr', 'daddr', 'mark', 'iif', 'oif'] as const;
export const NFT_NAT_TYPES = ['snat', 'dnat'] as const;
export const NFT_NAT_FAMILIES = ['ip', 'ip6'] as const;
export const NFT_REJECT_TYPES = ['tcp-reset', 'icmp', 'icmpx'] as const;
/** The verdicts that end or continue evaluation here, and the two that name a chain. */
export const NFT_PLAIN_VERDICTS = ['accept', 'drop', 'return', 'continue'] as const;
export const NFT_CHAIN_VERDICTS = ['jump', 'goto'] as const;

/** Whether `value` is one of the words of `list` (narrowing it to the list's type). */
export function isOneOf<T extends string>(list: readonly T[], value: unknown): value is T {
  return (list as readonly unknown[]).includes(value);
}

/** The words as English lists them: "tcp, udp or sctp". */
export function orList(list: readonly string[]): string {
  return list.length < 2 ? list.join('') : `${list.slice(0, -1).join(', ')} or ${list[list.length - 1]}`;
}
