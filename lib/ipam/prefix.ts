// Addresses and prefixes as BigInt, for the arithmetic IPAM needs (overlap, containment, the n-th
// address of a pool). Parsing is lib/util/ip's; this file only converts and formats.
import { invalidArgument } from '../errors';
import { ipBytes, parseCidr, validateIp, type Family } from '../util/ip';

/** A network: `base` has no host bits. */
export interface Prefix {
  family: Family;
  base: bigint;
  bits: number;
}

/** 32 for IPv4, 128 for IPv6. */
export function addressBits(family: Family): number {
  return family === 4 ? 32 : 128;
}

function toBigint(address: string, family: Family): bigint {
  return ipBytes(address, family).reduce((value, byte) => (value << 8n) | BigInt(byte), 0n);
}

function refuseZone(value: string, what: string): void {
  // isIP takes "fe80::1%eth0"; a pool address has no zone.
  if (value.includes('%')) throw invalidArgument(`${what} ${JSON.stringify(value)} may not have a zone index`);
}

/** A plain address ("10.0.0.2", "fd00::2") as family + number. INVALID_ARGUMENT if malformed. */
export function parseAddress(address: unknown, what = 'address'): { family: Family; value: bigint } {
  const family = validateIp(address, what);
  refuseZone(address as string, what);
  return { family, value: toBigint(address as string, family) };
}

/**
 * A network CIDR ("10.1.0.0/16"). With `mask`, host bits are cleared ("10.1.2.3/16" is 10.1.0.0/16);
 * without, host bits set are INVALID_ARGUMENT.
 */
export function parsePrefix(cidr: unknown, what = 'subnet', mask = false): Prefix {
  const parsed = parseCidr(cidr, what, !mask);
  refuseZone(cidr as string, what);
  const value = toBigint(parsed.address, parsed.family);
  const hostBits = BigInt(addressBits(parsed.family) - parsed.prefixLength);
  return { family: parsed.family, base: (value >> hostBits) << hostBits, bits: parsed.prefixLength };
}

/** A host address or a network ("192.168.1.1", "10.0.0.0/8") as a prefix: a bare address is /32 or /128. */
export function parseAddressOrPrefix(value: unknown, what: string): Prefix {
  if (typeof value === 'string' && !value.includes('/')) {
    const { family, value: base } = parseAddress(value, what);
    return { family, base, bits: addressBits(family) };
  }
  return parsePrefix(value, what, true);
}

/** The number of addresses in the prefix. */
export function prefixSize(prefix: Prefix): bigint {
  return 1n << BigInt(addressBits(prefix.family) - prefix.bits);
}

/** The prefix's last address (IPv4: the broadcast address). */
export function lastAddress(prefix: Prefix): bigint {
  return prefix.base + prefixSize(prefix) - 1n;
}

/** Whether `value` (an address of the same family) lies in the prefix. */
export function containsAddress(prefix: Prefix, value: bigint): boolean {
  return value >= prefix.base && value <= lastAddress(prefix);
}

/** Whether `inner` lies wholly inside `outer`. */
export function containsPrefix(outer: Prefix, inner: Prefix): boolean {
  return outer.family === inner.family && inner.bits >= outer.bits && containsAddress(outer, inner.base);
}

/** Whether two prefixes share an address (never across families). */
export function overlaps(a: Prefix, b: Prefix): boolean {
  return containsPrefix(a, b) || containsPrefix(b, a);
}

/** The canonical text of an address: dotted quad, or RFC 5952 IPv6 (lower case, longest zero run as "::"). */
export function formatAddress(value: bigint, family: Family): string {
  if (family === 4) return [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 0xffn)).join('.');
  const words = Array.from({ length: 8 }, (_, i) => Number((value >> BigInt(112 - i * 16)) & 0xffffn));
  // The first longest run of two or more zero words becomes "::".
  let best = { start: -1, length: 1 };
  for (let i = 0; i < 8;) {
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > best.length) best = { start: i, length: j - i };
    i = j === i ? i + 1 : j;
  }
  const hex = (ws: number[]): string => ws.map((w) => w.toString(16)).join(':');
  if (best.start < 0) return hex(words);
  return `${hex(words.slice(0, best.start))}::${hex(words.slice(best.start + best.length))}`;
}

/** "10.1.0.0/16". */
export function formatPrefix(prefix: Prefix): string {
  return `${formatAddress(prefix.base, prefix.family)}/${prefix.bits}`;
}
