// One allocated pool and the addresses taken from it (libnetwork's PoolData + its bitseq handle).
import { CnmError, invalidArgument } from '../errors';
import { parseCidr } from '../util/ip';
import { ALLOC_SERIAL, GATEWAY_ADDRESS_TYPE, REQUEST_ADDRESS_TYPE } from './types';
import { SparseBitmap } from './bitmap';
import { containsAddress, formatAddress, formatPrefix, lastAddress, parseAddress, prefixSize, type Prefix } from './prefix';

/** One pool as plain data (see DefaultIpam.toJSON). */
export interface PoolState {
  poolId: string;
  addressSpace: string;
  pool: string;
  subPool?: string;
  /** Where the next dynamic allocation starts looking (absent when the range has no address). */
  next?: string;
  /** Every allocated address, ascending. */
  allocated: string[];
}

/** libnetwork's pool id: "AddressSpace/Subnet", plus "/SubPool" with an ipRange. */
export function poolIdOf(addressSpace: string, prefix: Prefix, subPrefix?: Prefix): string {
  const id = `${addressSpace}/${formatPrefix(prefix)}`;
  return subPrefix ? `${id}/${formatPrefix(subPrefix)}` : id;
}

/**
 * The addresses of one pool. Reserved and never handed out: the network address (IPv4 pools larger
 * than /31, and every IPv6 pool: the subnet-router anycast address) and the IPv4 broadcast address
 * (pools larger than /31). A /31 or /32 IPv4 pool uses all its addresses (RFC 3021), as Docker does.
 *
 * Dynamic allocation is as current libnetwork's default IPAM does it for local networks: the
 * lowest free address of the range, so a just-released address is the next one handed out. With
 * the option { 'com.docker.network.ipam.serial': 'true' } (what Docker's swarm sets) it is serial:
 * it continues after the last dynamically allocated address and wraps around at the end of the
 * range, so a just-released address is reused only after the rest of the range has been tried.
 * The cursor moves on with every dynamic allocation, serial or not, as libnetwork's does.
 */
export class AddressPool {
  readonly id: string;
  /** The first and last address that may be handed out. */
  private readonly first: bigint;
  private readonly last: bigint;
  /** The range dynamic addresses come from: the sub-pool (ipRange) within [first, last]. */
  private readonly dynamicFirst: bigint;
  private readonly dynamicLast: bigint;
  private readonly allocated = new SparseBitmap();
  private cursor: bigint;

  constructor(
    readonly addressSpace: string,
    readonly prefix: Prefix,
    readonly subPrefix?: Prefix,
  ) {
    this.id = poolIdOf(addressSpace, prefix, subPrefix);
    const pointToPoint = prefix.family === 4 && prefixSize(prefix) <= 2n;
    this.first = pointToPoint ? prefix.base : prefix.base + 1n;
    this.last = prefix.family === 4 && !pointToPoint ? lastAddress(prefix) - 1n : lastAddress(prefix);
    const range = subPrefix ?? prefix;
    this.dynamicFirst = range.base > this.first ? range.base : this.first;
    this.dynamicLast = lastAddress(range) < this.last ? lastAddress(range) : this.last;
    this.cursor = this.dynamicFirst;
  }

  /** The pool's CIDR. */
  get cidr(): string {
    return formatPrefix(this.prefix);
  }

  /** How many addresses are allocated. */
  get allocatedCount(): bigint {
    return this.allocated.size;
  }

  /**
   * Takes `address` (anywhere in the pool, also outside the sub-pool), or else the next free
   * address of the range: after the cursor with the serial option (not for the gateway), else the
   * lowest. Returns "address/prefix-length".
   */
  request(address?: string, options?: Record<string, string>): string {
    let value: bigint;
    if (address !== undefined) {
      value = this.hostAddress(address);
      if (!this.allocated.add(value)) {
        throw new CnmError('CONFLICT', `address ${formatAddress(value, this.prefix.family)} is already allocated in pool ${this.id}`);
      }
    } else {
      const serial = options?.[ALLOC_SERIAL] === 'true' && options[REQUEST_ADDRESS_TYPE] !== GATEWAY_ADDRESS_TYPE;
      value = this.takeFree(serial ? this.cursor : this.dynamicFirst);
      this.cursor = value + 1n > this.dynamicLast ? this.dynamicFirst : value + 1n;
    }
    return `${formatAddress(value, this.prefix.family)}/${this.prefix.bits}`;
  }

  /** Frees `address`; NOT_FOUND if it is not allocated. */
  release(address: string): void {
    const value = this.hostAddress(address);
    if (!this.allocated.delete(value)) {
      throw new CnmError('NOT_FOUND', `address ${formatAddress(value, this.prefix.family)} is not allocated in pool ${this.id}`);
    }
  }

  /** The pool as plain data. */
  toJSON(): PoolState {
    const family = this.prefix.family;
    return {
      poolId: this.id,
      addressSpace: this.addressSpace,
      pool: this.cidr,
      ...(this.subPrefix && { subPool: formatPrefix(this.subPrefix) }),
      ...(this.dynamicFirst <= this.dynamicLast && { next: formatAddress(this.cursor, family) }),
      allocated: Array.from(this.allocated.values(), (v) => formatAddress(v, family)),
    };
  }

  /** Re-takes the addresses and cursor of a saved state (the pool itself must match it). */
  restore(state: Pick<PoolState, 'allocated' | 'next'>): void {
    for (const address of state.allocated) this.request(address);
    if (state.next === undefined) return;
    const { family, value } = parseAddress(state.next, `next address of pool ${this.id}`);
    if (family !== this.prefix.family || value < this.dynamicFirst || value > this.dynamicLast) {
      throw invalidArgument(`next address ${state.next} is outside the dynamic range of pool ${this.id}`);
    }
    this.cursor = value;
  }

  /** The lowest free address at or after `from` in the dynamic range, wrapping once; taken. */
  private takeFree(from: bigint): bigint {
    let value = this.allocated.nextAbsent(from);
    if (value > this.dynamicLast) value = this.allocated.nextAbsent(this.dynamicFirst);
    if (this.dynamicFirst > this.dynamicLast || value > this.dynamicLast) {
      const range = this.subPrefix ? `range ${formatPrefix(this.subPrefix)} of pool` : 'pool';
      throw new CnmError('EXHAUSTED', `no free address left in ${range} ${this.id}`);
    }
    this.allocated.add(value);
    return value;
  }

  /** "10.0.0.5" or "10.0.0.5/24" (the pool's length) as a host address of this pool. */
  private hostAddress(address: string): bigint {
    const what = `address for pool ${this.id}`;
    let text = address;
    if (typeof address === 'string' && address.includes('/')) {
      const parsed = parseCidr(address, what);
      if (parsed.prefixLength !== this.prefix.bits) {
        throw invalidArgument(`${what} ${address} has prefix length ${parsed.prefixLength}, the pool has ${this.prefix.bits}`);
      }
      text = parsed.address;
    }
    const { family, value } = parseAddress(text, what);
    if (family !== this.prefix.family || !containsAddress(this.prefix, value)) {
      throw invalidArgument(`address ${address} is not in pool ${this.id}`);
    }
    if (value < this.first || value > this.last) {
      const which = value === this.prefix.base ? 'network' : 'broadcast';
      throw invalidArgument(`address ${address} is the ${which} address of pool ${this.id}`);
    }
    return value;
  }
}
