// A network's address pools and its endpoints' addresses: the one place that reserves them (at
// create), takes them back from a record (at restore) and releases them (libnetwork's
// network.ipamAllocate / ipamRelease, endpoint.assignAddress / releaseAddress).
import createDebug from './util/debug';
import type { IpamData } from './drivers/api';
import { CnmError, invalidArgument } from './errors';
import { GATEWAY_ADDRESS_TYPE, REQUEST_ADDRESS_TYPE } from './ipam';
import { containsAddress, parseAddress, parsePrefix } from './ipam/prefix';
import type { IpamCaller } from './ipam-caller';
import type { EndpointOptions, IpamPoolConfig } from './options';

const debug = createDebug('cnm:network');

/** An IPAM pool as the network holds it. */
export interface AllocatedPool extends IpamData {
  poolId: string;
  ipRange?: string;
}

/** A network's pools by family. */
export interface NetworkPools {
  v4: AllocatedPool[];
  v6: AllocatedPool[];
}

/** The IPAM options of a network (Docker's --ipam-opt), given with each of its requests. */
type IpamOpts = Record<string, string>;

/** Reserves the pools of a new network with their gateways and aux addresses; all or none. */
export async function allocatePools(ipam: IpamCaller, config: { v4: IpamPoolConfig[]; v6: IpamPoolConfig[] }, options: IpamOpts = {}): Promise<NetworkPools> {
  const addressSpace = await ipam.localAddressSpace();
  return allOrNone(ipam, async (pools) => {
    for (const family of ['v4', 'v6'] as const) {
      for (const c of config[family]) {
        const { poolId, pool } = await ipam.requestPool({ addressSpace, pool: c.subnet, subPool: c.ipRange, options, v6: family === 'v6' });
        const allocated: AllocatedPool = { poolId, addressSpace, pool, gateway: '', auxAddresses: {}, ipRange: c.ipRange };
        pools[family].push(allocated);
        await reserveAddresses(ipam, allocated, c.gateway, c.auxAddresses ?? {}, options);
      }
    }
  });
}

/**
 * Takes back the pools a network's record saved; all or none. An IPAM that keeps its own records
 * (no request replay) still holds them: they are taken as the record has them.
 */
export async function reclaimPools(ipam: IpamCaller, saved: NetworkPools, options: IpamOpts = {}): Promise<NetworkPools> {
  if (!ipam.replays) return structuredClone(saved);
  return allOrNone(ipam, async (pools) => {
    for (const family of ['v4', 'v6'] as const) {
      for (const s of saved[family]) {
        const { poolId } = await ipam.requestPool({ addressSpace: s.addressSpace, pool: s.pool, subPool: s.ipRange, options, v6: family === 'v6' });
        const pool: AllocatedPool = { ...s, poolId, gateway: '', auxAddresses: {} };
        pools[family].push(pool);
        if (poolId !== s.poolId) throw new Error(`pool ${s.pool} came back as ${poolId}, not ${s.poolId}`);
        await reserveAddresses(ipam, pool, s.gateway || undefined, s.auxAddresses, options, s.gateway === '');
      }
    }
  });
}

/** Frees gateways, aux addresses and pools, newest first; logs (does not throw) what fails. */
export async function releasePools(ipam: IpamCaller, pools: NetworkPools): Promise<void> {
  const logged = (what: string) => (err: unknown) => debug('release %s: %s', what, (err as Error).message);
  for (const pool of [...pools.v4, ...pools.v6].reverse()) {
    for (const address of [...Object.values(pool.auxAddresses), pool.gateway].filter(Boolean)) {
      await ipam.releaseAddress(pool, address).catch(logged(address));
    }
    await ipam.releasePool(pool.poolId).catch(logged(pool.poolId));
  }
}

/** Fills the pools with `reserve`; if it throws, releases what it reserved so far. */
async function allOrNone(ipam: IpamCaller, reserve: (pools: NetworkPools) => Promise<void>): Promise<NetworkPools> {
  const pools: NetworkPools = { v4: [], v6: [] };
  try {
    await reserve(pools);
  } catch (err) {
    await releasePools(ipam, pools);
    throw err;
  }
  return pools;
}

/**
 * Reserves a pool's gateway and aux addresses, recording each in `pool` as soon as it is taken.
 * `noGateway`: the pool had none (its IPAM gave none), so none is asked for again.
 */
async function reserveAddresses(
  ipam: IpamCaller,
  pool: AllocatedPool,
  gateway: string | undefined,
  aux: Record<string, string>,
  options: IpamOpts,
  noGateway = false,
): Promise<void> {
  const taken = new Set<string>();
  const inUse = (address: string) => taken.has(address);
  if (!noGateway) {
    pool.gateway = (await ipam.requestAddress(pool, gateway, { ...options, [REQUEST_ADDRESS_TYPE]: GATEWAY_ADDRESS_TYPE }, inUse)) ?? '';
    if (pool.gateway) taken.add(pool.gateway.split('/')[0]);
  }
  for (const [name, address] of Object.entries(aux)) {
    await ipam.requestAddress(pool, address, options, inUse);
    taken.add(address);
    pool.auxAddresses[name] = address;
  }
}

/** An endpoint's addresses, each from one of the network's pools of its family. */
export interface EndpointAddresses {
  address?: string;
  addressIPv6?: string;
}

/** The pool of `pools` whose subnet holds `address` (bare or with a prefix length), if any. */
function poolOf(pools: AllocatedPool[], address: string): AllocatedPool | undefined {
  const { family, value } = parseAddress(address.split('/')[0]);
  return pools.find((p) => {
    const prefix = parsePrefix(p.pool);
    return prefix.family === family && containsAddress(prefix, value);
  });
}

/**
 * Reserves one address of a family: the one asked for from the pool that holds it, else the first
 * free one of the pools in order, as libnetwork's assignAddressVersion does (an exhausted pool
 * passes on to the next). Null when the family has no pool or the IPAM hands out none.
 */
async function reserveOne(
  ipam: IpamCaller,
  pools: AllocatedPool[],
  wanted: string | undefined,
  family: 4 | 6,
  networkName: string,
  options: IpamOpts,
  inUse: (address: string) => boolean,
): Promise<string | null> {
  if (wanted !== undefined) {
    const pool = poolOf(pools, wanted);
    if (!pool) throw invalidArgument(`address ${wanted} does not belong to any IPv${family} subnet of network ${networkName}`);
    return ipam.requestAddress(pool, wanted, options, inUse);
  }
  let last: CnmError | undefined;
  for (const pool of pools) {
    try {
      return await ipam.requestAddress(pool, undefined, options, inUse);
    } catch (err) {
      if (!(err instanceof CnmError && err.code === 'EXHAUSTED')) throw err;
      debug('pool %s is full: %s', pool.pool, err.message);
      last = err;
    }
  }
  if (!last) return null;
  const pooled = pools.map((p) => p.pool).join(', ');
  throw new CnmError('EXHAUSTED', `no available IPv${family} address on network ${networkName}: every pool (${pooled}) is full (${last.message})`, {
    cause: last,
  });
}

/**
 * Reserves a new endpoint's addresses: the ones it asks for, else the next free; all or none.
 * INVALID_ARGUMENT for an address in none of the network's (`networkName`) subnets. `inUse` is
 * asked once about each address a registered IPAM gives: true if the network holds it already
 * (the answer is refused), else the caller may count it as taken from then on.
 */
export async function reserveEndpointAddresses(
  ipam: IpamCaller,
  pools: NetworkPools,
  wanted: EndpointOptions,
  networkName: string,
  options: IpamOpts = {},
  inUse: (address: string) => boolean = () => false,
): Promise<EndpointAddresses> {
  const reserved: EndpointAddresses = {};
  try {
    const v4 = await reserveOne(ipam, pools.v4, wanted.ipv4Address, 4, networkName, options, inUse);
    if (v4) reserved.address = v4;
    const v6 = await reserveOne(ipam, pools.v6, wanted.ipv6Address, 6, networkName, options, inUse);
    if (v6) reserved.addressIPv6 = v6;
  } catch (err) {
    await releaseEndpointAddresses(ipam, pools, reserved).catch((e: unknown) => debug('undo: %s', (e as Error).message));
    throw err;
  }
  return reserved;
}

/** Takes back the addresses an endpoint's record holds (for an IPAM that replays); all or none. */
export async function reclaimEndpointAddresses(ipam: IpamCaller, pools: NetworkPools, saved: EndpointAddresses, options: IpamOpts = {}): Promise<void> {
  if (!ipam.replays) return;
  const taken: EndpointAddresses = {};
  try {
    for (const key of ['address', 'addressIPv6'] as const) {
      const address = saved[key];
      if (!address) continue;
      const pool = poolOf(key === 'address' ? pools.v4 : pools.v6, address);
      if (!pool) throw new Error(`address ${address} is in none of the network's pools`);
      await ipam.requestAddress(pool, address, options);
      taken[key] = address;
    }
  } catch (err) {
    await releaseEndpointAddresses(ipam, pools, taken).catch((e: unknown) => debug('undo: %s', (e as Error).message));
    throw err;
  }
}

/** Frees an endpoint's addresses, each in the pool that holds it; throws the first failure after trying both. */
export async function releaseEndpointAddresses(ipam: IpamCaller, pools: NetworkPools, addresses: EndpointAddresses): Promise<void> {
  const errors: unknown[] = [];
  for (const [address, family] of [
    [addresses.address, pools.v4],
    [addresses.addressIPv6, pools.v6],
  ] as const) {
    if (!address) continue;
    const pool = poolOf(family, address);
    if (pool) await ipam.releaseAddress(pool, address).catch((err: unknown) => errors.push(err));
  }
  if (errors.length > 0) throw errors[0];
}
