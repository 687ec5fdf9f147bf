import { CnmError, invalidArgument } from './errors';
import type { BoundPort, InterfaceInfo, JoinInfo } from './drivers/api';
import type { Network } from './network';
import { checkDeleteOptions, checkJoinOptions } from './option-checks';
import type { EndpointOptions, ExposedPort, JoinOptions, PortBinding } from './options';
import { Sandbox } from './sandbox';
import { STATE_VERSION, type EndpointRecord } from './store/records';
import { show } from './util/checks';

/**
 * What `Endpoint.info()` returns (libnetwork's EndpointInfo). `portsPublished` tells which ports
 * `portMapping` holds: once true, every binding has its host port as a number.
 */
export type EndpointInfo = EndpointInfoFields & EndpointPorts;

/** The ports of an endpoint's info: as bound while published, else as asked for. */
export type EndpointPorts =
  | {
      /** It publishes its ports: it is its sandbox's gateway endpoint, and they could be bound. */
      portsPublished: true;
      /** The bindings made: `hostIP` and `hostPort` always set (the port picked for 0 or a range). */
      portMapping: BoundPort[];
    }
  | {
      /** Not joined, not its sandbox's gateway endpoint, nothing bound, or its ports are `unpublished`. */
      portsPublished: false;
      /** The bindings asked for, as given (`hostPort` may be absent or 0, or a range). */
      portMapping: PortBinding[];
    };

/** The fields of `EndpointInfo` other than its ports. */
export interface EndpointInfoFields {
  id: string;
  name: string;
  networkId: string;
  interface: {
    macAddress: string | null;
    address: string | null;
    addressIPv6: string | null;
    /** The interface name inside the sandbox once joined (eth0, ...). */
    name: string | null;
  };
  gateway: string | null;
  gatewayIPv6: string | null;
  staticRoutes: { destination: string; nextHop?: string }[];
  sandboxId: string | null;
  sandboxKey: string | null;
  exposedPorts: ExposedPort[];
  /**
   * The ports it could not publish when it became its sandbox's gateway endpoint because the one
   * before it left, or at a restart (a host port in use), and why; null when it publishes what it
   * asks for.
   */
  unpublished: UnpublishedPorts | null;
  dnsNames: string[];
}

/** Ports an endpoint asks for but could not publish, and why. */
export interface UnpublishedPorts {
  portMapping: PortBinding[];
  reason: string;
}

type EndpointState = 'idle' | 'joining' | 'joined' | 'leaving' | 'deleting' | 'deleted';

/**
 * One attachment to a network: an address from IPAM and, once joined to a sandbox, an interface
 * inside it (libnetwork's Endpoint).
 */
export class Endpoint {
  // The join state is written here only: the sandbox and its gateway go through the methods below.
  private phase: EndpointState = 'idle';
  private joinedTo: Sandbox | null = null;
  private joined: JoinInfo | null = null;
  private publishedPorts: BoundPort[] | null = null;
  private unpublishedPorts: UnpublishedPorts | null = null;

  // Private rather than stripped from the declarations: they then say `private constructor()`, so
  // that `new Endpoint()` is a type error for users (a stripped constructor reads as a public one).
  /** Endpoints come from `Network.createEndpoint()`, never from `new`. */
  private constructor(
    readonly id: string,
    readonly name: string,
    readonly network: Network,
    /** @internal */ readonly iface: InterfaceInfo,
    /** @internal */ readonly options: EndpointOptions,
  ) {}

  /** @internal Network.createEndpoint() and the restore make endpoints with it. */
  static make(id: string, name: string, network: Network, iface: InterfaceInfo, options: EndpointOptions): Endpoint {
    return new Endpoint(id, name, network, iface, options);
  }

  /** @internal Where it is in its life: idle, joining, joined, leaving, deleting, deleted. */
  get state(): EndpointState {
    return this.phase;
  }

  /** @internal The sandbox it is joined to. */
  get sandbox(): Sandbox | null {
    return this.joinedTo;
  }

  /** @internal What its driver's join set up. */
  get joinInfo(): JoinInfo | null {
    return this.joined;
  }

  /** @internal The ports published while it is its sandbox's gateway endpoint. */
  get published(): BoundPort[] | null {
    return this.publishedPorts;
  }

  /** @internal See EndpointInfo.unpublished. */
  get unpublished(): UnpublishedPorts | null {
    return this.unpublishedPorts;
  }

  /** @internal Sandbox.link(): joined to `sandbox` with what the driver set up (at join and at restore). */
  recordJoin(sandbox: Sandbox, info: JoinInfo): void {
    this.joinedTo = sandbox;
    this.joined = info;
  }

  /** @internal Sandbox.unlink(): joined nowhere. */
  forgetJoin(): void {
    this.joinedTo = null;
    this.joined = null;
  }

  /** @internal The sandbox moves it out (a leave, a sandbox's delete): leaving until `settle()`. */
  markLeaving(): void {
    this.phase = 'leaving';
  }

  /** @internal After a move or a restore: joined if it is in a sandbox, else idle. */
  settle(): void {
    this.phase = this.joinedTo ? 'joined' : 'idle';
  }

  /** @internal The gateway: the ports now published for it (null: none); nothing is left unpublished. */
  setPublished(ports: BoundPort[] | null): void {
    this.publishedPorts = ports;
    this.unpublishedPorts = null;
  }

  /** @internal The gateway: the ports it could not publish, and why. */
  setUnpublished(unpublished: UnpublishedPorts): void {
    this.unpublishedPorts = unpublished;
  }

  /**
   * Attaches the endpoint to a sandbox: for a bridge network, a veth pair whose container end
   * (eth0, eth1, ... lowest free) is created inside the sandbox with the endpoint's addresses.
   * The joined endpoint with the highest `priority` gives the sandbox its default route.
   * Rejects with CONFLICT if the endpoint is already joined, FORBIDDEN for a container-mode
   * sandbox or a host / non-host mismatch.
   * libnetwork: `Endpoint.Join()`; docker: `docker network connect NETWORK CONTAINER`; ip: `ip link
   * set VETH netns NS` and `ip addr add`, `ip route add` inside it.
   */
  async join(sandbox: Sandbox, options: JoinOptions = {}): Promise<void> {
    checkSandbox(sandbox);
    const { priority } = checkJoinOptions(options);
    return this.network.controller.operation(() => this.joinNow(sandbox, priority));
  }

  private async joinNow(sandbox: Sandbox, priority: number | undefined): Promise<void> {
    if (this.state !== 'idle') {
      throw new CnmError(
        this.state === 'deleted' ? 'NOT_FOUND' : 'CONFLICT',
        `endpoint ${this.name} is ${this.state === 'deleted' ? 'deleted' : 'already joined'}`,
      );
    }
    this.phase = 'joining';
    try {
      await sandbox.attach(this, priority ?? 0);
      this.phase = 'joined';
    } catch (err) {
      this.phase = 'idle';
      throw err;
    }
  }

  /**
   * Detaches the endpoint from its sandbox (removes its interface there). CONFLICT if it is not
   * joined to it once the sandbox's operations before this one are done.
   * libnetwork: `Endpoint.Leave()`; docker: `docker network disconnect NETWORK CONTAINER`.
   */
  async leave(sandbox: Sandbox): Promise<void> {
    checkSandbox(sandbox);
    return this.network.controller.operation(() => sandbox.detach(this));
  }

  /**
   * Deletes the endpoint and frees its addresses; a failure leaves it as it was. A joined endpoint
   * is refused with CONFLICT, unless `force`: then it is torn down best effort, leaving its sandbox
   * and going on past what fails (an interface already gone is fine), and it is deleted even so;
   * what could not be done is thrown afterwards as an AggregateError. NOT_FOUND once deleted.
   * libnetwork: `Endpoint.Delete()`; docker: the last step of `docker network disconnect`.
   */
  async delete(options: { force?: boolean } = {}): Promise<void> {
    const checked = checkDeleteOptions(options, 'force');
    return this.network.controller.operation(() => this.remove(checked));
  }

  /** @internal delete() without the controller's running check (stop({ removeAll }) uses it). */
  async remove({ force }: { force?: boolean }): Promise<void> {
    if (this.state === 'deleted' || this.state === 'deleting') throw new CnmError('NOT_FOUND', `endpoint ${this.name} is already deleted`);
    if (force) return this.forceDelete();
    if (this.state !== 'idle') throw new CnmError('CONFLICT', `endpoint ${this.name} is joined to a sandbox; leave it first or use force`);
    this.phase = 'deleting';
    try {
      await this.network.removeEndpoint(this);
      this.phase = 'deleted';
    } catch (err) {
      this.phase = 'idle';
      throw err;
    }
  }

  private async forceDelete(): Promise<void> {
    if (this.state === 'joining' || this.state === 'leaving') throw new CnmError('CONFLICT', `endpoint ${this.name} is ${this.state} a sandbox`);
    const errors: unknown[] = [];
    if (this.state === 'joined' && this.sandbox) {
      this.phase = 'leaving';
      errors.push(...(await this.sandbox.teardown(this)));
    }
    this.phase = 'deleting';
    errors.push(...(await this.network.removeEndpointAnyway(this)));
    this.phase = 'deleted';
    if (errors.length > 0) throw new AggregateError(errors, `endpoint ${this.name} is deleted, but ${errors.length} step(s) failed`);
  }

  /** @internal What the controller keeps on disk about the endpoint (its joins are in sandbox records). */
  toRecord(): EndpointRecord {
    return {
      version: STATE_VERSION,
      kind: 'endpoint',
      id: this.id,
      name: this.name,
      networkId: this.network.id,
      iface: this.iface,
      options: this.options,
      driver: this.network.driver.endpointState?.(this.id),
    };
  }

  /**
   * The endpoint's interface, gateway, routes and sandbox (libnetwork's Endpoint.Info); a copy.
   * docker: the container's entry in `docker inspect -f '{{json .NetworkSettings.Networks}}'`.
   */
  info(): EndpointInfo {
    this.network.controller.checkRunning();
    const ports: EndpointPorts = this.published
      ? { portsPublished: true, portMapping: this.published }
      : { portsPublished: false, portMapping: this.options.portMapping ?? [] };
    return structuredClone({
      id: this.id,
      name: this.name,
      networkId: this.network.id,
      interface: {
        macAddress: this.iface.macAddress ?? null,
        address: this.iface.address ?? null,
        addressIPv6: this.iface.addressIPv6 ?? null,
        name: this.joinInfo?.ifname ?? null,
      },
      gateway: this.joinInfo?.gateway ?? null,
      gatewayIPv6: this.joinInfo?.gatewayIPv6 ?? null,
      staticRoutes: this.joinInfo?.staticRoutes ?? [],
      sandboxId: this.sandbox?.id ?? null,
      sandboxKey: this.sandbox?.key ?? null,
      exposedPorts: this.options.exposedPorts ?? [],
      ...ports,
      unpublished: this.unpublished && { portMapping: [...this.unpublished.portMapping], reason: this.unpublished.reason },
      dnsNames: this.options.dnsNames ?? [],
    });
  }
}

function checkSandbox(sandbox: unknown): void {
  if (!(sandbox instanceof Sandbox)) throw invalidArgument(`sandbox must be a Sandbox, got ${show(sandbox)}`);
}
