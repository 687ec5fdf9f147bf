// The IPAM driver API: libnetwork's ipamapi.Ipam (ipamapi/contract.go) in camelCase. Synchronous,
// because every implementation here is in memory; the network code calls it under its own lock.

/** libnetwork's default address space for local-scope networks (ipamapi.LocalDefaultAddressSpace). */
export const LOCAL_DEFAULT_ADDRESS_SPACE = 'LocalDefault';
/** libnetwork's default address space for global-scope networks (ipamapi.GlobalDefaultAddressSpace). */
export const GLOBAL_DEFAULT_ADDRESS_SPACE = 'GlobalDefault';

/** The option key that says what an address is for (ipamapi.RequestAddressType). */
export const REQUEST_ADDRESS_TYPE = 'RequestAddressType';
/** The value of REQUEST_ADDRESS_TYPE when the network's gateway is requested (netlabel.Gateway). */
export const GATEWAY_ADDRESS_TYPE = 'com.docker.network.gateway';

/** What RequestPool asks for (ipamapi.PoolRequest). */
export interface PoolRequest {
  /** Default: LocalDefault. */
  addressSpace?: string;
  /** The pool as a CIDR with no host bits ("10.1.0.0/16"); absent: pick a free predefined one. */
  pool?: string;
  /** Docker's ipRange: a CIDR inside `pool` that dynamic addresses come from. Needs `pool`. */
  subPool?: string;
  /** Driver options (the default IPAM takes none). */
  options?: Record<string, string>;
  /** An IPv6 pool. Default: the family of `pool`, or IPv4 when `pool` is absent. */
  v6?: boolean;
}

/** What RequestPool returns (ipamapi.AllocatedPool). */
export interface PoolResult {
  /** Opaque id for the other calls; the default IPAM uses libnetwork's "Space/Subnet[/SubPool]". */
  poolId: string;
  /** The pool as a canonical CIDR. */
  pool: string;
  /** Driver data; libnetwork reads a gateway from `com.docker.network.gateway` when a driver sets it. */
  meta: Record<string, string>;
}

/** An IPAM driver (libnetwork's ipamapi.Ipam). */
export interface Ipam {
  /** The names of the local and global default address spaces (ipamapi.Ipam.GetDefaultAddressSpaces). */
  getDefaultAddressSpaces(): { local: string; global: string };
  /** Reserves a pool, explicit or predefined (ipamapi.Ipam.RequestPool). */
  requestPool(request: PoolRequest): PoolResult;
  /** Frees a pool and every address in it (ipamapi.Ipam.ReleasePool). */
  releasePool(poolId: string): void;
  /**
   * Reserves one address of a pool, the given one or any free one, and returns it as
   * "address/pool-prefix-length" (ipamapi.Ipam.RequestAddress).
   */
  requestAddress(poolId: string, address?: string, options?: Record<string, string>): string;
  /** Frees one address of a pool (ipamapi.Ipam.ReleaseAddress). */
  releaseAddress(poolId: string, address: string): void;
}
