// The option objects of the public API, with Docker's names in camelCase.
// A leaf: the options of the controller and of sandboxes sit beside their classes, which they name.
import type { DriverOptions, ExposedPort, PortBinding } from './drivers/api';

export type { BoundPort, ExposedPort, PortBinding } from './drivers/api';

/** The network types of the built-in drivers (`docker network create -d`). */
export type BuiltinNetworkType = 'null' | 'host' | 'bridge' | 'macvlan';

/**
 * A network type: a built-in one or the type of a driver given to `registerDriver`. Any string,
 * where the types a controller knows are not known statically (a controller typed as plain
 * `NetworkController`; see its type parameters for the checked list).
 */
// `string & {}` keeps editors offering the built-in names while any string is accepted.
export type NetworkType = BuiltinNetworkType | (string & {});

/** The built-in IPAM drivers: 'default' (addresses from pools) and 'null' (no addresses). */
export type BuiltinIpamName = 'default' | 'null';

/** An IPAM driver's name: a built-in one or one given to `registerIpam` / the `ipams` option. */
export type IpamName = BuiltinIpamName | (string & {});

/** One IPAM pool of a network (Docker's IPAM config entry). */
export interface IpamPoolConfig {
  subnet?: string;
  /** Dynamic addresses come from this range inside the subnet. */
  ipRange?: string;
  gateway?: string;
  /** Addresses to keep out of allocation, by name. */
  auxAddresses?: Record<string, string>;
}

/**
 * A network's IPAM; `Ipams`, the IPAM names its controller knows (see NetworkController).
 * libnetwork: IpamConf; docker: `docker network create --ipam-driver --subnet --gateway --ip-range`.
 */
export interface IpamOptions<Ipams extends string = IpamName> {
  /**
   * The IPAM driver: 'default' (the default), 'null' (no addresses: they come from the driver or
   * are set by the caller) or a name given to `registerIpam` / the controller's `ipams` option.
   */
  driver?: Ipams;
  config?: IpamPoolConfig[];
  /** Options given to the IPAM with each request (Docker's `--ipam-opt`). */
  options?: Record<string, string>;
}

/**
 * A network's options; `Ipams`, the IPAM names its controller knows (see NetworkController).
 * libnetwork: NetworkOption; docker: `docker network create` flags.
 */
export interface NetworkOptions<Ipams extends string = IpamName> {
  /** Driver options, Docker's labels as strings ('com.docker.network.bridge.name': 'br-x'). */
  driverOptions?: DriverOptions;
  ipam?: IpamOptions<Ipams>;
  /** No outside access: no default route, no masquerade. */
  internal?: boolean;
  /**
   * IPv4 addresses: an IPv4 pool (the given subnet, else a predefined one), a gateway and
   * addresses. Default true; false with `enableIPv6` makes an IPv6-only network (Docker 28's
   * `--ipv4=false`). docker: `EnableIPv4`.
   */
  enableIPv4?: boolean;
  /**
   * IPv6 addresses: the given IPv6 subnet, else a /64 of the controller's default IPv6 pools (see
   * ControllerOptions.defaultAddressPools). Default false. docker: `--ipv6`.
   */
  enableIPv6?: boolean;
  labels?: Record<string, string>;
}

/**
 * Options of `Network.createEndpoint()` (libnetwork: EndpointOption; docker: the `docker run` network
 * flags such as `--ip`, `--mac-address`, `-p`).
 */
export interface EndpointOptions {
  /** A static IPv4 address in the network's subnet (no prefix length). */
  ipv4Address?: string;
  ipv6Address?: string;
  macAddress?: string;
  exposedPorts?: ExposedPort[];
  portMapping?: PortBinding[];
  dnsNames?: string[];
}

/**
 * Options of `Endpoint.join()` (libnetwork: the endpoint join options; docker: `--network-alias` and
 * the like).
 */
export interface JoinOptions {
  /** Gateway priority: the joined endpoint with the highest priority gives the default route. */
  priority?: number;
}
