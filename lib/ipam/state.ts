// The saved form of the default IPAM (DefaultIpam.toJSON) and the shape check of data read back.
import { invalidArgument } from '../errors';
import type { PoolState } from './pool';

export type { PoolState } from './pool';

/** Everything DefaultIpam holds, as plain JSON-serialisable data. */
export interface IpamState {
  version: 1;
  pools: PoolState[];
}

const isString = (v: unknown): v is string => typeof v === 'string';

/** Checks that `data` has the shape of an IpamState (addresses are checked when they are re-taken). */
export function checkIpamState(data: unknown): IpamState {
  const state = data as Partial<IpamState> | null;
  if (typeof state !== 'object' || state === null || state.version !== 1 || !Array.isArray(state.pools)) {
    throw invalidArgument('IPAM state must be an object { version: 1, pools: [...] }');
  }
  state.pools.forEach((pool: Partial<PoolState> | null, i) => {
    const ok =
      typeof pool === 'object' &&
      pool !== null &&
      isString(pool.poolId) &&
      isString(pool.addressSpace) &&
      isString(pool.pool) &&
      (pool.subPool === undefined || isString(pool.subPool)) &&
      (pool.next === undefined || isString(pool.next)) &&
      Array.isArray(pool.allocated) &&
      pool.allocated.every(isString);
    if (!ok) throw invalidArgument(`IPAM state pool #${i} (${JSON.stringify(pool?.poolId)}) is malformed`);
  });
  return state as IpamState;
}
