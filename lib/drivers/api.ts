// The network driver API: libnetwork's classic driverapi.Driver in TypeScript. A driver does the
// kernel work for its networks; the controller does naming, IPAM, bookkeeping and events.

import type { NativeOp, NativeResult, PortProtocol } from '../native';

/**
 * A port to publish, as asked for (libnetwork's PortBinding): container `port`/`proto` on the host
 * at `hostIP` (default: the network's host_binding_ipv4, else 0.0.0.0) and `hostPort` (0 or
 * absent: a free one; with `hostPortEnd`, the first free one of the range).
 */
export interface PortBinding {
  proto: PortProtocol;
  port: number;
  hostIP?: string;
  hostPort?: number;
  hostPortEnd?: number;
}

/**
 * A published port as bound: the host address and the host port it holds, the one picked for 0,
 * absent or a range (what `docker inspect` shows under Ports once a container runs). No range.
 * In a family whose gateway mode is routed, hostIP is that family's any-address and hostPort 0:
 * no host port, the container's own port is opened.
 */
export interface BoundPort extends PortBinding {
  hostIP: string;
  hostPort: number;
  hostPortEnd?: undefined;
}

/**
 * A port a container exposes (docker: `--expose PORT/PROTO`); the bridge driver lets it through from
 * other networks' containers.
 */
export interface ExposedPort {
  proto: PortProtocol;
  port: number;
}

/** Driver options: Docker's labels, values as strings (`docker network create -o`). */
export type DriverOptions = Record<string, string>;

/** One address pool of a network, as IPAM gave it (libnetwork's IPAMData). */
export interface IpamData {
  addressSpace: string;
  /** The subnet, "172.18.0.0/16". */
  pool: string;
  /** The gateway with the pool's prefix length, "172.18.0.1/16". */
  gateway: string;
  /** Reserved addresses by name. */
  auxAddresses: Record<string, string>;
}

/** What a driver learns about a network it is to create. */
export interface NetworkCreateInfo {
  id: string;
  name: string;
  /**
   * The controller's mark, unique to its state directory: a driver labels the kernel objects it
   * makes with it (the bridge's alias), so that cleanup after a crash can tell its own from anyone
   * else's.
   */
  owner: string;
  options: DriverOptions;
  internal: boolean;
  enableIPv6: boolean;
  ipv4: IpamData[];
  ipv6: IpamData[];
}

/** An endpoint's interface: the addresses IPAM gave it; the driver may set the MAC. */
export interface InterfaceInfo {
  /** "172.18.0.2/16", absent on networks without IPAM (null, host). */
  address?: string;
  addressIPv6?: string;
  macAddress?: string;
}

/** Where an endpoint joins and how (filled in by the sandbox). */
export interface JoinTarget {
  sandboxId: string;
  /** The sandbox's namespace path. */
  key: string;
  /** The sandbox is the host's own namespace (host mode). */
  isHost: boolean;
  /** The interface name inside the sandbox (eth0, eth1, ...). */
  ifname: string;
  /** Route the sandbox's default traffic through this endpoint's gateway (replacing any other). */
  defaultRoute: boolean;
}

/**
 * The sandbox's own operations for a join, given what the join sets up (`ops`): its state record,
 * its hosts file when it has a hostname, and on its first join to a network with names, its DNS
 * server (its sockets, the redirect to their ports, resolv.conf). A driver that does its kernel
 * work in one batch appends them to it, so that a join is one trip to the kernel, and hands what
 * they returned to `done`; a failure there is a failure of the join, undone as any other. A driver
 * that never calls `ops` leaves the sandbox to run them after join() returns.
 */
export interface JoinSandboxOps {
  /** The operations to append, given what the join sets up. */
  ops(info: JoinInfo): NativeOp[];
  /** What they returned, in order, once the batch succeeded. */
  done(results: NativeResult[]): void;
}

/** What a join set up, for the sandbox's bookkeeping (libnetwork's JoinInfo). */
export interface JoinInfo {
  /** The interface inside the sandbox, or null when the driver made none (host, null). */
  ifname: string | null;
  gateway: string | null;
  gatewayIPv6: string | null;
  staticRoutes: { destination: string; nextHop?: string }[];
}

/** What an endpoint asks of the outside world (Docker's port bindings). */
export interface ExternalConnectivity {
  portMapping: PortBinding[];
}

/** A network the driver had before a restart, with what networkState() returned for it. */
export interface RestoredNetwork {
  info: NetworkCreateInfo;
  state: unknown;
}

/** An endpoint the driver had before a restart; `joined` says where it is joined, if it is. */
export interface RestoredEndpoint {
  networkId: string;
  endpointId: string;
  iface: InterfaceInfo;
  state: unknown;
  joined: JoinTarget | null;
  /** The ports it had published (programExternalConnectivity's result), to publish again. */
  published: BoundPort[];
}

/** What a driver gets back after a restart. */
export interface RestoreContext {
  /** The controller's mark (see NetworkCreateInfo.owner). */
  owner: string;
  networks: RestoredNetwork[];
  endpoints: RestoredEndpoint[];
  /**
   * Ids of this controller's networks whose records could not be read: their kernel objects are
   * neither restored nor removed.
   */
  unreadable: string[];
  /**
   * Ids of this controller's sandboxes whose records could not be read or were skipped: their
   * namespaces are left alone, and so are the interfaces made for them.
   */
  unreadableSandboxes: string[];
  /**
   * The namespaces (keys) of the restored sandboxes that are not the host's: where a driver that
   * makes its links inside sandboxes (macvlan) looks for marked links no endpoint refers to.
   */
  namespaces: string[];
}

/** What a driver found when it restored its networks and endpoints. */
export interface RestoreResult {
  /** Joined endpoints whose interface is gone: the controller marks them as not joined. */
  lost: string[];
  /** The kernel objects it removed because nothing referred to them. */
  removed: string[];
  /** The ports published again, by endpoint id (those it could not hold again are in `errors`). */
  published?: Record<string, BoundPort[]>;
  /** What it could not repair or remove. */
  errors: unknown[];
  /** Networks it keeps but cannot use as they are (their objects left alone), and why. */
  warnings?: RestoreWarning[];
}

/** A restored network that its driver keeps but cannot use as it is. */
export interface RestoreWarning {
  networkId: string;
  reason: string;
}

/** A network driver (libnetwork's driverapi.Driver, classic interface). */
export interface Driver {
  /** The network type this driver implements ('bridge', 'null', 'host', ...). */
  readonly type: string;
  /** Makes the network's kernel objects (a bridge, ...). */
  createNetwork(info: NetworkCreateInfo): Promise<void>;
  /** Removes them; called once the network has no endpoints. */
  deleteNetwork(networkId: string): Promise<void>;
  /** Prepares an endpoint; may set `iface.macAddress`. No kernel work is needed here. */
  createEndpoint(networkId: string, endpointId: string, iface: InterfaceInfo, options: DriverOptions): Promise<void>;
  /** Forgets an endpoint (after it has left its sandbox). */
  deleteEndpoint(networkId: string, endpointId: string): Promise<void>;
  /** Attaches the endpoint to a sandbox: its interface, addresses and routes. */
  join(networkId: string, endpointId: string, target: JoinTarget, sandboxOps?: JoinSandboxOps): Promise<JoinInfo>;
  /** Detaches it. `sandboxGoing` says the namespace is about to be dropped with everything in it. */
  leave(networkId: string, endpointId: string, target: JoinTarget, sandboxGoing: boolean): Promise<void>;
  /**
   * The links in the host namespace that the endpoint's join made and that go when its sandbox's
   * namespace is dropped (the host end of a veth pair): a sandbox delete resolves once they are
   * gone, and deletes them itself if the namespace outlives its drop (a process still inside).
   */
  hostLinks?(endpointId: string): string[];
  /** Makes the endpoint the sandbox's gateway (re-points the default route). */
  setDefaultRoute?(networkId: string, endpointId: string, target: JoinTarget): Promise<void>;
  /**
   * Sets up the endpoint's published ports and outside access (the firewall) when it becomes its
   * sandbox's gateway endpoint; resolves with the bindings made (host ports picked, host IPs filled in).
   */
  programExternalConnectivity?(networkId: string, endpointId: string, options: ExternalConnectivity): Promise<BoundPort[]>;
  /** Removes what programExternalConnectivity set up. */
  revokeExternalConnectivity?(networkId: string, endpointId: string): Promise<void>;
  /** What the driver keeps about a network, as JSON, stored with it and given back to restore(). */
  networkState?(networkId: string): unknown;
  /** What the driver keeps about an endpoint, as JSON, stored with it and given back to restore(). */
  endpointState?(endpointId: string): unknown;
  /**
   * After a restart, before any other call: takes back the networks and endpoints the controller
   * restored, repairs their kernel objects where it can (a bridge that vanished), reports joined
   * endpoints whose interface is gone, and removes kernel objects marked with the owner that none
   * of them refers to (what a crash left half-made).
   */
  restore?(context: RestoreContext): Promise<RestoreResult>;
  /**
   * The controller stops: give back what the process holds (reserved ports), leaving the kernel as
   * it is; after `removeAll` (every network deleted), also what the driver changed on the host.
   */
  stop?(options: { removeAll: boolean }): Promise<void>;
}
