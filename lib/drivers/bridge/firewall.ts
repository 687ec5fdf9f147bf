// The bridge driver's firewall as nf_tables commands: a table of the controller's own in the inet
// family (masquerade, published ports, no way into a bridge from outside but those, internal
// networks, isolation between networks) and one in the bridge family (inter-container communication
// off; the IPv6 control messages a container sends to the whole link stop at its port). Networks
// change the rules; endpoints only add and remove set and map elements, so the k-th published port
// costs what the first did.
import { nftExpr as x, nftValue as v, type NftCommand, type NftElement, type NftExpr, type PortProtocol } from '../../native';
import type { Family } from '../../util/ip';
import type { GatewayMode } from './options';
import { OWNED_GROUP_BIT, ownerGroup } from './ownership';
import { ANY_ADDRESS, familyOf } from './ports';

export interface FirewallNetwork {
  bridge: string;
  /** The IPv4 and IPv6 subnets with a gateway on the bridge ("172.18.0.0/16", "fd00:1::/64"): each one is masqueraded. */
  subnets: string[];
  internal: boolean;
  masquerade: boolean;
  /** Per family, Docker's gateway mode (see GATEWAY_MODES). */
  modes: Record<4 | 6, GatewayMode>;
  /** Per family, the source address outgoing traffic gets instead of masquerade. */
  snat: Partial<Record<4 | 6, string>>;
}

/**
 * A published port: traffic to hostIP:hostPort (0.0.0.0 or "::": any of the host's addresses of
 * that family) goes to the container's address of the same family; or, `routed`, traffic to the
 * container's own address and port comes in (no host port).
 */
export interface FirewallPort {
  proto: PortProtocol;
  hostIP: string;
  hostPort: number;
  containerIP: string;
  containerPort: number;
  routed?: boolean;
}

/** What the host's own forwarding gets from the firewall. */
export interface FirewallHost {
  /**
   * The families (IPv4, IPv6) whose forwarding that neither comes from nor goes to a cnm-ts device
   * (of any controller: their link groups carry OWNED_GROUP_BIT) is dropped: cnm-ts switched their
   * forwarding on, and the host is not a router for them.
   */
  dropOtherForwardingFor: Family[];
}

/** The controller's table name, in both families. */
export const tableName = (owner: string): string => `cnm-ts-${owner}`;

// Sets and maps of the inet table.
const BRIDGES = 'bridges';
/** Per family: (host address . inet_proto . inet_service) to (container address . inet_service). */
const HOST_PORTS = { 4: 'hostports', 6: 'hostports6' } as const;
/** Per family: (inet_proto . inet_service) to (container address . inet_service), for the any-address. */
const ANY_PORTS = { 4: 'anyports', 6: 'anyports6' } as const;
/** Per family: (container address . inet_proto . inet_service) let in, of routed gateway modes. */
const ROUTED_PORTS = { 4: 'routedports', 6: 'routedports6' } as const;
const ADDRESS_TYPE = { 4: 'ipv4_addr', 6: 'ipv6_addr' } as const;
/** The address's length in 32-bit registers, and where it sits in the IPv4 / IPv6 header. */
const ADDRESS = { 4: { regs: 1, len: 4, daddr: 16 }, 6: { regs: 4, len: 16, daddr: 24 } } as const;
const NAT_FAMILY = { 4: 'ip', 6: 'ip6' } as const;
const FAMILIES = [4, 6] as const;
// The bridge table's set of ports that may not talk to other ports of their bridge.
const NO_ICC = 'noicc';
/** conntrack's IPS_DST_NAT: the connection was DNATed (a published port). */
const IPS_DST_NAT = 0x20;
/** The EtherType of IPv6, as `meta protocol` loads it (network order). */
const ETH_P_IPV6 = Buffer.from([0x86, 0xdd]);
/**
 * ICMPv6 types a container's kernel sends to the whole link, for multicast routers and snooping
 * switches: MLD listener reports and done (131, 132; MLDv2 reports 143) and router solicitations
 * (133), as [first, last] ranges.
 */
const LINK_CONTROL_ICMPV6 = [
  [131, 133],
  [143, 143],
] as const;

/** Commands that replace both tables with the rules for `networks`, or remove them when there are none. */
export function rebuildCommands(
  owner: string,
  networks: FirewallNetwork[],
  ports: FirewallPort[],
  noIcc: string[],
  host: FirewallHost = { dropOtherForwardingFor: [] },
): NftCommand[] {
  const table = tableName(owner);
  const inet = { family: 'inet', table } as const;
  const bridge = { family: 'bridge', table } as const;
  // Add then delete: the tables go whether they were there or not, in one transaction, on kernels
  // without nft's "destroy" (before 6.3) too.
  const commands: NftCommand[] = [
    { cmd: 'addTable', ...inet },
    { cmd: 'deleteTable', ...inet },
    { cmd: 'addTable', ...bridge },
    { cmd: 'deleteTable', ...bridge },
  ];
  if (networks.length === 0) return commands;
  const rule = (chain: string, exprs: NftExpr[]): NftCommand => ({ cmd: 'addRule', ...inet, chain, exprs });
  commands.push(
    { cmd: 'addTable', ...inet },
    { cmd: 'addSet', ...inet, set: BRIDGES, key: 'ifname' },
    ...FAMILIES.flatMap((f): NftCommand[] => [
      { cmd: 'addSet', ...inet, set: HOST_PORTS[f], key: [ADDRESS_TYPE[f], 'inet_proto', 'inet_service'], data: [ADDRESS_TYPE[f], 'inet_service'] },
      { cmd: 'addSet', ...inet, set: ANY_PORTS[f], key: ['inet_proto', 'inet_service'], data: [ADDRESS_TYPE[f], 'inet_service'] },
      { cmd: 'addSet', ...inet, set: ROUTED_PORTS[f], key: [ADDRESS_TYPE[f], 'inet_proto', 'inet_service'] },
    ]),
    { cmd: 'addChain', ...inet, chain: 'raw', type: 'filter', hook: 'prerouting', priority: -300, policy: 'accept' },
    { cmd: 'addChain', ...inet, chain: 'prerouting', type: 'nat', hook: 'prerouting', priority: -100, policy: 'accept' },
    { cmd: 'addChain', ...inet, chain: 'output', type: 'nat', hook: 'output', priority: -100, policy: 'accept' },
    { cmd: 'addChain', ...inet, chain: 'postrouting', type: 'nat', hook: 'postrouting', priority: 100, policy: 'accept' },
    { cmd: 'addChain', ...inet, chain: 'forward', type: 'filter', hook: 'forward', priority: 0, policy: 'accept' },
  );
  // 127.0.0.0/8 comes only from lo: no other machine, and no container (route_localnet is on for
  // the bridges), may reach a port published on 127.0.0.1 or any other loopback service
  // (CVE-2020-8558). Replies to the host's own 127.x connections still carry the bridge address here.
  // IPv6 needs no rule: the kernel drops ::1 from other interfaces, and never routes it to a bridge
  // (so no port is published on ::1, see checkHostIP).
  commands.push(rule('raw', [...x.iifname('lo', { negate: true }), ...x.daddr('127.0.0.0/8', { reg: 4 }), x.drop()]));
  // Published ports: to one of the host's addresses, from outside (prerouting) or from the host (output).
  for (const chain of ['prerouting', 'output']) {
    for (const f of FAMILIES) commands.push(rule(chain, dnatByHostPort(f)), rule(chain, dnatByAnyPort(f)));
  }
  // The host reaching a container through 127.0.0.1 (a port published there): the container
  // could not answer 127.0.0.1, so the source becomes the bridge's address.
  commands.push(rule('postrouting', [...x.saddr('127.0.0.0/8'), ...oifnameIn(BRIDGES), x.masquerade()]));
  // Internal networks first: nothing in or out, not even to a published port.
  for (const n of networks.filter((net) => net.internal)) {
    commands.push(rule('forward', [...x.iifname(n.bridge), ...x.oifname(n.bridge, { negate: true }), x.drop()]));
    commands.push(rule('forward', [...x.oifname(n.bridge), ...x.iifname(n.bridge, { negate: true }), x.drop()]));
  }
  // Published ports are reached from other networks too; the drops below are for the rest.
  commands.push(rule('forward', [{ expr: 'ct', key: 'status', dreg: 0 }, ...bits(IPS_DST_NAT, 'neq'), x.accept()]));
  // Routed gateway modes: the ports published on a container's own address, and ICMP (as Docker:
  // ping, and the errors path MTU discovery needs).
  for (const f of FAMILIES.filter((family) => networks.some((n) => !n.internal && n.modes[family] === 'routed'))) {
    commands.push(rule('forward', routedPortIn(f)));
  }
  for (const n of networks.filter((net) => !net.internal)) {
    for (const f of FAMILIES.filter((family) => n.modes[family] === 'routed')) {
      commands.push(rule('forward', [...x.oifname(n.bridge), ...x.nfproto(f), ...x.l4proto(f === 4 ? 'icmp' : 'icmpv6'), x.accept()]));
    }
  }
  for (const n of networks.filter((net) => !net.internal)) {
    for (const subnet of n.subnets) {
      // Routed: the subnet is reached as it is, and goes out as it is.
      const family = familyOf(subnet);
      if (n.modes[family] === 'routed') continue;
      // Hairpin: a container reaching a port published by its own bridge (its own one too) through a
      // host address. The answer must come back through the host to be un-DNATed (and a container
      // drops packets from its own address), so the source becomes the bridge's address.
      commands.push(
        rule('postrouting', [...x.saddr(subnet), ...x.oifname(n.bridge), { expr: 'ct', key: 'status', dreg: 0 }, ...bits(IPS_DST_NAT, 'neq'), x.masquerade()]),
      );
      if (!n.masquerade) continue;
      const snat = n.snat[family];
      commands.push(rule('postrouting', [...x.saddr(subnet), ...x.oifname(n.bridge, { negate: true, reg: 4 }), ...(snat ? x.snat(snat) : [x.masquerade()])]));
    }
    // Isolation: nothing from this bridge to another of the controller's bridges.
    commands.push(rule('forward', [...x.iifname(n.bridge), ...x.oifname(n.bridge, { negate: true, reg: 4 }), ...oifnameIn(BRIDGES), x.drop()]));
  }
  // Docker's nat mode: from any other interface (a LAN host with a route to the subnet through this
  // host, forwarding being on), a bridge takes only replies and the published ports accepted above;
  // unpublished container ports are not reachable from the network. Going out (masquerade or not)
  // is untouched, and traffic between the ports of one bridge is bridged, not forwarded.
  const external = networks.filter((net) => !net.internal);
  if (external.length > 0) commands.push(rule('forward', [...x.ctState(['established', 'related']), x.accept()]));
  // nat-unprotected lets any port in: for that family (or both), no drop.
  for (const n of external) {
    const protectedFamilies = FAMILIES.filter((f) => n.modes[f] !== 'nat-unprotected');
    const only = protectedFamilies.length === 1 ? x.nfproto(protectedFamilies[0]) : [];
    if (protectedFamilies.length > 0) commands.push(rule('forward', [...only, ...x.oifname(n.bridge), ...x.iifname(n.bridge, { negate: true }), x.drop()]));
  }
  const dropFor = FAMILIES.filter((f) => host.dropOtherForwardingFor.includes(f));
  if (dropFor.length > 0) {
    const notOwned = (key: 'iifgroup' | 'oifgroup'): NftExpr[] => [{ expr: 'meta', key, dreg: 0 }, ...bits(OWNED_GROUP_BIT, 'eq')];
    const only = dropFor.length === 1 ? x.nfproto(dropFor[0]) : [];
    commands.push(rule('forward', [...only, ...notOwned('iifgroup'), ...notOwned('oifgroup'), x.drop()]));
  }
  commands.push({ cmd: 'addElements', ...inet, set: BRIDGES, elements: networks.map((n) => ({ key: v.ifname(n.bridge) })) });
  commands.push(...portCommands(owner, 'addElements', ports));

  commands.push(
    { cmd: 'addTable', ...bridge },
    { cmd: 'addSet', ...bridge, set: NO_ICC, key: 'ifname' },
    { cmd: 'addChain', ...bridge, chain: 'forward', type: 'filter', hook: 'forward', priority: 0, policy: 'accept' },
    { cmd: 'addRule', ...bridge, chain: 'forward', exprs: [{ expr: 'meta', key: 'iifname', dreg: 0 }, { expr: 'lookup', set: NO_ICC, sreg: 0 }, x.drop()] },
    // A new IPv6 interface sends several MLD reports and a router solicitation. A bridge without a
    // multicast querier (Docker's have none) copies each one to every port, and every container
    // drops it: a dual-stack join would cost more with each container on the bridge. Nothing on a
    // cnm-ts bridge answers or needs them (its addresses and routes are static), so they stop at
    // the port they came in on. Other multicast is flooded as before.
    { cmd: 'addChain', ...bridge, chain: 'prerouting', type: 'filter', hook: 'prerouting', priority: -200, policy: 'accept' },
    ...LINK_CONTROL_ICMPV6.map(([first, last]): NftCommand => ({
      cmd: 'addRule',
      ...bridge,
      chain: 'prerouting',
      exprs: icmpv6FromPorts(ownerGroup(owner), first, last),
    })),
  );
  commands.push(...iccCommands(owner, 'addElements', noIcc));
  return commands;
}

/** Adds or removes published ports (map elements). */
export function portCommands(owner: string, cmd: 'addElements' | 'deleteElements', ports: FirewallPort[]): NftCommand[] {
  const table = tableName(owner);
  const commands: NftCommand[] = [];
  for (const f of FAMILIES) {
    const address = f === 4 ? v.ipv4 : v.ipv6;
    const routed = ports.filter((p) => p.routed && familyOf(p.containerIP) === f);
    if (routed.length > 0) {
      const elements: NftElement[] = routed.map((p) => ({ key: [address(p.containerIP), v.protocol(p.proto), v.port(p.containerPort)] }));
      commands.push({ cmd, family: 'inet', table, set: ROUTED_PORTS[f], elements });
    }
    const ofFamily = ports.filter((p) => !p.routed && familyOf(p.hostIP) === f);
    const specific = ofFamily.filter((p) => p.hostIP !== ANY_ADDRESS[f]);
    const any = ofFamily.filter((p) => p.hostIP === ANY_ADDRESS[f]);
    const data = (p: FirewallPort) => [address(p.containerIP), v.port(p.containerPort)];
    if (specific.length > 0) {
      const elements: NftElement[] = specific.map((p) => ({ key: [address(p.hostIP), v.protocol(p.proto), v.port(p.hostPort)], data: data(p) }));
      commands.push({ cmd, family: 'inet', table, set: HOST_PORTS[f], elements });
    }
    if (any.length > 0) {
      const elements: NftElement[] = any.map((p) => ({ key: [v.protocol(p.proto), v.port(p.hostPort)], data: data(p) }));
      commands.push({ cmd, family: 'inet', table, set: ANY_PORTS[f], elements });
    }
  }
  return commands;
}

/** Adds or removes bridge ports (veth host ends) that may not talk to their bridge's other ports. */
export function iccCommands(owner: string, cmd: 'addElements' | 'deleteElements', ifnames: string[]): NftCommand[] {
  if (ifnames.length === 0) return [];
  return [{ cmd, family: 'bridge', table: tableName(owner), set: NO_ICC, elements: ifnames.map((name) => ({ key: v.ifname(name) })) }];
}

/** `oifname @SET`, loading into registers 8..11 so that it can follow other matches. */
function oifnameIn(set: string): NftExpr[] {
  return [
    { expr: 'meta', key: 'oifname', dreg: 8 },
    { expr: 'lookup', set, sreg: 8 },
  ];
}

/** `REG0 & BITS != 0` (neq: one of them set) or `== 0` (eq: none), for a 32-bit value in host order (ct status, link group). */
function bits(mask: number, op: 'eq' | 'neq'): NftExpr[] {
  return [
    { expr: 'bitwise', sreg: 0, dreg: 0, mask: v.mark(mask), xor: v.mark(0) },
    { expr: 'cmp', op, sreg: 0, data: v.mark(0) },
  ];
}

/** `meta iifgroup GROUP ether type ip6 meta l4proto ipv6-icmp icmpv6 type FIRST-LAST drop`, in the bridge family. */
function icmpv6FromPorts(group: number, first: number, last: number): NftExpr[] {
  const type: NftExpr[] =
    first === last
      ? [{ expr: 'cmp', op: 'eq', sreg: 0, data: Buffer.from([first]) }]
      : [
          { expr: 'cmp', op: 'gte', sreg: 0, data: Buffer.from([first]) },
          { expr: 'cmp', op: 'lte', sreg: 0, data: Buffer.from([last]) },
        ];
  return [
    { expr: 'meta', key: 'iifgroup', dreg: 0 },
    { expr: 'cmp', op: 'eq', sreg: 0, data: v.mark(group) },
    { expr: 'meta', key: 'protocol', dreg: 0 },
    { expr: 'cmp', op: 'eq', sreg: 0, data: ETH_P_IPV6 },
    ...x.l4proto('icmpv6'),
    { expr: 'payload', base: 'transport', offset: 0, len: 1, dreg: 0 },
    ...type,
    x.drop(),
  ];
}

/** `ip daddr . meta l4proto . th dport @routedports accept` (ip6: @routedports6). */
function routedPortIn(family: 4 | 6): NftExpr[] {
  const { regs, len, daddr } = ADDRESS[family];
  return [
    ...x.nfproto(family),
    { expr: 'payload', base: 'network', offset: daddr, len, dreg: 0 },
    { expr: 'meta', key: 'l4proto', dreg: regs },
    { expr: 'payload', base: 'transport', offset: 2, len: 2, dreg: regs + 1 },
    { expr: 'lookup', set: ROUTED_PORTS[family], sreg: 0 },
    x.accept(),
  ];
}

/** `fib daddr type local dnat ip to ip daddr . meta l4proto . th dport map @hostports` (ip6: @hostports6). */
function dnatByHostPort(family: 4 | 6): NftExpr[] {
  const { regs, len, daddr } = ADDRESS[family];
  return [
    ...x.nfproto(family),
    ...x.localAddress('daddr'),
    { expr: 'payload', base: 'network', offset: daddr, len, dreg: 0 },
    { expr: 'meta', key: 'l4proto', dreg: regs },
    { expr: 'payload', base: 'transport', offset: 2, len: 2, dreg: regs + 1 },
    { expr: 'lookup', set: HOST_PORTS[family], sreg: 0, dreg: 0 },
    { expr: 'nat', type: 'dnat', family: NAT_FAMILY[family], addr: 0, port: regs },
  ];
}

/** `fib daddr type local dnat ip to meta l4proto . th dport map @anyports` (ip6: @anyports6). */
function dnatByAnyPort(family: 4 | 6): NftExpr[] {
  return [
    ...x.nfproto(family),
    ...x.localAddress('daddr'),
    { expr: 'meta', key: 'l4proto', dreg: 0 },
    { expr: 'payload', base: 'transport', offset: 2, len: 2, dreg: 1 },
    { expr: 'lookup', set: ANY_PORTS[family], sreg: 0, dreg: 0 },
    { expr: 'nat', type: 'dnat', family: NAT_FAMILY[family], addr: 0, port: ADDRESS[family].regs },
  ];
}
