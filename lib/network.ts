import createDebug from './util/debug';
import type { NetworkController } from './controller';
import type { DockerNetworkEndpoint, NetworkInspect } from './docker-inspect';
import type { Driver, DriverOptions, InterfaceInfo, NetworkCreateInfo } from './drivers/api';
import { Endpoint } from './endpoint';
import { CnmError } from './errors';
import type { IpamCaller } from './ipam-caller';
import { releaseEndpointAddresses, releasePools, reserveEndpointAddresses, type AllocatedPool, type NetworkPools } from './network-pools';
import { checkEndpointOptions } from './option-checks';
import type { EndpointOptions, IpamPoolConfig, NetworkOptions, NetworkType } from './options';
import { STATE_VERSION, type NetworkRecord } from './store/records';
import { checkName } from './util/checks';
import { newId } from './util/ids';
import { withUndo } from './util/undo';

const debug = createDebug('cnm:network');

/** What `Network.info()` returns. */
export interface NetworkInfo {
  id: string;
  name: string;
  type: NetworkType;
  created: string;
  scope: 'local';
  internal: boolean;
  /** False for an IPv6-only network. */
  enableIPv4: boolean;
  enableIPv6: boolean;
  labels: Record<string, string>;
  driverOptions: DriverOptions;
  ipam: { driver: string; config: IpamPoolConfig[]; allocated: Omit<AllocatedPool, 'poolId'>[] };
}

/** A group of endpoints that can talk to each other (libnetwork's Network). */
export class Network {
  /** @internal */ readonly members = new Map<string, Endpoint>();
  private readonly byName = new Map<string, Endpoint>();
  private readonly pendingNames = new Set<string>();
  /** Addresses endpoints under creation took: checked with the members', so no two get one. */
  private readonly pendingAddresses = new Set<string>();
  /** @internal */ deleting = false;

  /** Networks come from `NetworkController.newNetwork()`, never from `new` (see Endpoint's constructor). */
  private constructor(
    readonly id: string,
    readonly name: string,
    readonly type: NetworkType,
    /** @internal */ readonly controller: NetworkController,
    /** @internal */ readonly driver: Driver,
    /** @internal */ readonly ipam: IpamCaller,
    /** @internal */ readonly options: NetworkOptions,
    /** @internal */ readonly pools: NetworkPools,
    /** @internal */ readonly predefined: boolean,
    readonly created: Date,
  ) {}

  /** @internal The controller and the restore make networks with it. */
  static make(
    id: string,
    name: string,
    type: NetworkType,
    controller: NetworkController,
    driver: Driver,
    ipam: IpamCaller,
    options: NetworkOptions,
    pools: NetworkPools,
    predefined: boolean,
    created = new Date(),
  ): Network {
    return new Network(id, name, type, controller, driver, ipam, options, pools, predefined, created);
  }

  /**
   * Creates an endpoint: reserves its addresses (static ones if given) and its MAC address. No
   * interface exists until it joins a sandbox. CONFLICT for a name already used on this network.
   * libnetwork: `Network.CreateEndpoint()`; docker: the endpoint `docker network connect` / `docker
   * run --network` makes.
   */
  async createEndpoint(name: string, given: EndpointOptions = {}): Promise<Endpoint> {
    checkName(name, 'endpoint name');
    const options = checkEndpointOptions(given);
    return this.controller.operation(() => this.newEndpoint(name, options));
  }

  private async newEndpoint(name: string, options: EndpointOptions): Promise<Endpoint> {
    if (this.deleting) throw new CnmError('NOT_FOUND', `network ${this.name} is being deleted`);
    if (this.byName.has(name) || this.pendingNames.has(name)) {
      throw new CnmError('CONFLICT', `endpoint ${name} already exists on network ${this.name}`);
    }
    const id = newId();
    this.pendingNames.add(name);
    const claimed: string[] = [];
    let endpoint: Endpoint;
    try {
      const iface = await this.reserveAddresses(id, name, options, claimed);
      endpoint = await withUndo(async (undo) => {
        undo.push(() => this.releaseAddresses(iface));
        await this.driver.createEndpoint(this.id, id, iface, {});
        undo.push(() => this.driver.deleteEndpoint(this.id, id));
        const made = Endpoint.make(id, name, this, iface, options);
        await this.controller.recordWrites.write(this.controller.store.writeOp(made.toRecord()));
        return made;
      });
    } finally {
      this.pendingNames.delete(name);
      for (const address of claimed) this.pendingAddresses.delete(address);
    }
    this.adopt(endpoint);
    debug('endpoint %s on %s: %s', name, this.name, endpoint.iface.address ?? 'no address');
    this.controller.emit('endpoint:create', endpoint);
    return endpoint;
  }

  /** Reserves the endpoint's addresses; each one IPAM gives is checked against the network's and claimed into `claimed`. */
  private async reserveAddresses(id: string, name: string, options: EndpointOptions, claimed: string[]): Promise<InterfaceInfo> {
    const claim = (address: string) => {
      if (this.addressInUse(address)) return true;
      this.pendingAddresses.add(address);
      claimed.push(address);
      return false;
    };
    const addresses = await reserveEndpointAddresses(this.ipam, this.pools, options, this.name, this.ipamOptions, claim);
    const iface = { macAddress: options.macAddress, ...addresses };
    debug('endpoint %s (%s) addresses %o', name, id.slice(0, 12), iface);
    return iface;
  }

  private releaseAddresses(iface: InterfaceInfo): Promise<void> {
    return releaseEndpointAddresses(this.ipam, this.pools, iface);
  }

  /** The network's IPAM options (Docker's --ipam-opt), given with each of its IPAM requests. */
  private get ipamOptions(): Record<string, string> {
    return this.options.ipam?.options ?? {};
  }

  /** Whether a (bare) address is a gateway, aux address or endpoint address of the network, or being taken. */
  private addressInUse(address: string): boolean {
    if (this.pendingAddresses.has(address)) return true;
    const bare = (cidr: string | undefined) => cidr?.split('/')[0];
    for (const pool of [...this.pools.v4, ...this.pools.v6]) {
      if (bare(pool.gateway) === address || Object.values(pool.auxAddresses).includes(address)) return true;
    }
    for (const e of this.members.values()) if (bare(e.iface.address) === address || bare(e.iface.addressIPv6) === address) return true;
    return false;
  }

  /** @internal Makes an endpoint one of the network's (at creation and at restore). */
  adopt(endpoint: Endpoint): void {
    this.members.set(endpoint.id, endpoint);
    this.byName.set(endpoint.name, endpoint);
  }

  /** @internal The second half of Endpoint.delete(): state, driver, addresses; undone if a step fails. */
  async removeEndpoint(endpoint: Endpoint): Promise<void> {
    const store = this.controller.store;
    await withUndo(async (undo) => {
      await this.controller.kernel.batch([store.removeOp('endpoint', endpoint.id)]);
      undo.push(() => this.controller.kernel.batch([store.writeOp(endpoint.toRecord())]));
      await this.driver.deleteEndpoint(this.id, endpoint.id);
    });
    await this.forget(endpoint);
  }

  /** @internal The same, best effort: goes on past failures and returns them. */
  async removeEndpointAnyway(endpoint: Endpoint): Promise<unknown[]> {
    const errors: unknown[] = [];
    await this.controller.kernel.batch([this.controller.store.removeOp('endpoint', endpoint.id)]).catch((err: unknown) => errors.push(err));
    await this.driver.deleteEndpoint(this.id, endpoint.id).catch((err: unknown) => errors.push(err));
    await this.forget(endpoint);
    return errors;
  }

  /** Drops the endpoint; its addresses go back to IPAM best effort (as libnetwork, which logs a failed release). */
  private async forget(endpoint: Endpoint): Promise<void> {
    await this.releaseAddresses(endpoint.iface).catch((err: unknown) => debug('release of %s addresses: %s', endpoint.name, (err as Error).message));
    this.members.delete(endpoint.id);
    this.byName.delete(endpoint.name);
    this.controller.emit('endpoint:delete', endpoint);
  }

  /**
   * The network's endpoints.
   * libnetwork: `Network.Endpoints()`; docker: the `Containers` of `docker network inspect`.
   */
  endpoints(): Endpoint[] {
    this.controller.checkRunning();
    return [...this.members.values()];
  }

  /**
   * Calls `fn` for each endpoint until it returns true.
   * libnetwork: `Network.WalkEndpoints()`.
   */
  walkEndpoints(fn: (endpoint: Endpoint) => boolean | void): void {
    for (const endpoint of this.endpoints()) if (fn(endpoint) === true) return;
  }

  /**
   * The endpoint of that name on this network, if there is one.
   * libnetwork: `Network.EndpointByName()`.
   */
  endpointByName(name: string): Endpoint | undefined {
    this.controller.checkRunning();
    return this.byName.get(name);
  }

  /**
   * The endpoint of that id on this network, if there is one.
   * libnetwork: `Network.EndpointByID()`.
   */
  endpointById(id: string): Endpoint | undefined {
    this.controller.checkRunning();
    return this.members.get(id);
  }

  /**
   * Deletes the network: its bridge (for the bridge driver) and its address pools. CONFLICT while
   * it has endpoints; FORBIDDEN for the predefined networks.
   * libnetwork: `Network.Delete()`; docker: `docker network rm`.
   */
  async delete(): Promise<void> {
    return this.controller.operation(() => this.controller.deleteNetwork(this));
  }

  /** @internal Called by the controller under its network lock. */
  async destroy(): Promise<void> {
    if (this.predefined) throw new CnmError('FORBIDDEN', `network ${this.name} is predefined and cannot be deleted`);
    if (this.members.size > 0 || this.pendingNames.size > 0) {
      throw new CnmError('CONFLICT', `network ${this.name} has active endpoints (${this.members.size})`);
    }
    this.deleting = true;
    const store = this.controller.store;
    try {
      // The record goes first: after a crash, a bridge without one is removed at start.
      await withUndo(async (undo) => {
        await this.controller.kernel.batch([store.removeOp('network', this.id)]);
        undo.push(() => this.controller.kernel.batch([store.writeOp(this.toRecord())]));
        await this.driver.deleteNetwork(this.id);
      });
    } catch (err) {
      this.deleting = false;
      throw err;
    }
    await this.releasePools();
  }

  /** @internal What the driver is told about the network (at creation and at restore). */
  createInfo(owner: string): NetworkCreateInfo {
    return {
      id: this.id,
      name: this.name,
      owner,
      options: this.options.driverOptions ?? {},
      internal: this.options.internal ?? false,
      enableIPv6: this.options.enableIPv6 ?? false,
      ipv4: this.pools.v4,
      ipv6: this.pools.v6,
    };
  }

  /** @internal What the controller keeps on disk about the network. */
  toRecord(): NetworkRecord {
    return {
      version: STATE_VERSION,
      kind: 'network',
      id: this.id,
      name: this.name,
      type: this.type,
      created: this.created.toISOString(),
      predefined: this.predefined,
      options: this.options,
      pools: this.pools,
      driver: this.driver.networkState?.(this.id),
    };
  }

  /** @internal Frees the network's gateways, aux addresses and pools. */
  releasePools(): Promise<void> {
    return releasePools(this.ipam, this.pools);
  }

  /**
   * The network's configuration and what IPAM actually allocated (libnetwork's Network.Info); a copy.
   * docker: `docker network inspect` (its IPAM and options).
   */
  info(): NetworkInfo {
    this.controller.checkRunning();
    const strip = ({ poolId: _poolId, ...rest }: AllocatedPool) => rest;
    return structuredClone({
      id: this.id,
      name: this.name,
      type: this.type,
      created: this.created.toISOString(),
      scope: 'local',
      internal: this.options.internal ?? false,
      enableIPv4: this.options.enableIPv4 ?? true,
      enableIPv6: this.options.enableIPv6 ?? false,
      labels: { ...(this.options.labels ?? {}) },
      driverOptions: { ...(this.options.driverOptions ?? {}) },
      ipam: {
        driver: this.options.ipam?.driver ?? 'default',
        config: this.options.ipam?.config ?? [],
        allocated: [...this.pools.v4, ...this.pools.v6].map(strip),
      },
    });
  }

  /**
   * The network as `docker network inspect` shows it.
   * docker: `docker network inspect`.
   */
  inspect(): NetworkInspect {
    const info = this.info();
    const containers: Record<string, DockerNetworkEndpoint> = {};
    for (const e of this.members.values()) {
      if (!e.sandbox) continue;
      containers[e.sandbox.containerId] = {
        Name: e.name,
        EndpointID: e.id,
        MacAddress: e.iface.macAddress ?? '',
        IPv4Address: e.iface.address ?? '',
        IPv6Address: e.iface.addressIPv6 ?? '',
      };
    }
    return {
      Name: info.name,
      Id: info.id,
      Created: info.created,
      Scope: info.scope,
      Driver: info.type,
      EnableIPv4: info.enableIPv4,
      EnableIPv6: info.enableIPv6,
      IPAM: {
        Driver: info.ipam.driver,
        Options: { ...(this.options.ipam?.options ?? {}) },
        Config: info.ipam.allocated.map((p) => ({
          Subnet: p.pool,
          ...(p.ipRange ? { IPRange: p.ipRange } : {}),
          Gateway: p.gateway.split('/')[0],
          ...(Object.keys(p.auxAddresses).length ? { AuxiliaryAddresses: p.auxAddresses } : {}),
        })),
      },
      Internal: info.internal,
      Attachable: false,
      Ingress: false,
      ConfigFrom: { Network: '' },
      ConfigOnly: false,
      Containers: containers,
      Options: info.driverOptions,
      Labels: info.labels,
    };
  }
}
