// Builders for common nf_tables matches and statements, so that firewall code reads like the
// rules it makes: `[...nftExpr.oifname('eth0'), nftExpr.masquerade()]` is nft's
// `oifname "eth0" masquerade`. Each match is a short list of expressions that ends in a
// comparison; they load into registers from 0 on, so put them one after another in a rule.
import { endianness } from 'node:os';
import { invalidArgument } from '../errors';
import type { NftElement, NftExpr, NftNatFlag, NftRegister } from './nft-types';
import { ipBytes, parseCidr, validateIfname, validateIp } from './validate';

const IFNAMSIZ = 16;
const PROTOCOLS = { icmp: 1, tcp: 6, udp: 17, icmpv6: 58, sctp: 132 } as const;
/** A layer-4 protocol nftExpr can match by name (icmp, tcp, udp, icmpv6, sctp). */
export type NftProtocol = keyof typeof PROTOCOLS;
/** Conntrack states as the kernel's ct state bits (1 << (IP_CT_* + 1); untracked is bit 6). */
const CT_STATES = { invalid: 1, established: 2, related: 4, new: 8, untracked: 64 } as const;
/** A conntrack state nftExpr can match (`ct state established,related`). */
export type NftCtState = keyof typeof CT_STATES;
const NFPROTO = { 4: 2, 6: 10 } as const;
/** The route type of the host's own addresses (rtnetlink's RTN_LOCAL). */
const RTN_LOCAL = 2;

function protocolNumber(protocol: NftProtocol | number): number {
  const n = typeof protocol === 'number' ? protocol : PROTOCOLS[protocol];
  if (!Number.isInteger(n) || n < 0 || n > 255) throw invalidArgument(`protocol ${JSON.stringify(protocol)} is not a protocol name or number`);
  return n;
}

function u32Host(value: number): Buffer {
  const b = Buffer.alloc(4);
  if (endianness() === 'LE') b.writeUInt32LE(value >>> 0);
  else b.writeUInt32BE(value >>> 0);
  return b;
}

/** Values in the byte form nf_tables compares them and stores them in sets. */
export const nftValue = {
  /** An IPv4 address, 4 bytes. */
  ipv4(address: string): Buffer {
    if (validateIp(address) !== 4) throw invalidArgument(`${address} is not an IPv4 address`);
    return Buffer.from(ipBytes(address, 4));
  },
  /** An IPv6 address, 16 bytes. */
  ipv6(address: string): Buffer {
    if (validateIp(address) !== 6) throw invalidArgument(`${address} is not an IPv6 address`);
    return Buffer.from(ipBytes(address, 6));
  },
  /** A TCP/UDP port (inet_service), 2 bytes big-endian. */
  port(port: number): Buffer {
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw invalidArgument(`port ${port} is not 0 to 65535`);
    const b = Buffer.alloc(2);
    b.writeUInt16BE(port);
    return b;
  },
  /** An IP protocol (inet_proto), 1 byte. */
  protocol(protocol: NftProtocol | number): Buffer {
    return Buffer.from([protocolNumber(protocol)]);
  },
  /** An interface name padded with NULs to IFNAMSIZ (16 bytes), as meta iifname loads it. */
  ifname(name: string): Buffer {
    validateIfname(name);
    const b = Buffer.alloc(IFNAMSIZ);
    b.write(name);
    return b;
  },
  /** A packet mark, 4 bytes in host order. */
  mark(mark: number): Buffer {
    return u32Host(mark);
  },
};

/** An element of an ipv4_addr / ipv6_addr interval set for a prefix ("10.0.0.0/8"). */
export function nftPrefixElement(cidr: string): NftElement {
  const { family, address, prefixLength } = parseCidr(cidr, 'prefix');
  const bytes = ipBytes(address, family);
  const first = bytes.map((b, i) => b & (0xff << (8 - Math.max(0, Math.min(8, prefixLength - i * 8)))) & 0xff);
  const last = first.map((b, i) => (b | (0xff >> Math.max(0, Math.min(8, prefixLength - i * 8)))) & 0xff);
  return { key: Buffer.from(first), keyEnd: Buffer.from(last) };
}

interface MatchOptions {
  /** Match when the value differs (nft's `!=`). */
  negate?: boolean;
  /** The register to load into (default 0). */
  reg?: NftRegister;
}

function compare(reg: NftRegister, data: Buffer, negate = false): NftExpr {
  return { expr: 'cmp', op: negate ? 'neq' : 'eq', sreg: reg, data };
}

/** iifname / oifname: an exact name, or a prefix with a trailing '*' ("veth*"). */
function ifnameMatch(key: 'iifname' | 'oifname', name: string, { negate, reg = 0 }: MatchOptions): NftExpr[] {
  const wildcard = name.endsWith('*');
  const data = wildcard ? Buffer.from(name.slice(0, -1)) : nftValue.ifname(name);
  if (wildcard && (data.length === 0 || data.length >= IFNAMSIZ)) throw invalidArgument(`interface pattern '${name}' is not 1 to 15 bytes and a '*'`);
  return [{ expr: 'meta', key, dreg: reg }, compare(reg, data, negate)];
}

/** An address field of the IPv4 or IPv6 header against an address or prefix. */
function addressMatch(field: 'saddr' | 'daddr', cidr: string, { negate, reg = 0 }: MatchOptions): NftExpr[] {
  const { family, address, prefixLength } = cidr.includes('/')
    ? parseCidr(cidr, `${field} prefix`)
    : { family: validateIp(cidr, field), address: cidr, prefixLength: cidr.includes(':') ? 128 : 32 };
  const len = family === 4 ? 4 : 16;
  const offset = family === 4 ? (field === 'saddr' ? 12 : 16) : field === 'saddr' ? 8 : 24;
  const exprs: NftExpr[] = [...nftExpr.nfproto(family, { reg }), { expr: 'payload', base: 'network', offset, len, dreg: reg }];
  const bytes = ipBytes(address, family);
  if (prefixLength < len * 8) {
    const mask = bytes.map((_, i) => (0xff << (8 - Math.max(0, Math.min(8, prefixLength - i * 8)))) & 0xff);
    exprs.push({ expr: 'bitwise', sreg: reg, dreg: reg, mask: Buffer.from(mask), xor: Buffer.alloc(len) });
    return [...exprs, compare(reg, Buffer.from(bytes.map((b, i) => b & mask[i])), negate)];
  }
  return [...exprs, compare(reg, Buffer.from(bytes), negate)];
}

/** A TCP/UDP/SCTP port field (source at offset 0, destination at 2 of the transport header). */
function portMatch(field: 'sport' | 'dport', protocol: NftProtocol, port: number, { negate, reg = 0 }: MatchOptions): NftExpr[] {
  return [
    ...nftExpr.l4proto(protocol, { reg }),
    { expr: 'payload', base: 'transport', offset: field === 'sport' ? 0 : 2, len: 2, dreg: reg },
    compare(reg, nftValue.port(port), negate),
  ];
}

/** Expressions for the matches and statements a bridge firewall needs. */
export const nftExpr = {
  /** `iifname "NAME"` (or "PREFIX*"). */
  iifname: (name: string, options: MatchOptions = {}): NftExpr[] => ifnameMatch('iifname', name, options),
  /** `oifname "NAME"` (or "PREFIX*"). */
  oifname: (name: string, options: MatchOptions = {}): NftExpr[] => ifnameMatch('oifname', name, options),
  /** `meta nfproto ipv4|ipv6`: needed before IP header matches in an inet table. */
  nfproto(family: 4 | 6, { negate, reg = 0 }: MatchOptions = {}): NftExpr[] {
    return [{ expr: 'meta', key: 'nfproto', dreg: reg }, compare(reg, Buffer.from([NFPROTO[family]]), negate)];
  },
  /** `meta l4proto tcp|udp|...`. */
  l4proto(protocol: NftProtocol | number, { negate, reg = 0 }: MatchOptions = {}): NftExpr[] {
    return [{ expr: 'meta', key: 'l4proto', dreg: reg }, compare(reg, nftValue.protocol(protocol), negate)];
  },
  /** `ip saddr ADDR[/LEN]` (or ip6 for an IPv6 address). */
  saddr: (cidr: string, options: MatchOptions = {}): NftExpr[] => addressMatch('saddr', cidr, options),
  /** `ip daddr ADDR[/LEN]` (or ip6 for an IPv6 address). */
  daddr: (cidr: string, options: MatchOptions = {}): NftExpr[] => addressMatch('daddr', cidr, options),
  /** `tcp sport PORT` (or udp, sctp). */
  sport: (protocol: NftProtocol, port: number, options: MatchOptions = {}): NftExpr[] => portMatch('sport', protocol, port, options),
  /** `tcp dport PORT` (or udp, sctp). */
  dport: (protocol: NftProtocol, port: number, options: MatchOptions = {}): NftExpr[] => portMatch('dport', protocol, port, options),
  /** `ct state established,related`: any of the states. */
  ctState(states: NftCtState[], { reg = 0 }: Pick<MatchOptions, 'reg'> = {}): NftExpr[] {
    const bits = states.reduce((acc, s) => {
      if (!(s in CT_STATES)) throw invalidArgument(`ct state ${JSON.stringify(s)} is not one of ${Object.keys(CT_STATES).join(', ')}`);
      return acc | CT_STATES[s];
    }, 0);
    return [
      { expr: 'ct', key: 'state', dreg: reg },
      { expr: 'bitwise', sreg: reg, dreg: reg, mask: u32Host(bits), xor: u32Host(0) },
      { expr: 'cmp', op: 'neq', sreg: reg, data: u32Host(0) },
    ];
  },
  /** `fib daddr type local` (or `fib saddr type local`): the address is one of the host's own. */
  localAddress(which: 'daddr' | 'saddr', { negate, reg = 0 }: MatchOptions = {}): NftExpr[] {
    return [{ expr: 'fib', result: 'type', flags: [which], dreg: reg }, compare(reg, u32Host(RTN_LOCAL), negate)];
  },
  /** `ip daddr . tcp dport @SET`: a set of (ipv4_addr . inet_service). */
  daddrPortIn(set: string, protocol: NftProtocol, { negate }: Pick<MatchOptions, 'negate'> = {}): NftExpr[] {
    return [...loadDaddrPort(protocol), { expr: 'lookup', set, sreg: 0, invert: negate }];
  },
  /** `counter`. */
  counter: (): NftExpr => ({ expr: 'counter' }),
  /** `accept`. */
  accept: (): NftExpr => ({ expr: 'immediate', verdict: 'accept' }),
  /** `drop`. */
  drop: (): NftExpr => ({ expr: 'immediate', verdict: 'drop' }),
  /** `return`. */
  return: (): NftExpr => ({ expr: 'immediate', verdict: 'return' }),
  /** `jump CHAIN`. */
  jump: (chain: string): NftExpr => ({ expr: 'immediate', verdict: 'jump', chain }),
  /** `goto CHAIN`. */
  goto: (chain: string): NftExpr => ({ expr: 'immediate', verdict: 'goto', chain }),
  /** `masquerade [random|fully-random|persistent]`. */
  masquerade: (flags?: NftNatFlag[]): NftExpr => ({ expr: 'masq', ...(flags ? { flags } : {}) }),
  /** `snat ip to ADDRESS` (or `snat ip6 to ADDRESS` for an IPv6 address). */
  snat(address: string): NftExpr[] {
    const v6 = validateIp(address, 'snat address') === 6;
    return [
      { expr: 'immediate', dreg: 0, data: v6 ? nftValue.ipv6(address) : nftValue.ipv4(address) },
      { expr: 'nat', type: 'snat', family: v6 ? 'ip6' : 'ip', addr: 0 },
    ];
  },
  /** `dnat ip to ADDRESS[:PORT]` (IPv4). */
  dnat(address: string, port?: number): NftExpr[] {
    const exprs: NftExpr[] = [{ expr: 'immediate', dreg: 0, data: nftValue.ipv4(address) }];
    if (port === undefined) return [...exprs, { expr: 'nat', type: 'dnat', family: 'ip', addr: 0 }];
    return [...exprs, { expr: 'immediate', dreg: 1, data: nftValue.port(port) }, { expr: 'nat', type: 'dnat', family: 'ip', addr: 0, port: 1 }];
  },
  /**
   * `dnat ip to ip daddr . tcp dport map @MAP`: a map from (ipv4_addr . inet_service) to
   * (ipv4_addr . inet_service), one element per published port.
   */
  dnatByMap(map: string, protocol: NftProtocol): NftExpr[] {
    return [...loadDaddrPort(protocol), { expr: 'lookup', set: map, sreg: 0, dreg: 0 }, { expr: 'nat', type: 'dnat', family: 'ip', addr: 0, port: 1 }];
  },
};

/** IPv4, the protocol, then the destination address into register 0 and the port into 1. */
function loadDaddrPort(protocol: NftProtocol): NftExpr[] {
  return [
    ...nftExpr.nfproto(4),
    ...nftExpr.l4proto(protocol),
    { expr: 'payload', base: 'network', offset: 16, len: 4, dreg: 0 },
    { expr: 'payload', base: 'transport', offset: 2, len: 2, dreg: 1 },
  ];
}
