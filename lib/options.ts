// The option objects of the public API, with Docker's names in camelCase.
import type { DriverOptions } from './drivers/api';
import type { ControllerEvents } from './controller';
import type { Sandbox } from './sandbox';
import type { SandboxDnsConfig } from './sandbox-files';

export interface ControllerOptions {
  /**
   * Where the controller keeps its state (records of networks, endpoints and sandboxes; sandbox
   * hosts / resolv.conf) and its lock. Default /var/lib/cnm-ts. One controller at a time per directory.
   */
  stateDir?: string;
  /** Where sandbox namespaces are mounted. Default /run/netns, so `ip netns` sees them. */
  netnsDir?: string;
  /** Where `ip netns exec` looks for per-namespace files. Default /etc/netns. */
  etcNetnsDir?: string;
  /** The host's resolver configuration, read for DNS servers. Default /etc/resolv.conf. */
  hostResolvConf?: string;
  /** Make the predefined networks none, host and bridge, like Docker. Default true. */
  predefinedNetworks?: boolean;
  /** The default bridge network's device. Default 'cnm0'. */
  defaultBridgeName?: string;
  /**
   * At start, keep the sandboxes an earlier controller left whose namespace is still there, with
   * their joined endpoints (like Docker's live-restore). Default true. With false, every restored
   * sandbox is deleted at start (its endpoints stay, not joined).
   */
  liveRestore?: boolean;
  /** Listeners attached before the controller starts, so that they hear what happens at restore. */
  listeners?: { [E in keyof ControllerEvents]?: (...args: ControllerEvents[E]) => void };
}

/** The network types of the built-in drivers (`docker network create -d`). */
export type BuiltinNetworkType = 'null' | 'host' | 'bridge';

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
  /** Only 'default' is built in. */
  driver?: string;
  config?: IpamPoolConfig[];
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

/**
 * A published port (libnetwork's PortBinding): container `port`/`proto` on the host at
 * `hostIP` (default: the network's host_binding_ipv4, else 0.0.0.0) and `hostPort` (0 or absent:
 * a free one; with `hostPortEnd`, the first free one of the range).
 */
export interface PortBinding {
  proto: 'tcp' | 'udp' | 'sctp';
  port: number;
  hostIP?: string;
  hostPort?: number;
  hostPortEnd?: number;
}

export interface ExposedPort {
  proto: 'tcp' | 'udp' | 'sctp';
  port: number;
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

/** A sandbox's options: hostname, DNS and extra hosts (see SandboxDnsConfig), and its mode. */
export interface SandboxOptions extends SandboxDnsConfig {
  /** Host mode: the sandbox is the host's own namespace. */
  useDefaultSandbox?: boolean;
  /** Container mode: share this other sandbox's namespace. */
  shareWith?: Sandbox;
  labels?: Record<string, string>;
}
