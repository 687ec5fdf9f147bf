// IP address and prefix parsing, shared by option checks, IPAM and the native ops' validation.
import { isIP } from 'node:net';
import { invalidArgument } from '../errors';
import { show } from './checks';

/** An address family by its number, as the kernel and node:net count them. */
export type Family = 4 | 6;

/** An IP address without a prefix; returns its family. */
export function validateIp(address: unknown, what = 'address'): Family {
  const family = typeof address === 'string' ? isIP(address) : 0;
  if (family === 0) throw invalidArgument(`${what} ${show(address)} is not an IPv4 or IPv6 address`);
  return family as Family;
}

export interface ParsedCidr {
  family: Family;
  address: string;
  prefixLength: number;
}

/** "10.0.0.2/24", "fd00::2/64". With `network`, host bits must be zero (a route destination). */
export function parseCidr(cidr: unknown, what = 'CIDR', network = false): ParsedCidr {
  const match = typeof cidr === 'string' ? /^([^/]+)\/(\d{1,3})$/.exec(cidr) : null;
  const family = match ? isIP(match[1]) : 0;
  const prefixLength = match ? Number(match[2]) : -1;
  if (!match || family === 0 || prefixLength > (family === 4 ? 32 : 128)) {
    throw invalidArgument(`${what} ${show(cidr)} is not an address/prefix-length like 10.0.0.2/24`);
  }
  if (network && hasHostBits(match[1], family as Family, prefixLength)) {
    throw invalidArgument(`${what} ${cidr} has host bits set`);
  }
  return { family: family as Family, address: match[1], prefixLength };
}

/** The address as bytes (IPv4: 4, IPv6: 16). The address must already be valid. */
export function ipBytes(address: string, family: Family): number[] {
  if (family === 4) return address.split('.').map(Number);
  // Each 16-bit word is two bytes; an embedded IPv4 tail ("::ffff:1.2.3.4") is four.
  const toBytes = (part: string): number[] =>
    (part ? part.split(':') : []).flatMap((w) => (w.includes('.') ? ipBytes(w, 4) : [parseInt(w, 16) >> 8, parseInt(w, 16) & 0xff]));
  const [head, tail] = address.includes('::') ? address.split('::') : [address, ''];
  const left = toBytes(head);
  const right = toBytes(tail);
  return [...left, ...new Array<number>(16 - left.length - right.length).fill(0), ...right];
}

/**
 * Whether a valid address (no zone) is a loopback one in any spelling: 127.0.0.0/8, ::1
 * (0:0:0:0:0:0:0:1 too) and IPv4-mapped 127.0.0.0/8 (::ffff:127.0.0.1).
 */
export function isLoopback(address: string, family: Family): boolean {
  const bytes = ipBytes(address, family);
  if (family === 4) return bytes[0] === 127;
  const zeros = (n: number) => bytes.slice(0, n).every((b) => b === 0);
  const mappedV4 = zeros(10) && bytes[10] === 0xff && bytes[11] === 0xff;
  return (zeros(15) && bytes[15] === 1) || (mappedV4 && bytes[12] === 127);
}

function hasHostBits(address: string, family: Family, prefixLength: number): boolean {
  return ipBytes(address, family).some((byte, i) => {
    const bits = Math.max(0, Math.min(8, prefixLength - i * 8));
    return (byte & (0xff >> bits)) !== 0;
  });
}
