// The IPAM driver API: libnetwork's ipamapi.Ipam (ipamapi/contract.go) in camelCase. A method may
// answer at once (the built-in IPAMs are in memory) or with a Promise (an IPAM of your own, given to
// `controller.registerIpam`); the controller checks every answer and waits for none forever.

/** libnetwork's default address space for local-scope networks (ipamapi.LocalDefaultAddressSpace). */
export const LOCAL_DEFAULT_ADDRESS_SPACE = 'LocalDefault';
/** libnetwork's default address space for global-scope networks (ipamapi.GlobalDefaultAddressSpace). */
export const GLOBAL_DEFAULT_ADDRESS_SPACE = 'GlobalDefault';

/** The option key that says what an address is for (ipamapi.RequestAddressType). */
export const REQUEST_ADDRESS_TYPE = 'RequestAddressType';
/** The value of REQUEST_ADDRESS_TYPE when the network's gateway is requested (netlabel.Gateway). */
export const GATEWAY_ADDRESS_TYPE = 'com.docker.network.gateway';
/**
 * The option that asks for serial (round-robin) allocation, "true", instead of the lowest free
 * address (ipamapi.AllocSerialPrefix; Docker's `--ipam-opt com.docker.network.ipam.serial=true`).
 */
export const ALLOC_SERIAL = 'com.docker.network.ipam.serial';

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

/** A value now or later. */
export type MaybePromise<T> = T | Promise<T>;

/** What an IPAM driver says about itself (ipamapi.Capability). */
export interface IpamCapabilities {
  /**
   * At a restart, the controller requests every pool and address of its networks again
   * (libnetwork's RequiresRequestReplay): true for an IPAM that keeps its state in memory only.
   * False (the default for a registered IPAM): the IPAM keeps its own records and still holds them.
   */
  requiresRequestReplay?: boolean;
}

/** An IPAM driver (libnetwork's ipamapi.Ipam). */
export interface Ipam {
  /** The names of the local and global default address spaces (ipamapi.Ipam.GetDefaultAddressSpaces). */
  getDefaultAddressSpaces(): MaybePromise<{ local: string; global: string }>;
  /** Reserves a pool, explicit or predefined (ipamapi.Ipam.RequestPool). */
  requestPool(request: PoolRequest): MaybePromise<PoolResult>;
  /** Frees a pool and every address in it (ipamapi.Ipam.ReleasePool). */
  releasePool(poolId: string): MaybePromise<void>;
  /**
   * Reserves one address of a pool, the given one or any free one, and returns it as
   * "address/pool-prefix-length" (ipamapi.Ipam.RequestAddress); null when the IPAM hands out no
   * addresses (the null IPAM).
   */
  requestAddress(poolId: string, address?: string, options?: Record<string, string>): MaybePromise<string | null>;
  /** Frees one address of a pool (ipamapi.Ipam.ReleaseAddress). */
  releaseAddress(poolId: string, address: string): MaybePromise<void>;
  /** What the IPAM needs of the controller (ipamapi.Ipam capabilities); default: no replay. */
  capabilities?(): IpamCapabilities;
}
