// A network's address pools and its endpoints' addresses: the one place that reserves them (at
// create), takes them back from a record (at restore) and releases them (libnetwork's
// network.ipamAllocate / ipamRelease, endpoint.assignAddress / releaseAddress).
import createDebug from 'debug';
import type { IpamData } from './drivers/api';
import { invalidArgument } from './errors';
import { GATEWAY_ADDRESS_TYPE, REQUEST_ADDRESS_TYPE, type Ipam } from './ipam';
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

/** Reserves the pools of a new network with their gateways and aux addresses; all or none. */
export function allocatePools(ipam: Ipam, config: { v4: IpamPoolConfig[]; v6: IpamPoolConfig[] }): NetworkPools {
  return allOrNone(ipam, (pools) => {
    for (const family of ['v4', 'v6'] as const) {
      for (const c of config[family]) {
        const { poolId, pool } = ipam.requestPool({ pool: c.subnet, subPool: c.ipRange, v6: family === 'v6' });
        const allocated: AllocatedPool = { poolId, addressSpace: poolId.split('/')[0], pool, gateway: '', auxAddresses: {}, ipRange: c.ipRange };
        pools[family].push(allocated);
        reserveAddresses(ipam, allocated, c.gateway, c.auxAddresses ?? {});
      }
    }
  });
}

/** Takes back the pools a network's record saved, each under the id it had; all or none. */
export function reclaimPools(ipam: Ipam, saved: NetworkPools): NetworkPools {
  return allOrNone(ipam, (pools) => {
    for (const family of ['v4', 'v6'] as const) {
      for (const s of saved[family]) {
        const { poolId } = ipam.requestPool({ addressSpace: s.addressSpace, pool: s.pool, subPool: s.ipRange, v6: family === 'v6' });
        const pool: AllocatedPool = { ...s, poolId, gateway: '', auxAddresses: {} };
        pools[family].push(pool);
        if (poolId !== s.poolId) throw new Error(`pool ${s.pool} came back as ${poolId}, not ${s.poolId}`);
        reserveAddresses(ipam, pool, s.gateway, s.auxAddresses);
      }
    }
  });
}

/** Frees gateways, aux addresses and pools, newest first; logs (does not throw) what fails. */
export function releasePools(ipam: Ipam, pools: NetworkPools): void {
  for (const pool of [...pools.v4, ...pools.v6].reverse()) {
    for (const address of [...Object.values(pool.auxAddresses), pool.gateway].filter(Boolean)) {
      try {
        ipam.releaseAddress(pool.poolId, address);
      } catch (err) {
        debug('release %s: %s', address, (err as Error).message);
      }
    }
    ipam.releasePool(pool.poolId);
  }
}

/** Fills the pools with `reserve`; if it throws, releases what it reserved so far. */
function allOrNone(ipam: Ipam, reserve: (pools: NetworkPools) => void): NetworkPools {
  const pools: NetworkPools = { v4: [], v6: [] };
  try {
    reserve(pools);
  } catch (err) {
    releasePools(ipam, pools);
    throw err;
  }
  return pools;
}

/** Reserves a pool's gateway and aux addresses, recording each in `pool` as soon as it is taken. */
function reserveAddresses(ipam: Ipam, pool: AllocatedPool, gateway: string | undefined, aux: Record<string, string>): void {
  pool.gateway = ipam.requestAddress(pool.poolId, gateway, { [REQUEST_ADDRESS_TYPE]: GATEWAY_ADDRESS_TYPE });
  for (const [name, address] of Object.entries(aux)) {
    ipam.requestAddress(pool.poolId, address);
    pool.auxAddresses[name] = address;
  }
}

/** An endpoint's addresses, each from the first pool of its family. */
export interface EndpointAddresses {
  address?: string;
  addressIPv6?: string;
}

/**
 * Reserves a new endpoint's addresses: the ones it asks for, else the next free; all or none.
 * INVALID_ARGUMENT for an address of a family the network (`networkName`) has no pool of.
 */
export function reserveEndpointAddresses(ipam: Ipam, pools: NetworkPools, wanted: EndpointOptions, networkName: string): EndpointAddresses {
  const reserved: EndpointAddresses = {};
  try {
    if (pools.v4[0]) reserved.address = ipam.requestAddress(pools.v4[0].poolId, wanted.ipv4Address);
    else if (wanted.ipv4Address) throw invalidArgument(`network ${networkName} has no IPv4 subnet for ${wanted.ipv4Address}`);
    if (pools.v6[0]) reserved.addressIPv6 = ipam.requestAddress(pools.v6[0].poolId, wanted.ipv6Address);
    else if (wanted.ipv6Address) throw invalidArgument(`network ${networkName} has no IPv6 subnet for ${wanted.ipv6Address}`);
  } catch (err) {
    releaseEndpointAddresses(ipam, pools, reserved);
    throw err;
  }
  return reserved;
}

/** Takes back the addresses an endpoint's record holds; all or none. */
export function reclaimEndpointAddresses(ipam: Ipam, pools: NetworkPools, saved: EndpointAddresses): void {
  const taken: EndpointAddresses = {};
  try {
    if (saved.address) taken.address = ipam.requestAddress(pools.v4[0].poolId, saved.address);
    if (saved.addressIPv6) taken.addressIPv6 = ipam.requestAddress(pools.v6[0].poolId, saved.addressIPv6);
  } catch (err) {
    releaseEndpointAddresses(ipam, pools, taken);
    throw err;
  }
}

/** Frees an endpoint's addresses. */
export function releaseEndpointAddresses(ipam: Ipam, pools: NetworkPools, addresses: EndpointAddresses): void {
  if (addresses.address) ipam.releaseAddress(pools.v4[0].poolId, addresses.address);
  if (addresses.addressIPv6) ipam.releaseAddress(pools.v6[0].poolId, addresses.addressIPv6);
}
