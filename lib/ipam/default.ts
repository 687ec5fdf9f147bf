// The default IPAM driver (libnetwork ipams/defaultipam): in-memory address spaces, explicit and
// predefined pools, and addresses from them.
import createDebug from '../util/debug';
import { CnmError, invalidArgument } from '../errors';
import { AddressPool } from './pool';
import { DEFAULT_GLOBAL_POOLS, DEFAULT_LOCAL_POOLS, firstFreePool, parsePredefined, type PredefinedSpec, type SplitNetwork } from './predefined';
import { containsPrefix, formatPrefix, overlaps, parseAddressOrPrefix, parsePrefix, type Prefix } from './prefix';
import { checkIpamState, type IpamState } from './state';
import { GLOBAL_DEFAULT_ADDRESS_SPACE, LOCAL_DEFAULT_ADDRESS_SPACE, type Ipam, type IpamCapabilities, type PoolRequest, type PoolResult } from './types';

const debug = createDebug('cnm:ipam');

/**
 * Options of the default IPAM driver: the pools it carves networks from (docker:
 * `--default-address-pool`).
 */
export interface DefaultIpamOptions {
  /**
   * Networks the host uses (its routes, its nameservers), as CIDRs or bare addresses; called on
   * each predefined pool request. A predefined pool overlapping one of them is skipped (libnetwork's
   * InferReservedNetworks). Explicit pools are not checked against them, as in Docker.
   */
  reserved?: () => string[];
  /** The LocalDefault predefined pools, in order (IPv4 and/or IPv6); default DEFAULT_LOCAL_POOLS. */
  predefined?: PredefinedSpec[];
  /** The GlobalDefault predefined pools, in order; default DEFAULT_GLOBAL_POOLS. */
  predefinedGlobal?: PredefinedSpec[];
}

/**
 * libnetwork's default IPAM. Two address spaces, LocalDefault and GlobalDefault; pools in one space
 * may not overlap. No predefined IPv6 pools unless configured (`predefined` with IPv6
 * networks): an IPv6 pool must otherwise be given. See AddressPool for which
 * addresses are reserved and how dynamic allocation proceeds (lowest free, or serial).
 */
export class DefaultIpam implements Ipam {
  private readonly pools = new Map<string, AddressPool>();
  private readonly predefined: Record<string, SplitNetwork[]>;
  private readonly reserved: () => string[];

  constructor(options: DefaultIpamOptions = {}) {
    this.predefined = {
      [LOCAL_DEFAULT_ADDRESS_SPACE]: parsePredefined(options.predefined ?? DEFAULT_LOCAL_POOLS),
      [GLOBAL_DEFAULT_ADDRESS_SPACE]: parsePredefined(options.predefinedGlobal ?? DEFAULT_GLOBAL_POOLS),
    };
    this.reserved = options.reserved ?? (() => []);
  }

  /** The default address spaces: { local: 'LocalDefault', global: 'GlobalDefault' } (ipamapi.Ipam.GetDefaultAddressSpaces). */
  getDefaultAddressSpaces(): { local: string; global: string } {
    return { local: LOCAL_DEFAULT_ADDRESS_SPACE, global: GLOBAL_DEFAULT_ADDRESS_SPACE };
  }

  /**
   * Reserves a pool (ipamapi.Ipam.RequestPool). With `pool`, that pool (CONFLICT if it overlaps one
   * of the space, INVALID_ARGUMENT if malformed or with host bits); with `subPool`, dynamic addresses
   * come only from that range inside it. Without `pool`, the first predefined pool that overlaps no
   * allocated pool and no reserved host network (EXHAUSTED if none is free; INVALID_ARGUMENT for
   * IPv6 unless IPv6 networks were configured as predefined). `options` are accepted and ignored:
   * the default IPAM has none.
   */
  requestPool(request: PoolRequest): PoolResult {
    if (typeof request !== 'object' || request === null) throw invalidArgument('pool request must be an object');
    const space = this.addressSpace(request.addressSpace);
    // As in libnetwork's parsePoolRequest, "" means absent (the remote IPAM protocol sends "").
    const cidr = request.pool || undefined;
    const subPool = request.subPool || undefined;
    if (subPool !== undefined && cidr === undefined) {
      throw invalidArgument(`subPool ${subPool} needs a pool to lie in`);
    }
    const pool = cidr === undefined ? this.predefinedPool(space, request.v6 === true) : this.explicitPool(space, cidr, subPool, request.v6);
    this.pools.set(pool.id, pool);
    debug('requestPool %o -> %s', request, pool.id);
    return { poolId: pool.id, pool: pool.cidr, meta: {} };
  }

  /** Frees a pool and every address still taken from it (ipamapi.Ipam.ReleasePool). NOT_FOUND if unknown. */
  releasePool(poolId: string): void {
    const pool = this.pool(poolId);
    this.pools.delete(poolId);
    debug('releasePool %s (%s addresses still allocated)', poolId, pool.allocatedCount);
  }

  /**
   * Reserves an address and returns it as "address/prefix-length" (ipamapi.Ipam.RequestAddress).
   * A given `address` may be anywhere in the pool, also outside the sub-pool (INVALID_ARGUMENT if
   * outside the pool or the network/broadcast address, CONFLICT if taken). Without one: with
   * the lowest free address of the range (usually the first usable one, the gateway's), as
   * libnetwork's default IPAM does for local networks; with { 'com.docker.network.ipam.serial':
   * 'true' } (ALLOC_SERIAL), the next free one after the last one handed out, wrapping around
   * (the gateway request, { RequestAddressType: 'com.docker.network.gateway' }, still takes the
   * lowest). EXHAUSTED when the range is full; NOT_FOUND for an unknown pool.
   */
  requestAddress(poolId: string, address?: string, options?: Record<string, string>): string {
    const result = this.pool(poolId).request(address, options);
    debug('requestAddress %s %s %o -> %s', poolId, address ?? '(any)', options ?? {}, result);
    return result;
  }

  /**
   * Frees an address, given bare or as "address/prefix-length" (ipamapi.Ipam.ReleaseAddress).
   * NOT_FOUND for an unknown pool or an address that is not allocated.
   */
  releaseAddress(poolId: string, address: string): void {
    this.pool(poolId).release(address);
    debug('releaseAddress %s %s', poolId, address);
  }

  /** In memory only: a restarted controller requests its networks' pools and addresses again. */
  capabilities(): IpamCapabilities {
    return { requiresRequestReplay: true };
  }

  /** Every pool with its allocated addresses and round-robin cursor, as plain data. */
  toJSON(): IpamState {
    return { version: 1, pools: Array.from(this.pools.values(), (pool) => pool.toJSON()) };
  }

  /**
   * Rebuilds an IPAM from toJSON() output: the same pools, allocations and cursors. The options
   * (reserved networks, predefined pools) are not part of the state and are given again.
   * INVALID_ARGUMENT (or CONFLICT for overlapping pools) if the data is not a consistent state.
   */
  static fromJSON(data: unknown, options: DefaultIpamOptions = {}): DefaultIpam {
    const ipam = new DefaultIpam(options);
    for (const saved of checkIpamState(data).pools) {
      const { poolId } = ipam.requestPool({ addressSpace: saved.addressSpace, pool: saved.pool, subPool: saved.subPool });
      if (poolId !== saved.poolId) throw invalidArgument(`IPAM state pool ${saved.poolId} does not match its pool ${poolId}`);
      ipam.pool(poolId).restore(saved);
    }
    debug('fromJSON: %d pools', ipam.pools.size);
    return ipam;
  }

  private addressSpace(name: string | undefined): string {
    const space = name ?? LOCAL_DEFAULT_ADDRESS_SPACE;
    if (space !== LOCAL_DEFAULT_ADDRESS_SPACE && space !== GLOBAL_DEFAULT_ADDRESS_SPACE) {
      const known = `${LOCAL_DEFAULT_ADDRESS_SPACE} or ${GLOBAL_DEFAULT_ADDRESS_SPACE}`;
      throw invalidArgument(`address space ${JSON.stringify(space)} is not ${known}`);
    }
    return space;
  }

  private pool(poolId: string): AddressPool {
    const pool = this.pools.get(poolId);
    if (!pool) throw new CnmError('NOT_FOUND', `IPAM pool ${JSON.stringify(poolId)} does not exist`);
    return pool;
  }

  private poolsIn(space: string): AddressPool[] {
    return [...this.pools.values()].filter((pool) => pool.addressSpace === space);
  }

  private explicitPool(space: string, cidr: string, subPool: string | undefined, v6: boolean | undefined): AddressPool {
    const prefix = parsePrefix(cidr, 'pool');
    if (v6 !== undefined && v6 !== (prefix.family === 6)) {
      throw invalidArgument(`pool ${cidr} is IPv${prefix.family} but v6 is ${v6}`);
    }
    let subPrefix: Prefix | undefined;
    if (subPool !== undefined) {
      subPrefix = parsePrefix(subPool, 'subPool (ipRange)');
      if (!containsPrefix(prefix, subPrefix)) {
        throw invalidArgument(`subPool (ipRange) ${subPool} is not inside pool ${cidr}`);
      }
    }
    const clash = this.poolsIn(space).find((pool) => overlaps(pool.prefix, prefix));
    if (clash) {
      throw new CnmError('CONFLICT', `pool ${formatPrefix(prefix)} overlaps pool ${clash.cidr} (${clash.id}) in address space ${space}`);
    }
    return new AddressPool(space, prefix, subPrefix);
  }

  private predefinedPool(space: string, v6: boolean): AddressPool {
    const family = v6 ? 6 : 4;
    const networks = this.predefined[space];
    if (!networks.some((n) => n.base.family === family)) {
      throw invalidArgument(`address space ${space} has no predefined IPv${family} pools: give the pool explicitly`);
    }
    const reserved = this.reserved().map((cidr) => parseAddressOrPrefix(cidr, 'reserved network'));
    const taken = [...this.poolsIn(space).map((pool) => pool.prefix), ...reserved];
    const prefix = firstFreePool(networks, family, taken);
    if (!prefix) {
      throw new CnmError('EXHAUSTED', `no predefined IPv${family} pool of address space ${space} is free: all are allocated or overlap a host network`);
    }
    return new AddressPool(space, prefix);
  }
}
