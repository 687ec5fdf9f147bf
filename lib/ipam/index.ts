// The IPAM layer: the driver API (libnetwork's ipamapi) and the default driver.
export {
  ALLOC_SERIAL,
  GATEWAY_ADDRESS_TYPE,
  GLOBAL_DEFAULT_ADDRESS_SPACE,
  LOCAL_DEFAULT_ADDRESS_SPACE,
  REQUEST_ADDRESS_TYPE,
  type Ipam,
  type IpamCapabilities,
  type MaybePromise,
  type PoolRequest,
  type PoolResult,
} from './types';
export { DefaultIpam, type DefaultIpamOptions } from './default';
export { NULL_ADDRESS_SPACE, NullIpam } from './null';
export { DEFAULT_GLOBAL_POOLS, DEFAULT_LOCAL_POOLS, type PredefinedPool, type PredefinedSpec } from './predefined';
export type { IpamState, PoolState } from './state';
