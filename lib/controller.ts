import createDebug from './util/debug';
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { realpath } from 'node:fs/promises';
import { builtinDrivers, predefinedNetworks } from './builtins';
import { DnsRecords } from './dns/records';
import type { Driver } from './drivers/api';
import type { Endpoint } from './endpoint';
import { CnmError, invalidArgument } from './errors';
import { DefaultIpam, NullIpam, type Ipam } from './ipam';
import { localPools } from './ipam/predefined';
import { deriveUlaPool } from './ipam/ula';
import { MACHINE_ID_FILE, readMachineId } from './host-id';
import { checkIpam, IpamCaller } from './ipam-caller';
import { bestEffort, nativeKernel, NetlinkError, runOne, type DnsPorts, type Kernel, type NativeOp } from './native';
import { parseCidr } from './util/ip';
import { Network } from './network';
import { allocatePools, type NetworkPools } from './network-pools';
import type { BuiltinIpamName, BuiltinNetworkType, IpamName, NetworkOptions, NetworkType } from './options';
import { hostNamespace, StateLayout, type NamespaceHandle } from './layout';
import { removeSandboxes, Sandbox } from './sandbox';
import { reachableNameservers, readHostResolvConf, type HostResolvConf } from './resolv-conf';
import { checkNetworkOptions } from './option-checks';
import { checkControllerOptions, checkSandboxOptions, type ControllerOptions, type SandboxOptions } from './controller-options';
import { checkName } from './util/checks';
import { restoreState, type RestoredState, type RestoreReport } from './restore';
import { prepareRunFolder, prepareStateDir } from './state-dir';
import { lockStateDir, unlockStateDir } from './state-lock';
import { GroupCommit } from './store/group-commit';
import { StateStore, type StateWarning } from './store/store';
import { newId } from './util/ids';
import { Mutex } from './util/mutex';
import { TurnGate } from './util/turn-gate';
import { withUndo } from './util/undo';

const debug = createDebug('cnm:controller');

/** The events a controller emits, like Docker's network events. */
export interface ControllerEvents {
  /** A network was made (docker: the `create` event of `docker events --filter type=network`). */
  'network:create': [Network];
  /** A network was removed (docker: the network `destroy` event). */
  'network:destroy': [Network];
  /** An endpoint was made on a network. */
  'endpoint:create': [Endpoint];
  /** An endpoint was removed. */
  'endpoint:delete': [Endpoint];
  /** An endpoint joined a sandbox (docker: the network `connect` event). */
  'network:connect': [Endpoint, Sandbox];
  /** An endpoint left its sandbox (docker: the network `disconnect` event). */
  'network:disconnect': [Endpoint, Sandbox];
  /** A sandbox (network namespace) was made. */
  'sandbox:create': [Sandbox];
  /** A sandbox was removed with its namespace. */
  'sandbox:destroy': [Sandbox];
  /**
   * An endpoint became its sandbox's gateway endpoint because the one before it left (or is the
   * gateway endpoint of a sandbox restored at start), but could not publish its ports (a host
   * port in use): it goes on without them (`info().unpublished`).
   */
  'endpoint:ports-unavailable': [Endpoint, Error];
  /** A state file was skipped at start (truncated, not JSON, unknown version, leftover). */
  'state:warning': [StateWarning];
}

/**
 * How a burst of public calls is paced (TurnGate): a few start at once, the rest in later turns of
 * the event loop, each turn until its calls have run for about 2 ms of JS (a setup's public calls
 * take 0.1 to 0.5 ms each between kernel work: cold caches). New calls also wait while more kernel
 * batches than `maxBacklog` wait to be sent: enough to keep the worker threads busy, few enough
 * that a burst of 500 setups does not hold 500 built batches at once (each survives every garbage
 * collection until it is sent; a scavenge then copies megabytes).
 */
const PACING = { atOnce: 4, budgetMs: 2, perTurn: 32, maxBacklog: 16 };

/** Networks without addresses: their drivers need no IPAM. */
const NO_IPAM = new Set(['null', 'host']);
/** Drivers of which there may be one network only. */
const SINGLETON = new Set(['null', 'host']);

/**
 * Owns the drivers, IPAM, every network and every sandbox (libnetwork's NetworkController).
 * Create one with `await NetworkController.create(options)`.
 *
 * `Types` and `Ipams` are the network types and IPAM names it knows, so that editors offer them
 * and a typo (`newNetwork('brigde', ...)`, `ipam: { driver: 'defualt' }`) is a type error rather
 * than a NOT_FOUND at run time. `create()` gives a controller typed with the built-ins and the
 * names of its `ipams` option; `registerDriver` and `registerIpam` return the same controller,
 * typed with the new name too:
 *
 *     const base = await NetworkController.create({ ipams: { corp: corpIpam } });
 *     // base.newNetwork('overlay', 'ov') is a type error: base knows the built-in types only
 *     const controller = base.registerDriver('overlay', overlay);
 *     await controller.newNetwork('overlay', 'ov', { ipam: { driver: 'corp' } });
 *
 * The names are a type parameter rather than a registry type that users extend (declaration
 * merging) because registration happens at run time, per controller: the type follows the calls.
 * A plain `NetworkController` (the defaults) takes any name, checked at run time: the type to
 * use where the names are not known statically (a function that takes any controller).
 */
export class NetworkController<Types extends string = NetworkType, Ipams extends string = IpamName> extends EventEmitter<ControllerEvents> {
  readonly id = newId();
  /** The host's resolv.conf and systemd-resolved's list of upstream servers. */
  private readonly resolvConfFiles: { host: string; systemd: string };
  /** @internal */ readonly drivers = new Map<string, Driver>();
  private readonly builtinTypes: BuiltinNetworkType[];
  /** @internal */ readonly networksById = new Map<string, Network>();
  /** @internal */ readonly sandboxesById = new Map<string, Sandbox>();
  /** The sandboxes of each namespace (one, and the container-mode ones that share it), so that a sandbox finds them without a walk over all. */
  private readonly sandboxesByNamespace = new Map<NamespaceHandle, Set<Sandbox>>();
  /** @internal ids of containers with a sandbox, or getting one */ readonly containers = new Set<string>();
  private readonly networkLock = new Mutex();
  private reserved: string[] = [];
  /** @internal */ readonly ipam: DefaultIpam;
  /** Why the default IPAM has no IPv6 pool to give a network without an IPv6 subnet; null if it has one. */
  private readonly noDefaultIpv6: string | null;
  /** @internal The IPAM drivers by name: the built-in default and null, and the registered ones. */
  readonly ipams: Map<string, IpamCaller>;
  private readonly ipamTimeoutMs: number;
  /** @internal Its records; where sandbox records go is known with the mark. */ store: StateStore;
  /** @internal Writes endpoint records of concurrent calls together (one trip, one folder fsync). */ readonly recordWrites: GroupCommit;
  /** @internal What every kernel operation of the controller, its drivers and its objects goes through. */ readonly kernel: Kernel;
  /** @internal The names the sandboxes' embedded DNS servers answer for, per network. */ readonly dnsRecords = new DnsRecords(() => this.kernel.dns.forget());
  /** @internal Its names and paths; the mark is known once the state directory is locked. */ layout: StateLayout;
  /** @internal The mark on the kernel objects this controller's state directory owns. */
  get owner(): string {
    return this.layout.mark;
  }
  private readonly liveRestore: boolean;
  private report: RestoreReport | null = null;
  /** Set by the first stop(): later calls are refused, later stop() calls wait for it. */
  private stopping: Promise<void> | null = null;
  private readonly defaultBridgeName: string;
  private readonly inflight = new Set<Promise<unknown>>();
  /** Public calls made in one turn of the event loop start at most this many at a time, and not while the kernel is backed up (see TurnGate). */
  private readonly turns: TurnGate;
  private lockFd: number | null = null;

  /** `hostId`: the host's identity (the option, else the machine id), null if it has none. */
  private constructor(options: ControllerOptions, kernel: Kernel, hostId: string | null) {
    super();
    this.kernel = kernel;
    this.turns = new TurnGate({ ...PACING, backlog: kernel.backlog });
    const given = options.defaultAddressPools ?? [];
    const predefined = localPools(given, hostId === null ? null : deriveUlaPool(hostId));
    this.ipam = new DefaultIpam({ reserved: () => this.reserved, predefined });
    this.noDefaultIpv6 = predefined.some((p) => p.base.includes(':'))
      ? null
      : `the host has no identity to derive its ULA pool from (${MACHINE_ID_FILE} is missing or empty): give the controller a hostId, or an IPv6 entry in defaultAddressPools, or the network an IPv6 subnet`;
    this.ipams = new Map([
      ['default', new IpamCaller('default', this.ipam, null)],
      ['null', new IpamCaller('null', new NullIpam(), null)],
    ]);
    this.recordWrites = new GroupCommit(kernel);
    const folders = {
      stateDir: options.stateDir ?? '/var/lib/cnm-ts',
      runDir: options.runDir ?? '/run/cnm-ts',
      netnsDir: options.netnsDir ?? '/run/netns',
      etcNetnsDir: options.etcNetnsDir ?? '/etc/netns',
    };
    this.layout = new StateLayout(folders, '', '');
    this.resolvConfFiles = {
      host: options.hostResolvConf ?? '/etc/resolv.conf',
      systemd: options.systemdResolvConf ?? '/run/systemd/resolve/resolv.conf',
    };
    this.defaultBridgeName = options.defaultBridgeName ?? 'cnm0';
    this.liveRestore = options.liveRestore ?? true;
    this.store = new StateStore(folders.stateDir, '');
    for (const [event, listener] of Object.entries(options.listeners ?? {})) {
      this.on(event as keyof ControllerEvents, listener as (...args: unknown[]) => void);
    }
    for (const driver of builtinDrivers(kernel, { stateDir: folders.stateDir, ipForwardNoDrop: options.ipForwardNoDrop ?? false }))
      this.drivers.set(driver.type, driver);
    this.ipamTimeoutMs = options.ipamTimeoutMs ?? 10_000;
    for (const [name, ipam] of Object.entries(options.ipams ?? {})) this.addIpam(name, ipam);
    // Only the built-ins are registered at this point (builtins.ts makes one per BuiltinNetworkType).
    this.builtinTypes = [...this.drivers.keys()] as BuiltinNetworkType[];
  }

  /**
   * Makes a controller on its state directory: takes the directory's lock (STATE_LOCKED if another
   * controller holds it), restores what an earlier controller left there and cleans up after a
   * crash (see `restoreReport()`), then makes the predefined networks that are missing, unless
   * `predefinedNetworks: false`: none (null), host (host) and bridge (bridge device cnm0 on the
   * first free default pool, 172.17.0.0/16 unless the host uses it or `defaultAddressPools` has
   * IPv4 entries), like Docker's.
   * libnetwork: `libnetwork.New(...)`; docker: starting `dockerd`.
   */
  static async create<Ipams extends string = never>(
    given: ControllerOptions<Ipams> = {},
  ): Promise<NetworkController<BuiltinNetworkType, BuiltinIpamName | Ipams>> {
    const options = checkControllerOptions(given);
    const kernel = options.kernel ?? nativeKernel;
    await kernel.checkPrivileges();
    const hostId = options.hostId ?? (await readMachineId());
    const controller = new NetworkController<BuiltinNetworkType, BuiltinIpamName | Ipams>(options, kernel, hostId);
    const { folders } = controller.layout;
    await prepareStateDir(folders, kernel);
    controller.lockFd = await lockStateDir(kernel, folders.stateDir);
    try {
      const mark = createHash('sha256')
        .update(await realpath(folders.stateDir))
        .digest('hex')
        .slice(0, 8);
      const runFolder = await prepareRunFolder(kernel, folders.runDir, mark);
      controller.layout = new StateLayout(folders, mark, runFolder);
      controller.store = new StateStore(folders.stateDir, runFolder);
      const restored = await restoreState(controller);
      controller.adopt(restored);
      await restored.cleanUp({ liveRestore: controller.liveRestore });
      controller.report = restored.report;
      if (options.predefinedNetworks ?? true) await controller.createPredefinedNetworks();
    } catch (err) {
      await controller.stop().catch(() => undefined);
      throw err;
    }
    debug('controller %s ready', controller.id.slice(0, 12));
    return controller;
  }

  /** Takes the networks and sandboxes a restore rebuilt as this controller's own. */
  private adopt({ networks, sandboxes }: RestoredState): void {
    for (const network of networks) this.networksById.set(network.id, network);
    for (const sandbox of sandboxes) {
      this.addSandbox(sandbox);
      this.containers.add(sandbox.containerId);
    }
  }

  private addSandbox(sandbox: Sandbox): void {
    this.sandboxesById.set(sandbox.id, sandbox);
    const sharing = this.sandboxesByNamespace.get(sandbox.namespace);
    if (sharing) sharing.add(sandbox);
    else this.sandboxesByNamespace.set(sandbox.namespace, new Set([sandbox]));
  }

  /** @internal The controller's sandboxes in a namespace. */
  sandboxesIn(namespace: NamespaceHandle): Iterable<Sandbox> {
    return this.sandboxesByNamespace.get(namespace) ?? [];
  }

  /** What the controller found in its state directory at start, and what it cleaned up. */
  restoreReport(): RestoreReport {
    return this.report!;
  }

  private async createPredefinedNetworks(): Promise<void> {
    for (const { type, name, driverOptions } of predefinedNetworks(this.defaultBridgeName)) {
      if (!this.findNetwork(name)) await this.createNetwork(type, name, driverOptions ? { driverOptions } : {}, true);
    }
  }

  /**
   * @internal Runs a public operation of the controller or of one of its objects: refused with
   * STOPPED once stop() was called, and waited for by stop().
   */
  operation<T>(work: () => Promise<T>): Promise<T> {
    const run = async () => {
      this.checkRunning();
      await this.turns.enter();
      return work();
    };
    const operation = run();
    this.inflight.add(operation);
    const forget = () => this.inflight.delete(operation);
    operation.then(forget, forget);
    return operation;
  }

  /**
   * The network types this controller has built-in drivers for.
   * libnetwork: `Controller.BuiltinDrivers()`.
   */
  builtinDrivers(): BuiltinNetworkType[] {
    return [...this.builtinTypes];
  }

  /**
   * Adds a driver for a network type of your own (libnetwork's RegisterDriver). CONFLICT if taken.
   * Returns this controller, typed to take `type` in `newNetwork` too.
   */
  registerDriver<Type extends string>(type: Type, driver: Driver): NetworkController<Types | Type, Ipams> {
    this.checkRunning();
    if (typeof type !== 'string' || type.length === 0) throw invalidArgument('driver type must be a non-empty string');
    if (this.drivers.has(type)) throw new CnmError('CONFLICT', `a driver for ${type} networks is already registered`);
    this.drivers.set(type, driver);
    return this;
  }

  /**
   * Adds an IPAM driver of your own (libnetwork's RegisterIpamDriver), for networks created with
   * `ipam: { driver: name }`. Each of its calls may return a Promise; one that does not settle
   * within the controller's `ipamTimeoutMs` fails with IPAM_FAILED, and its errors carry its name.
   * An IPAM that has networks at a restart is given in the controller's `ipams` option instead, so
   * that the restore finds it. CONFLICT for a name taken ('default' and 'null' are built in).
   * Returns this controller, typed to take `name` as a network's `ipam.driver` too.
   */
  registerIpam<Name extends string>(name: Name, ipam: Ipam): NetworkController<Types, Ipams | Name> {
    this.checkRunning();
    this.addIpam(name, ipam);
    return this;
  }

  private addIpam(name: string, ipam: Ipam): void {
    checkName(name, 'IPAM name');
    checkIpam(ipam, `IPAM ${name}`);
    if (this.ipams.has(name)) throw new CnmError('CONFLICT', `an IPAM driver named ${name} is already registered`);
    this.ipams.set(name, new IpamCaller(name, ipam, this.ipamTimeoutMs));
  }

  /** @internal The IPAM of a network's options; NOT_FOUND if none has that name. */
  ipamFor(options: NetworkOptions): IpamCaller {
    const name = options.ipam?.driver ?? 'default';
    const ipam = this.ipams.get(name);
    if (!ipam) throw new CnmError('NOT_FOUND', `no IPAM driver ${JSON.stringify(name)} (${[...this.ipams.keys()].join(', ')} are known)`);
    return ipam;
  }

  /**
   * Creates a network of a driver type (`docker network create -d TYPE NAME`). CONFLICT for a name
   * or subnet in use; INVALID_ARGUMENT for bad options; a failure leaves nothing behind.
   * libnetwork: `Controller.NewNetwork()`; docker: `docker network create`.
   */
  async newNetwork(type: Types, name: string, options: NetworkOptions<Ipams> = {}): Promise<Network> {
    return this.operation(() => this.createNetwork(type, name, options, false));
  }

  private createNetwork(type: string, name: string, given: NetworkOptions, predefined: boolean): Promise<Network> {
    checkName(type, 'network type');
    checkName(name, 'network name');
    const options = checkNetworkOptions(given);
    const driver = this.drivers.get(type);
    if (!driver) throw new CnmError('NOT_FOUND', `no driver for network type ${JSON.stringify(type)}`);
    const ipam = this.ipamFor(options);
    return this.networkLock.run(async () => {
      if (this.findNetwork(name)) throw new CnmError('CONFLICT', `network with name ${name} already exists`);
      if (SINGLETON.has(type) && [...this.networksById.values()].some((n) => n.type === type)) {
        throw new CnmError('FORBIDDEN', `only one ${type} network may exist`);
      }
      const id = newId();
      const pools = NO_IPAM.has(type) ? { v4: [], v6: [] } : await this.allocatePools(ipam, name, options);
      const network = Network.make(id, name, type, this, driver, ipam, options, pools, predefined);
      await withUndo(async (undo) => {
        undo.push(() => network.releasePools());
        await driver.createNetwork(network.createInfo(this.owner));
        undo.push(() => driver.deleteNetwork(id));
        await this.kernel.batch([this.store.writeOp(network.toRecord())]);
      });
      this.networksById.set(id, network);
      debug('network %s (%s) %s', name, type, pools.v4.map((p) => p.pool).join(' '));
      this.emit('network:create', network);
      return network;
    });
  }

  /**
   * Sorts the network's pool config by family, checks it against enableIPv4 / enableIPv6, and
   * reserves the pools: a family it enables without a subnet gets one from the default pools.
   */
  private async allocatePools(ipam: IpamCaller, name: string, options: NetworkOptions): Promise<NetworkPools> {
    const config = options.ipam?.config ?? [];
    const v6 = config.filter((c) => c.subnet !== undefined && parseCidr(c.subnet, 'subnet').family === 6);
    const v4 = config.filter((c) => !v6.includes(c));
    const ipv4 = options.enableIPv4 ?? true;
    const ipv6 = options.enableIPv6 ?? false;
    if (!ipv4 && !ipv6) throw invalidArgument(`network ${name} has no address family: enableIPv4 is false and enableIPv6 is not set`);
    if (v4.length > 0 && !ipv4) throw invalidArgument(`network ${name} has an IPv4 pool but enableIPv4 is false`);
    if (v6.length > 0 && !ipv6) throw invalidArgument(`network ${name} has an IPv6 subnet but enableIPv6 is not set`);
    if (ipv4 && v4.length === 0) v4.push({});
    if (ipv6 && v6.length === 0) v6.push({});
    if (ipam.name === 'default') {
      const families = ([4, 6] as const).filter((family) => (family === 4 ? v4 : v6).some((c) => c.subnet === undefined));
      if (families.includes(6) && this.noDefaultIpv6) throw invalidArgument(`network ${name} enables IPv6 without an IPv6 subnet, but ${this.noDefaultIpv6}`);
      if (families.length > 0) this.reserved = await this.hostNetworks(families);
    }
    return allocatePools(ipam, { v4, v6 }, options.ipam?.options);
  }

  /** The host's routes of `families` and its nameservers: predefined pools that overlap them are skipped. */
  private async hostNetworks(families: readonly (4 | 6)[]): Promise<string[]> {
    const routes = await Promise.all(families.map((family) => runOne(this.kernel, { op: 'routeList', family })));
    const destinations = routes
      .flat()
      .map((r) => r.destination)
      .filter((d) => d !== 'default');
    return [...destinations, ...reachableNameservers(await this.hostDns())];
  }

  /** @internal The host's resolver configuration (see readHostResolvConf). */
  hostDns(): Promise<HostResolvConf> {
    return readHostResolvConf(this.resolvConfFiles.host, this.resolvConfFiles.systemd);
  }

  /**
   * @internal Network.delete().
   * libnetwork: `Network.Delete()`; docker: `docker network rm`.
   */
  async deleteNetwork(network: Network): Promise<void> {
    await this.networkLock.run(async () => {
      if (this.networksById.get(network.id) !== network) throw new CnmError('NOT_FOUND', `network ${network.name} is already deleted`);
      await network.destroy();
      this.networksById.delete(network.id);
    });
    this.emit('network:destroy', network);
  }

  /**
   * Every network.
   * libnetwork: `Controller.Networks()`; docker: `docker network ls`.
   */
  networks(): Network[] {
    this.checkRunning();
    return [...this.networksById.values()];
  }

  /**
   * Calls `fn` for each network until it returns true.
   * libnetwork: `Controller.WalkNetworks()`.
   */
  walkNetworks(fn: (network: Network) => boolean | void): void {
    for (const network of this.networks()) if (fn(network) === true) return;
  }

  /**
   * The network of that name, if there is one.
   * libnetwork: `Controller.NetworkByName()`; docker: `docker network inspect NAME`.
   */
  networkByName(name: string): Network | undefined {
    this.checkRunning();
    return this.findNetwork(name);
  }

  private findNetwork(name: string): Network | undefined {
    return [...this.networksById.values()].find((n) => n.name === name);
  }

  /**
   * The network of that id, if there is one.
   * libnetwork: `Controller.NetworkByID()`; docker: `docker network inspect ID`.
   */
  networkById(id: string): Network | undefined {
    this.checkRunning();
    return this.networksById.get(id);
  }

  /**
   * Creates a sandbox for a container: a new namespace with `lo` up (`ip netns add`), or the host's
   * own (`useDefaultSandbox`), or another sandbox's (`shareWith`), and its hosts / resolv.conf.
   * CONFLICT if the container already has one.
   * libnetwork: `Controller.NewSandbox()`; docker: the network namespace `docker create` / `docker
   * run` makes for a container.
   */
  async newSandbox(containerId: string, options: SandboxOptions = {}): Promise<Sandbox> {
    return this.operation(() => this.createSandbox(containerId, options));
  }

  private async createSandbox(containerId: string, given: SandboxOptions): Promise<Sandbox> {
    checkName(containerId, 'container id');
    const options = checkSandboxOptions(given);
    if (options.shareWith !== undefined && !(options.shareWith instanceof Sandbox)) {
      throw invalidArgument(`shareWith must be a Sandbox, got ${typeof options.shareWith}`);
    }
    if (options.useDefaultSandbox && options.shareWith) throw invalidArgument('a sandbox is host mode or container mode, not both');
    const shared = options.shareWith;
    if (shared && (shared.controller !== this || !this.sandboxesById.has(shared.id))) {
      throw new CnmError('NOT_FOUND', "the sandbox to share is not one of this controller's");
    }
    if (shared?.mode === 'container') throw new CnmError('FORBIDDEN', 'a container-mode sandbox cannot be shared');
    // Sharing waits for the other sandbox's operations under way, and its delete waits for this.
    return shared ? shared.exclusive(() => this.makeSandbox(containerId, options)) : this.makeSandbox(containerId, options);
  }

  private async makeSandbox(containerId: string, options: SandboxOptions): Promise<Sandbox> {
    if (this.containers.has(containerId)) {
      throw new CnmError('CONFLICT', `container ${containerId} already has a sandbox`);
    }
    const shared = options.shareWith;
    this.containers.add(containerId);
    let made = false;
    try {
      const id = newId();
      const mode = options.useDefaultSandbox ? 'host' : shared ? 'container' : 'namespace';
      const namespace = shared ? shared.namespace : this.namespaceFor(id, mode === 'host');
      const sandbox = Sandbox.make(id, containerId, mode, namespace, this, options);
      sandbox.hostDns = await this.hostDns();
      // One trip: the files, the namespace (if it is a new one) and the record, in that order.
      const newNamespace = mode === 'namespace' ? this.namespaceOps(namespace, sandbox.resolverPorts) : [];
      const files = sandbox.writeFilesOps();
      try {
        await this.kernel.batch([...files, ...newNamespace, this.store.writeOp(sandbox.toRecord())]);
      } catch (err) {
        // Undo what was made: the files if they were written, a new namespace once it exists.
        const failedAt = err instanceof NetlinkError ? err.index : 0;
        const ops = sandbox.removeOps({ namespaceFolder: newNamespace.length > 0, namespace: newNamespace.length > 0 && failedAt > files.length });
        if (failedAt > 0) for (const e of await bestEffort(this.kernel, ops)) debug('undo of sandbox %s: %s', id.slice(0, 12), (e as Error).message);
        throw err;
      }
      namespace.users += 1;
      this.addSandbox(sandbox);
      made = true;
      this.emit('sandbox:create', sandbox);
      return sandbox;
    } finally {
      if (!made) this.containers.delete(containerId);
    }
  }

  /**
   * The namespace a new sandbox gets: the host's (host mode) or a new one named from the
   * controller's mark and the sandbox id (see StateLayout).
   */
  private namespaceFor(id: string, host: boolean): NamespaceHandle {
    return host ? hostNamespace() : this.layout.newNamespace(id);
  }

  /**
   * The operation that makes a sandbox's namespace with lo up (`ip netns add`), and the sockets its
   * resolver asks for on `ports`.
   */
  private namespaceOps(namespace: NamespaceHandle, ports: DnsPorts): NativeOp[] {
    return [
      // IPv6 off for interfaces made later (IPv4-only networks); an IPv6 endpoint turns it on for its
      // own. No duplicate address detection: IPAM made the addresses unique, and they work at once
      // instead of a second later (libnetwork adds them with IFA_F_NODAD).
      {
        op: 'netnsCreate',
        dir: this.layout.folders.netnsDir,
        name: namespace.name!,
        sysctls: { 'net.ipv6.conf.default.disable_ipv6': '1', 'net.ipv6.conf.default.accept_dad': '0' },
        // Brings lo up; a first join to a network that serves names opens the resolver without entering the namespace.
        resolverSockets: ports,
      },
    ];
  }

  /**
   * Every sandbox.
   * libnetwork: `Controller.Sandboxes()`.
   */
  sandboxes(): Sandbox[] {
    this.checkRunning();
    return [...this.sandboxesById.values()];
  }

  /**
   * Calls `fn` for each sandbox until it returns true.
   * libnetwork: `Controller.WalkSandboxes()`.
   */
  walkSandboxes(fn: (sandbox: Sandbox) => boolean | void): void {
    for (const sandbox of this.sandboxes()) if (fn(sandbox) === true) return;
  }

  /**
   * The sandbox of that id, if there is one.
   * libnetwork: `Controller.SandboxByID()`.
   */
  sandboxById(id: string): Sandbox | undefined {
    this.checkRunning();
    return this.sandboxesById.get(id);
  }

  /**
   * Deletes a sandbox by id (libnetwork's SandboxDestroy). NOT_FOUND if there is none.
   * libnetwork: `Controller.SandboxDestroy()`; docker: what `docker rm` does to a container's network.
   */
  async sandboxDestroy(id: string): Promise<void> {
    const sandbox = this.sandboxById(id);
    if (!sandbox) throw new CnmError('NOT_FOUND', `no sandbox ${id}`);
    await sandbox.delete();
  }

  /** @internal Sandbox.delete(). */
  forgetSandbox(sandbox: Sandbox): void {
    this.sandboxesById.delete(sandbox.id);
    const sharing = this.sandboxesByNamespace.get(sandbox.namespace);
    sharing?.delete(sandbox);
    if (sharing?.size === 0) this.sandboxesByNamespace.delete(sandbox.namespace);
    this.containers.delete(sandbox.containerId);
  }

  /**
   * Stops the controller: from now on every method of the controller and of its networks,
   * endpoints and sandboxes rejects with STOPPED; every call under way (of any of them) is waited
   * for; then the state directory is free for another controller. Networks and sandboxes stay in
   * the kernel, as Docker's do when the daemon stops, unless `removeAll`, which deletes every
   * sandbox, endpoint and network, the predefined ones too (and the default bridge device, if this
   * controller made it), and puts back `net.ipv4.ip_forward` if cnm-ts switched it on and no
   * cnm-ts bridge is left. A later stop() does nothing: it resolves once the first one is done.
   * libnetwork: `Controller.Stop()`; docker: stopping `dockerd` (with `removeAll`: `docker rm -f` of
   * everything, then `docker network prune`).
   */
  async stop(options: { removeAll?: boolean } = {}): Promise<void> {
    if (this.stopping) return this.stopping.catch(() => undefined);
    this.stopping = this.shutDown(options);
    return this.stopping;
  }

  private async shutDown(options: { removeAll?: boolean }): Promise<void> {
    await Promise.allSettled([...this.inflight]);
    try {
      if (options.removeAll) await this.removeAll();
    } finally {
      // What the process holds (published ports, DNS sockets) goes; the kernel objects stay for the next controller.
      for (const sandbox of this.sandboxesById.values()) sandbox.closeResolver();
      const removeAll = options.removeAll ?? false;
      for (const driver of this.drivers.values()) await driver.stop?.({ removeAll }).catch((err: unknown) => debug('stop: %s', (err as Error).message));
      if (this.lockFd !== null) await unlockStateDir(this.kernel, this.lockFd);
      this.lockFd = null;
    }
  }

  /** Deletes every sandbox, endpoint and network, going on past failures and reporting them all. */
  private async removeAll(): Promise<void> {
    const errors = await removeSandboxes([...this.sandboxesById.values()]);
    const attempt = (p: Promise<unknown>) => p.catch((e: unknown) => errors.push(e));
    for (const network of [...this.networksById.values()]) {
      for (const endpoint of network.members.values()) await attempt(endpoint.remove({ force: true }));
      await attempt(
        this.networkLock.run(async () => {
          await this.kernel.batch([this.store.removeOp('network', network.id)]);
          await network.driver.deleteNetwork(network.id);
          await network.releasePools();
          this.networksById.delete(network.id);
          this.emit('network:destroy', network);
        }),
      );
    }
    if (errors.length > 0) throw new AggregateError(errors, `stop: ${errors.length} object(s) could not be removed`);
    await this.kernel.batch([this.layout.runFolderRemoval()]);
  }

  /** @internal Throws STOPPED once stop() was called. */
  checkRunning(): void {
    if (this.stopping) throw new CnmError('STOPPED', `controller ${this.id.slice(0, 12)} on ${this.layout.folders.stateDir} is stopped`);
  }
}
