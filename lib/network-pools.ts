// A network's address pools: the one place that reserves them (at create), takes them back from a
// record (at restore) and releases them (libnetwork's network.ipamAllocate / ipamRelease).
import createDebug from 'debug';
import type { IpamData } from './drivers/api';
import { GATEWAY_ADDRESS_TYPE, REQUEST_ADDRESS_TYPE, type Ipam } from './ipam';
import type { IpamPoolConfig } from './options';

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
