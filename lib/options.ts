// The option objects of the public API, with Docker's names in camelCase.
// A leaf: the options of the controller and of sandboxes sit beside their classes, which they name.
import type { DriverOptions, ExposedPort, PortBinding } from './drivers/api';

export type { BoundPort, ExposedPort, PortBinding } from './drivers/api';

/** The network types of the built-in drivers (`docker network create -d`). */
export type BuiltinNetworkType = 'null' | 'host' | 'bridge' | 'macvlan';

/** A built-in network type, or the type of a driver given to `registerDriver`. */
// `string & {}` keeps editors offering the built-in names while any string is accepted.
export type NetworkType = BuiltinNetworkType | (string & {});

/** One IPAM pool of a network (Docker's IPAM config entry). */
export interface IpamPoolConfig {
  subnet?: string;
  /** Dynamic addresses come from this range inside the subnet. */
  ipRange?: string;
  gateway?: string;
  /** Addresses to keep out of allocation, by name. */
  auxAddresses?: Record<string, string>;
}

export interface IpamOptions {
  /**
   * The IPAM driver: 'default' (the default), 'null' (no addresses: they come from the driver or
   * are set by the caller) or a name given to `registerIpam` / the controller's `ipams` option.
   */
  driver?: string;
  config?: IpamPoolConfig[];
  /** Options given to the IPAM with each request (Docker's `--ipam-opt`). */
  options?: Record<string, string>;
}

export interface NetworkOptions {
  /** Driver options, Docker's labels as strings ('com.docker.network.bridge.name': 'br-x'). */
  driverOptions?: DriverOptions;
  ipam?: IpamOptions;
  /** No outside access: no default route, no masquerade. */
  internal?: boolean;
  enableIPv6?: boolean;
  labels?: Record<string, string>;
}

export interface EndpointOptions {
  /** A static IPv4 address in the network's subnet (no prefix length). */
  ipv4Address?: string;
  ipv6Address?: string;
  macAddress?: string;
  exposedPorts?: ExposedPort[];
  portMapping?: PortBinding[];
  dnsNames?: string[];
}

export interface JoinOptions {
  /** Gateway priority: the joined endpoint with the highest priority gives the default route. */
  priority?: number;
}
