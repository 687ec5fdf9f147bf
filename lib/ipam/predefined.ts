// Docker's predefined pools (libnetwork ipamutils) and the search for the first free one.
import { invalidArgument } from '../errors';
import { addressBits, lastAddress, parsePrefix, type Prefix } from './prefix';

/** A network to cut into pools of one size (libnetwork's ipamutils.NetworkToSplit{Base, Size}). */
export interface PredefinedPool {
  /** The network to split, a CIDR. */
  base: string;
  /** The prefix length of each pool cut from it. */
  size: number;
}

/** A predefined entry: a bare CIDR is one pool of its own size. */
export type PredefinedSpec = string | PredefinedPool;

/**
 * Docker's local default pools, in order: 172.17/16 ... 172.31/16 (fifteen /16s), then 192.168/16
 * as sixteen /20s (ipamutils.localScopeDefaultNetworks).
 */
export const DEFAULT_LOCAL_POOLS: readonly PredefinedPool[] = [
  { base: '172.17.0.0/16', size: 16 },
  { base: '172.18.0.0/16', size: 16 },
  { base: '172.19.0.0/16', size: 16 },
  { base: '172.20.0.0/14', size: 16 },
  { base: '172.24.0.0/14', size: 16 },
  { base: '172.28.0.0/14', size: 16 },
  { base: '192.168.0.0/16', size: 20 },
];

/** Docker's global default pools: 10/8 as /24s (ipamutils.globalScopeDefaultNetworks). */
export const DEFAULT_GLOBAL_POOLS: readonly PredefinedPool[] = [{ base: '10.0.0.0/8', size: 24 }];

/**
 * A controller's LocalDefault pools: the entries of `given` (its `defaultAddressPools`, Docker's
 * `default-address-pools`) replace the default pools of their family. IPv4 falls back to
 * DEFAULT_LOCAL_POOLS; IPv6 to `ula` (the host's ULA pool), if there is one, as dockerd adds its
 * ULA pool when its pools have no IPv6 network.
 */
export function localPools(given: readonly PredefinedPool[], ula: PredefinedPool | null): PredefinedPool[] {
  const ofFamily = (family: 4 | 6) => given.filter((p) => parsePrefix(p.base, 'default address pool').family === family);
  const v4 = ofFamily(4);
  const v6 = ofFamily(6);
  return [...(v4.length > 0 ? v4 : DEFAULT_LOCAL_POOLS), ...(v6.length > 0 ? v6 : ula ? [ula] : [])];
}

/** A checked predefined entry. */
export interface SplitNetwork {
  base: Prefix;
  size: number;
}

/** Checks a predefined list; INVALID_ARGUMENT names the bad entry. */
export function parsePredefined(specs: readonly PredefinedSpec[]): SplitNetwork[] {
  if (!Array.isArray(specs)) throw invalidArgument('predefined pools must be an array');
  return specs.map((spec) => {
    const entry = typeof spec === 'string' ? { base: spec, size: undefined } : spec;
    const base = parsePrefix(entry?.base, 'predefined pool');
    const size = entry.size ?? base.bits;
    if (!Number.isInteger(size) || size < base.bits || size > addressBits(base.family)) {
      throw invalidArgument(`predefined pool ${entry.base}: size ${JSON.stringify(size)} must be an integer from ${base.bits} to ${addressBits(base.family)}`);
    }
    return { base, size };
  });
}

/** An address range, first to last. */
interface Range {
  first: bigint;
  last: bigint;
}

/** The networks of a family in `taken` as disjoint ranges in address order (overlapping and adjacent ones merged). */
function takenRanges(taken: readonly Prefix[], family: 4 | 6): Range[] {
  const sorted = taken
    .filter((t) => t.family === family)
    .map((t) => ({ first: t.base, last: lastAddress(t) }))
    .sort((a, b) => (a.first < b.first ? -1 : a.first > b.first ? 1 : 0));
  const merged: Range[] = [];
  for (const range of sorted) {
    const previous = merged[merged.length - 1];
    if (previous && range.first <= previous.last + 1n) {
      if (range.last > previous.last) previous.last = range.last;
    } else {
      merged.push(range);
    }
  }
  return merged;
}

/**
 * The first pool, walking `networks` in order and each in address order, that overlaps nothing in
 * `taken` (allocated pools and reserved host networks); undefined if there is none. The taken
 * networks are merged into sorted ranges once, and a candidate that hits one jumps past it, so a
 * search costs O(taken log taken), however many pools are taken in a row (a host with a thousand
 * IPv6 networks of one /48).
 */
export function firstFreePool(networks: readonly SplitNetwork[], family: 4 | 6, taken: readonly Prefix[]): Prefix | undefined {
  const ranges = takenRanges(taken, family);
  for (const { base, size } of networks) {
    if (base.family !== family) continue;
    const step = 1n << BigInt(addressBits(family) - size);
    const end = lastAddress(base);
    let at = base.base;
    let next = 0;
    while (at <= end) {
      // Ranges that end before the candidate are behind every later candidate too.
      while (next < ranges.length && ranges[next].last < at) next++;
      if (next === ranges.length || ranges[next].first > at + step - 1n) return { family, base: at, bits: size };
      // The first candidate after the range (candidates are aligned to step).
      at = ((ranges[next].last + 1n + step - 1n) / step) * step;
    }
  }
  return undefined;
}
