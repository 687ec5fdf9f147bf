import createDebug from './util/debug';
import type { NetworkController } from './controller';
import type { BoundPort, JoinInfo, JoinSandboxOps, JoinTarget } from './drivers/api';
import type { Endpoint } from './endpoint';
import { CnmError } from './errors';
import { bestEffortTogether, NetlinkError, type DnsSockets, type Kernel, type LinkInfo, type LinkStats, type NativeOp, type NativeResult } from './native';
import type { SandboxOptions } from './controller-options';
import { checkDeleteOptions, checkRefreshOptions } from './option-checks';
import { embeddedResolvConf, resolvConf, resolverUpstreams, type HostResolvConf } from './resolv-conf';
import { hostsFile, removeSandboxFilesOps, writeSandboxFilesOps, type FilesFolder, type SandboxDnsConfig } from './sandbox-files';
import type { NamespaceHandle } from './layout';
import { Gateway, type Attachment } from './sandbox-gateway';
import type { DnsEntry } from './dns/records';
import { resolverPorts, SandboxResolver, type ResolverScope } from './dns/resolver';
import { removeRedirectCommands } from './dns/redirect';
import type { Network } from './network';
import { STATE_VERSION, type AttachmentRecord, type SandboxMode, type SandboxRecord } from './store/records';
import { Mutex } from './util/mutex';
import { withUndo } from './util/undo';

export type { SandboxMode } from './store/records';

const debug = createDebug('cnm:sandbox');

/** One network stack: a namespace (its `key`), the interfaces of the endpoints that joined it,
 * its routes, hosts and resolv.conf (libnetwork's Sandbox). */
export class Sandbox {
  private readonly attached = new Map<string, Attachment>();
  private readonly lock = new Mutex();
  private readonly gateway = new Gateway({
    attachments: () => this.attachments(),
    target: (ifname, route) => this.target(ifname, route),
    portsUnavailable: (endpoint, error) => this.controller.emit('endpoint:ports-unavailable', endpoint, error),
  });
  private joins = 0;
  private deleted = false;
  /** The embedded DNS server, from the first join of a network that serves names until the delete. */
  private resolver: SandboxResolver | null = null;
  /** @internal The ports its sockets ask for: opened with the namespace, they are taken at that first join. */
  readonly resolverPorts = resolverPorts();
  private readonly dnsScope: ResolverScope = {
    networks: () => this.attachments().map(({ endpoint: { network } }) => ({ id: network.id, name: network.name })),
    mayForward: () => this.attachments().some((a) => !a.endpoint.network.options.internal),
    upstreams: () => resolverUpstreams(this.config, this.hostDns),
  };
  /** @internal */ config: SandboxDnsConfig;

  /** Sandboxes come from `NetworkController.newSandbox()`, never from `new` (see Endpoint's constructor). */
  private constructor(
    readonly id: string,
    readonly containerId: string,
    readonly mode: SandboxMode,
    /** @internal */ readonly namespace: NamespaceHandle,
    /** @internal */ readonly controller: NetworkController,
    options: SandboxOptions,
  ) {
    const { useDefaultSandbox: _host, shareWith: _share, labels: _labels, ...dns } = options;
    this.config = dns;
    this.ownLabels = { ...(options.labels ?? {}) };
  }

  /** @internal The controller and the restore make sandboxes with it. */
  static make(id: string, containerId: string, mode: SandboxMode, namespace: NamespaceHandle, controller: NetworkController, options: SandboxOptions): Sandbox {
    return new Sandbox(id, containerId, mode, namespace, controller, options);
  }

  private readonly ownLabels: Record<string, string>;

  /**
   * The sandbox's labels; a copy, so that changing it changes nothing (labels are given at creation).
   * libnetwork: `Sandbox.Labels()`.
   */
  get labels(): Record<string, string> {
    return { ...this.ownLabels };
  }
  /** @internal The host's resolver configuration when the sandbox was made, what resolv.conf falls back to; set before the files are written. */
  hostDns: HostResolvConf = { nameservers: [], search: [], options: [] };

  /**
   * The namespace path (`/run/netns/cnm-...`); the host's for host mode, the other's for container mode.
   * libnetwork: `Sandbox.Key()`; docker: `docker inspect -f '{{.NetworkSettings.SandboxKey}}'`; ip:
   * `ip netns exec NAME` with the file's name.
   */
  get key(): string {
    return this.namespace.key;
  }

  /**
   * The endpoints joined to this sandbox.
   * libnetwork: `Sandbox.Endpoints()`.
   */
  endpoints(): Endpoint[] {
    this.controller.checkRunning();
    return this.attachments().map((a) => a.endpoint);
  }

  /** How the endpoints are joined, in join order. */
  private attachments(): Attachment[] {
    return [...this.attached.values()].sort((a, b) => a.order - b.order);
  }

  /** The sandbox's own folder for hosts and resolv.conf. */
  private ownFolder(): FilesFolder {
    return this.controller.layout.sandboxFolder(this.id);
  }

  /** The namespace's folder under /etc/netns (for `ip netns exec`), if cnm-ts named the namespace. */
  private namespaceFolder(): FilesFolder | null {
    const { owned, name } = this.namespace;
    return owned && name ? this.controller.layout.etcNetnsFolder(name) : null;
  }

  /**
   * @internal The operations that remove the sandbox's files, the namespace's folder under
   * /etc/netns when `namespaceFolder`, and the namespace itself when `namespace`. The files go
   * first, so that a namespace that vanished out of band does not keep them.
   */
  removeOps(parts: { namespaceFolder: boolean; namespace: boolean }): NativeOp[] {
    const shared = parts.namespaceFolder ? this.namespaceFolder() : null;
    const ops = removeSandboxFilesOps(shared ? [this.ownFolder(), shared] : [this.ownFolder()]);
    if (parts.namespace) ops.push({ op: 'netnsDelete', path: this.namespace.key });
    return ops;
  }

  /**
   * @internal The operations that write hosts and resolv.conf (also under /etc/netns/NAME for `ip
   * netns exec`), and the resolv.conf of the container-mode sandboxes that take this one's; `only`
   * writes just resolv.conf, and `joining` lists that attachment's addresses in hosts already.
   */
  writeFilesOps(only?: 'resolv', joining?: Attachment): NativeOp[] {
    return [...this.ownFilesOps(only, joining), ...this.sharers().flatMap((s) => s.ownFilesOps(only))];
  }

  /** The sandbox's own files; with `joining`, hosts as it will be once that attachment has joined. */
  private ownFilesOps(only?: 'resolv', joining?: Attachment): NativeOp[] {
    const resolv = this.resolvConfText();
    if (only === 'resolv') return writeSandboxFilesOps(this.filesFolders(), { resolv });
    const attachments = joining ? [...this.attachments(), joining].sort((a, b) => a.order - b.order) : this.attachments();
    const addresses = attachments.flatMap(({ endpoint: e }) => [e.iface.address, e.iface.addressIPv6]).filter((a): a is string => !!a);
    const hosts = hostsFile(
      this.config,
      addresses.map((a) => a.split('/')[0]),
    );
    return writeSandboxFilesOps(this.filesFolders(), { hosts, resolv });
  }

  /** Where the files go: the namespace's folder is written by the sandbox that made the namespace, not by those sharing it. */
  private filesFolders(): FilesFolder[] {
    const shared = this.mode === 'namespace' ? this.namespaceFolder() : null;
    return shared ? [this.ownFolder(), shared] : [this.ownFolder()];
  }

  /**
   * What resolv.conf says. A container-mode sandbox without DNS options of its own has the one of
   * the sandbox whose namespace it shares (its embedded DNS server answers there too), as Docker
   * gives a container the resolv.conf of the container whose network it joins (Docker refuses DNS
   * options in that mode); its own once that sandbox is deleted.
   */
  private resolvConfText(): string {
    const owner = this.mode === 'container' && !hasOwnDns(this.config) ? this.sharing().find((s) => s.mode !== 'container') : undefined;
    if (owner) return owner.resolvConfText();
    return this.resolver ? embeddedResolvConf(this.config, this.hostDns) : resolvConf(this.config, this.hostDns, this.mode === 'host');
  }

  /** The container-mode sandboxes that take this one's resolv.conf. */
  private sharers(): Sandbox[] {
    if (this.mode === 'container' || this.namespace.users < 2) return [];
    return this.sharing().filter((s) => s.mode === 'container' && !hasOwnDns(s.config));
  }

  /** The other live sandboxes in this one's namespace. */
  private sharing(): Sandbox[] {
    return [...this.controller.sandboxesIn(this.namespace)].filter((s) => s !== this && !s.deleted);
  }

  private async writeFiles(): Promise<void> {
    await this.controller.kernel.batch(this.writeFilesOps());
  }

  /**
   * @internal Endpoint.join(): picks the interface name and the gateway, the driver does the
   * kernel work, then the endpoint's record is written. A failed step undoes the ones before it.
   */
  async attach(endpoint: Endpoint, priority: number): Promise<void> {
    this.checkCanJoin(endpoint);
    await this.lock.run(() => this.attachLocked(endpoint, priority));
    this.controller.emit('network:connect', endpoint, this);
  }

  /**
   * A join, with the lock held. `slot` (a refresh and its undo) joins the endpoint again with the
   * interface name and join order it had, instead of the lowest free name and the next order.
   */
  private async attachLocked(endpoint: Endpoint, priority: number, slot?: Pick<Attachment, 'ifname' | 'order'>): Promise<void> {
    this.checkCanJoin(endpoint);
    const network = endpoint.network;
    const hasGateway = !network.options.internal && network.pools.v4.length + network.pools.v6.length > 0;
    const current = this.gateway.endpoint ? this.attached.get(this.gateway.endpoint.id) : undefined;
    const order = slot?.order ?? this.joins;
    // The gateway is the highest priority, the first joined on a tie (Gateway.candidates()).
    const becomesGateway = hasGateway && (!current || priority > current.priority || (priority === current.priority && order < current.order));
    const target = this.target(slot?.ifname ?? this.freeIfname(), becomesGateway);
    const attachment = { endpoint, ifname: target.ifname, priority, order };
    const before = this.toRecord();
    // When the join moves no published ports, its record rides in the driver's batch: one trip
    // per join. So do a resolver opened for this join (its sockets, the redirect to them,
    // resolv.conf) and, for a sandbox with a hostname, hosts with the new address.
    const recordsInBatch = !movesPorts(becomesGateway, endpoint, current);
    const hostsInBatch = recordsInBatch && !!this.config.hostname;
    await withUndo(async (undo) => {
      // Never in the host's own namespace (host mode): its 127.0.0.11 and nf_tables are the host's, as in Docker.
      const resolver = !this.resolver && this.mode !== 'host' && servesNames(network) ? this.startResolver(undo) : null;
      // Hosts as it was, whichever of the batch's writes were made (the endpoint is not linked then).
      if (hostsInBatch) undo.push(() => this.writeFiles());
      // The driver's batch replaces the default route before the sandbox's own operations: when one
      // of those fails, the driver's undo deletes the new interface, and the route with it.
      if (becomesGateway && current) undo.push(() => this.gateway.routeThrough(current));
      const filesOps = hostsInBatch ? this.writeFilesOps(undefined, attachment) : resolver ? this.writeFilesOps('resolv') : [];
      const sandboxWork = [...(resolver ? [resolver.openOp(this.controller.owner)] : []), ...filesOps];
      let batched = false;
      let results: NativeResult[] = [];
      const sandboxOps: JoinSandboxOps = {
        ops: (info) => {
          batched = true;
          return recordsInBatch ? [...sandboxWork, this.controller.store.writeOp(this.recordWith(attachment, info))] : sandboxWork;
        },
        done: (returned) => (results = returned),
      };
      const info = await network.driver.join(network.id, endpoint.id, target, sandboxOps);
      undo.push(() => network.driver.leave(network.id, endpoint.id, target, false));
      if (batched && recordsInBatch) undo.push(() => this.controller.kernel.batch([this.controller.store.writeOp(before)]));
      // A driver that does not batch (JoinSandboxOps): the resolver's operations and the files go now, the record below.
      if (!batched && sandboxWork.length > 0) results = await this.controller.kernel.batch(sandboxWork);
      // The first of them opened its sockets.
      if (resolver) resolver.attach(results[0] as DnsSockets);
      this.link(attachment, info);
      undo.push(() => this.unlink(endpoint));
      if (becomesGateway) {
        const previous = current ?? null;
        const published = previous?.endpoint.published ?? null;
        undo.push(() => this.gateway.restore(previous, published));
        await this.gateway.move(endpoint);
      }
      if (!hostsInBatch) await this.rewriteHosts(undo, () => this.unlink(endpoint));
      if (!(batched && recordsInBatch)) await this.saveRecord(before, undo);
    });
    if (!slot) this.joins += 1;
    debug('%s joined %s as %s%s', endpoint.name, this.id.slice(0, 12), target.ifname, becomesGateway ? ' (gateway)' : '');
  }

  /** @internal Records an endpoint as joined here (at join and at restore); its names resolve at once. */
  link(attachment: Attachment, info: JoinInfo): void {
    const { endpoint } = attachment;
    endpoint.recordJoin(this, info);
    this.attached.set(endpoint.id, attachment);
    if (servesNames(endpoint.network)) this.controller.dnsRecords.add(endpoint.network.id, this.dnsEntry(endpoint));
  }

  private unlink(endpoint: Endpoint): void {
    if (endpoint.sandbox !== this) return;
    this.attached.delete(endpoint.id);
    this.controller.dnsRecords.remove(endpoint.network.id, endpoint.id);
    endpoint.forgetJoin();
  }

  /**
   * The names an endpoint answers to on its network: its `dnsNames`, else its own name, and the
   * container id's short form (12 characters) when the id is hex, as Docker gives containers.
   */
  private dnsEntry(endpoint: Endpoint): DnsEntry {
    const names = endpoint.options.dnsNames?.length ? [...endpoint.options.dnsNames] : [endpoint.name];
    const short = this.containerId.slice(0, 12);
    if (/^[0-9a-f]{12,}$/i.test(this.containerId) && !names.includes(short)) names.push(short);
    const address = (cidr: string | undefined) => cidr?.split('/')[0] ?? null;
    return { endpointId: endpoint.id, names, ipv4: address(endpoint.iface.address), ipv6: address(endpoint.iface.addressIPv6) };
  }

  /**
   * The embedded DNS server for the first join of a network that serves names, before its sockets
   * exist: the join's batch opens them, points the sandbox's 127.0.0.11:53 at them and writes
   * resolv.conf. The undo closes it, removes the redirect and writes resolv.conf back.
   */
  private startResolver(undo: { push(step: () => unknown): void }): SandboxResolver {
    const resolver = this.newResolver();
    this.resolver = resolver;
    undo.push(() => {
      this.closeResolver();
      const redirect: NativeOp = { op: 'nftTransaction', netns: this.key, commands: removeRedirectCommands(this.controller.owner) };
      return this.controller.kernel.batch([redirect, ...this.writeFilesOps('resolv')]);
    });
    return resolver;
  }

  /** On the ports its namespace was made with sockets for (see NetworkController.newSandbox). */
  private newResolver(): SandboxResolver {
    return new SandboxResolver(this.controller.kernel, this.controller.dnsRecords, this.dnsScope, this.key, this.resolverPorts);
  }

  /**
   * @internal At restore, once the joined endpoints are linked: the resolver's sockets went with the
   * process that had them, so a sandbox joined to a network that serves names gets new ones, and
   * the redirect to them, in one op (nothing stays open when it fails). Resolves with what failed.
   */
  async reopenResolver(): Promise<unknown[]> {
    if (this.mode === 'host' || !this.attachments().some((a) => servesNames(a.endpoint.network))) return [];
    const resolver = this.newResolver();
    try {
      const [sockets] = await this.controller.kernel.batch([resolver.openOp(this.controller.owner)]);
      resolver.attach(sockets as DnsSockets);
      this.resolver = resolver;
      return [];
    } catch (err) {
      return [err];
    }
  }

  /** @internal Closes the embedded DNS server's sockets (a delete, the controller's stop). */
  closeResolver(): void {
    this.resolver?.close();
    this.resolver = null;
  }

  /** @internal How an endpoint is joined here. */
  attachmentOf(endpoint: Endpoint): Attachment | undefined {
    return this.attached.get(endpoint.id);
  }

  /**
   * @internal At restore, once the joined endpoints are linked: join order goes on after theirs,
   * and what a crash in the middle of a join or leave may have left different from the records
   * is put back (the gateway's default route and published ports, the hosts file).
   */
  async repair(): Promise<unknown[]> {
    const errors: unknown[] = [];
    this.joins = Math.max(0, ...[...this.attached.values()].map((a) => a.order + 1));
    await this.gateway.repair(errors);
    if (this.config.hostname) await this.writeFiles().catch((err: unknown) => errors.push(err));
    return errors;
  }

  /**
   * Rewrites hosts (it lists the sandbox's addresses) when the sandbox has a hostname; the undo
   * puts the membership back first (`revert`), then rewrites it again.
   */
  private async rewriteHosts(undo: { push(step: () => unknown): void }, revert: () => void): Promise<void> {
    if (!this.config.hostname) return;
    // The undo goes first: the files are two operations (state and /etc/netns folders), and the second may fail.
    undo.push(() => {
      revert();
      return this.writeFiles();
    });
    await this.writeFiles();
  }

  private checkAlive(): void {
    if (this.deleted) throw new CnmError('NOT_FOUND', `sandbox ${this.id.slice(0, 12)} is deleted`);
  }

  /**
   * @internal Runs `work` once the sandbox's operations asked for before it are done, and before
   * any asked for after it (a delete waits for it); NOT_FOUND if the sandbox is deleted by then.
   */
  exclusive<T>(work: () => Promise<T>): Promise<T> {
    return this.lock.run(async () => {
      this.checkAlive();
      return work();
    });
  }

  private checkCanJoin(endpoint: Endpoint): void {
    this.checkAlive();
    if (this.mode === 'container') {
      throw new CnmError('FORBIDDEN', `sandbox ${this.id.slice(0, 12)} shares another sandbox's namespace and cannot join networks`);
    }
    const hostNetwork = endpoint.network.type === 'host';
    if ((this.mode === 'host') !== hostNetwork) {
      throw new CnmError(
        'FORBIDDEN',
        hostNetwork
          ? `only a host-mode sandbox can join the host network ${endpoint.network.name}`
          : `a host-mode sandbox cannot join ${endpoint.network.type} network ${endpoint.network.name}`,
      );
    }
    if (endpoint.network.controller !== this.controller) throw new CnmError('FORBIDDEN', 'endpoint and sandbox belong to different controllers');
  }

  /** The lowest ethN not used by an attached endpoint. */
  private freeIfname(): string {
    const used = new Set([...this.attached.values()].map((a) => a.ifname));
    let n = 0;
    while (used.has(`eth${n}`)) n += 1;
    return `eth${n}`;
  }

  private target(ifname: string, defaultRoute: boolean): JoinTarget {
    return { sandboxId: this.id, key: this.key, isHost: this.mode === 'host', ifname, defaultRoute };
  }

  /**
   * @internal Endpoint.leave(): checked once the sandbox's operations before it are done (CONFLICT
   * if the endpoint is not joined here then); undone if a step fails.
   */
  async detach(endpoint: Endpoint): Promise<void> {
    await this.lock.run(async () => {
      if (!this.attached.has(endpoint.id) || endpoint.state !== 'joined') {
        throw new CnmError('CONFLICT', `endpoint ${endpoint.name} is not joined to sandbox ${this.id.slice(0, 12)}`);
      }
      await this.whileMoving([endpoint], () => this.detachLocked(endpoint));
    });
    this.controller.emit('network:disconnect', endpoint, this);
  }

  /** Runs `work` with the endpoints marked as leaving; then they are joined or idle, as they are. */
  private async whileMoving<T>(endpoints: Endpoint[], work: () => Promise<T>): Promise<T> {
    for (const e of endpoints) e.markLeaving();
    try {
      return await work();
    } finally {
      for (const e of endpoints) e.settle();
    }
  }

  private async detachLocked(endpoint: Endpoint): Promise<void> {
    const attachment = this.attached.get(endpoint.id)!;
    const network = endpoint.network;
    const info = endpoint.joinInfo!;
    const before = this.toRecord();
    const wasGateway = this.gateway.endpoint === endpoint;
    // The interface goes last: every step before it can be undone exactly.
    await withUndo(async (undo) => {
      this.unlink(endpoint);
      undo.push(() => this.link(attachment, info));
      if (wasGateway) {
        const published = endpoint.published;
        undo.push(() => this.gateway.restore(attachment, published));
        await this.gateway.move(null);
        await this.gateway.elect();
      }
      await this.rewriteHosts(undo, () => this.link(attachment, info));
      await this.saveRecord(before, undo);
      await network.driver.leave(network.id, endpoint.id, this.target(attachment.ifname, false), false);
    });
  }

  /**
   * @internal Endpoint.delete({ force }): detaches the endpoint going on past failures (a link
   * already gone is fine), and returns them. Its record is the caller's to remove.
   */
  async teardown(endpoint: Endpoint): Promise<unknown[]> {
    return this.lock.run(async () => {
      const errors = await this.teardownLocked(endpoint, false);
      // A sandbox deleted meanwhile took the endpoint with it, and has no record left to rewrite.
      if (!this.deleted) await this.controller.kernel.batch([this.controller.store.writeOp(this.toRecord())]).catch((err: unknown) => errors.push(err));
      return errors;
    });
  }

  private async teardownLocked(endpoint: Endpoint, sandboxGoing: boolean): Promise<unknown[]> {
    const errors: unknown[] = [];
    const attempt = (step: () => Promise<unknown>) => step().catch((err: unknown) => errors.push(err));
    const attachment = this.attached.get(endpoint.id);
    if (!attachment) return errors;
    const network = endpoint.network;
    const wasGateway = this.gateway.endpoint === endpoint;
    if (wasGateway) await attempt(() => this.gateway.move(null));
    if (wasGateway) this.gateway.endpoint = null;
    await attempt(() => network.driver.leave(network.id, endpoint.id, this.target(attachment.ifname, false), sandboxGoing));
    this.unlink(endpoint);
    if (!sandboxGoing) {
      if (wasGateway) await attempt(() => this.gateway.elect());
      if (this.config.hostname) await attempt(() => this.writeFiles());
    }
    this.controller.emit('network:disconnect', endpoint, this);
    return errors;
  }

  /**
   * Writes the sandbox's record, which holds its joins (with the gateway's published ports); the
   * undo writes back what it was (`before`).
   */
  private async saveRecord(before: SandboxRecord, undo: { push(step: () => unknown): void }): Promise<void> {
    const store = this.controller.store;
    undo.push(() => this.controller.kernel.batch([store.writeOp(before)]));
    await this.controller.kernel.batch([store.writeOp(this.toRecord())]);
  }

  /**
   * Per-interface counters of the joined endpoints' interfaces, by interface name (`ip -s link`).
   * libnetwork: `Sandbox.Statistics()`; docker: the NET I/O column of `docker stats`; ip: `ip -s link
   * show` inside the namespace.
   */
  async statistics(): Promise<Record<string, LinkStats>> {
    return this.controller.operation(() => this.readStatistics());
  }

  private async readStatistics(): Promise<Record<string, LinkStats>> {
    const names = this.attachments()
      .filter((a) => a.endpoint.joinInfo?.ifname)
      .map((a) => a.ifname);
    if (names.length === 0) return {};
    const links = (await this.controller.kernel.batch(names.map((name) => ({ op: 'linkGet' as const, name, netns: this.key })))) as LinkInfo[];
    return Object.fromEntries(links.map((l) => [l.name, l.stats]));
  }

  /**
   * Applies new DNS / hosts options: every endpoint leaves, the files are rewritten, and they join
   * again with their priorities (libnetwork's Sandbox.Refresh). All or nothing: a failed step puts
   * the old options and joins back. No other operation of the sandbox runs in between.
   * docker: what `docker restart` does to a container's networks.
   */
  async refresh(options: Omit<SandboxOptions, 'useDefaultSandbox' | 'shareWith'> = {}): Promise<void> {
    return this.controller.operation(async () => {
      const { labels: _labels, ...dns } = checkRefreshOptions(options);
      const rejoin = await this.exclusive(() => this.refreshLocked(dns));
      for (const a of rejoin) this.controller.emit('network:disconnect', a.endpoint, this);
      for (const a of rejoin) this.controller.emit('network:connect', a.endpoint, this);
    });
  }

  private async refreshLocked(dns: SandboxDnsConfig): Promise<Attachment[]> {
    const rejoin = this.attachments();
    const endpoints = rejoin.map((a) => a.endpoint);
    const old = this.config;
    await this.whileMoving(endpoints, () =>
      withUndo(async (undo) => {
        const left: Attachment[] = [];
        undo.push(async () => {
          for (const a of left) await this.attachLocked(a.endpoint, a.priority, a);
        });
        for (const a of rejoin) {
          await this.detachLocked(a.endpoint);
          left.push(a);
        }
        this.config = dns;
        undo.push(() => {
          this.config = old;
          return this.writeFiles();
        });
        await this.writeFiles();
        const joined: Endpoint[] = [];
        undo.push(async () => {
          for (const e of joined.reverse()) await this.detachLocked(e);
        });
        for (const a of rejoin) {
          await this.attachLocked(a.endpoint, a.priority, a);
          joined.push(a.endpoint);
        }
      }),
    );
    return rejoin;
  }

  /**
   * Deletes the sandbox, best effort: every endpoint leaves, its files and its record go, and its
   * namespace is dropped once no container-mode sandbox shares it. The kernel destroys the
   * namespace's interfaces in the background; the delete resolves once their host ends are gone
   * too (they count against the bridge's port limit until then), unless `wait: false`, for a
   * caller that wants to go on at once. A step that fails does not stop the others: the sandbox is
   * deleted even so, and what could not be done is thrown afterwards as an AggregateError. A
   * namespace or interface that vanished out of band is fine. NOT_FOUND once deleted.
   * libnetwork: `Sandbox.Delete()`; docker: `docker rm`'s network part; ip: `ip netns delete NAME`.
   */
  async delete(options: { wait?: boolean } = {}): Promise<void> {
    const checked = checkDeleteOptions(options, 'wait');
    return this.controller.operation(() => this.remove(checked));
  }

  /** @internal delete() without the controller's running check (stop({ removeAll }) uses it). */
  async remove(options: { wait?: boolean } = {}): Promise<void> {
    if (this.deleted) throw new CnmError('NOT_FOUND', `sandbox ${this.id.slice(0, 12)} is already deleted`);
    const { errors, hostLinks } = await this.lock.run(async () => {
      if (this.deleted) throw new CnmError('NOT_FOUND', `sandbox ${this.id.slice(0, 12)} is already deleted`);
      this.deleted = true;
      const dropping = this.namespace.owned && this.namespace.users === 1;
      // Read before the endpoints leave: the driver forgets them then.
      const hostLinks = dropping ? this.hostLinks() : [];
      const errors: unknown[] = [];
      for (const a of [...this.attached.values()]) {
        a.endpoint.markLeaving();
        errors.push(...(await this.teardownLocked(a.endpoint, dropping)));
        a.endpoint.settle();
      }
      const hadResolver = this.resolver !== null;
      const sharers = this.sharers();
      this.closeResolver();
      this.namespace.users -= 1;
      const lastUser = this.namespace.users === 0 && this.namespace.owned;
      const store = this.controller.store;
      // The record goes before the files and the namespace: after a crash in between, they are
      // orphans that the next start removes, not a restored sandbox with half of it missing.
      const ops = [store.removeOp('sandbox', this.id), ...this.removeOps({ namespaceFolder: lastUser, namespace: lastUser })];
      // A namespace that stays (container-mode sandboxes keep it): no redirect to the closed
      // resolver, and the sharers' own resolv.conf.
      if (hadResolver && !lastUser) ops.push({ op: 'nftTransaction', netns: this.key, commands: removeRedirectCommands(this.controller.owner) });
      ops.push(...sharers.flatMap((s) => s.ownFilesOps()));
      errors.push(...(await bestEffortTogether(this.controller.kernel, ops)).filter((err) => !isGoneNamespace(err)));
      return { errors, hostLinks };
    });
    // Outside the lock (nothing else happens to a deleted sandbox); not after a failed step, which
    // may have kept the namespace and so the links.
    if (options.wait !== false && errors.length === 0 && hostLinks.length > 0) {
      await hostLinksGone(this.controller.kernel, hostLinks).catch((err: unknown) => errors.push(err));
    }
    this.controller.forgetSandbox(this);
    this.controller.emit('sandbox:destroy', this);
    if (errors.length > 0) throw new AggregateError(errors, `sandbox ${this.id.slice(0, 12)} is deleted, but ${errors.length} step(s) failed`);
  }

  /** The host-side links of the joined endpoints that go with the namespace. */
  private hostLinks(): string[] {
    return [...this.attached.values()].flatMap(({ endpoint }) => endpoint.network.driver.hostLinks?.(endpoint.id) ?? []);
  }

  /** @internal What the controller keeps on disk about the sandbox. */
  toRecord(): SandboxRecord {
    return {
      version: STATE_VERSION,
      kind: 'sandbox',
      id: this.id,
      containerId: this.containerId,
      mode: this.mode,
      key: this.key,
      namespaceName: this.namespace.name,
      owned: this.namespace.owned,
      config: this.config,
      labels: this.ownLabels,
      hostServers: [...this.hostDns.nameservers],
      hostSearch: [...this.hostDns.search],
      hostOptions: [...this.hostDns.options],
      attachments: this.attachments().map((a) => attachmentRecord(a, a.endpoint.joinInfo!, a.endpoint.published)),
    };
  }

  /** The record once `attachment` has joined with `info` (publishing no ports): what a join writes. */
  private recordWith(attachment: Attachment, info: JoinInfo): SandboxRecord {
    const record = this.toRecord();
    record.attachments = [...record.attachments, attachmentRecord(attachment, info, null)].sort((a, b) => a.order - b.order);
    return record;
  }
}

/**
 * How long a delete waits for the kernel to destroy a dropped namespace's links before it deletes
 * them itself: the kernel does it within milliseconds (a second for hundreds of namespaces at
 * once), so past this something still holds the namespace (a process inside, an open file).
 */
const DROP_WAIT_MS = 1000;

/**
 * Resolves once the host ends are gone. The kernel destroys them with the dropped namespace, in
 * the background (one listener waits for every delete's); a namespace that outlives its drop
 * would keep them on the bridge for good, so they are then deleted (`ip link del`) as a leave does.
 */
async function hostLinksGone(kernel: Kernel, names: string[]): Promise<void> {
  try {
    await kernel.waitLinksGone(names, DROP_WAIT_MS);
  } catch (err) {
    if (!(err instanceof NetlinkError && err.code === 'ETIMEDOUT')) throw err;
    debug('namespace still held after its drop: deleting %s', names.join(', '));
    await kernel.batch([{ op: 'linkDeleteGroup', names }]);
  }
}

/** Whether a join moves published ports (the joining endpoint's, or the current gateway's) to a new gateway. */
function movesPorts(becomesGateway: boolean, endpoint: Endpoint, current: Attachment | undefined): boolean {
  return becomesGateway && (!!endpoint.options.portMapping?.length || !!current?.endpoint.published);
}

/**
 * Whether joining the network gives a sandbox the embedded DNS server: every network but the
 * predefined ones (Docker's default bridge keeps the host's servers; host and none have no use).
 */
function servesNames(network: Network): boolean {
  return !network.predefined;
}

/** Whether a sandbox was given DNS options of its own. */
function hasOwnDns(config: SandboxDnsConfig): boolean {
  return !!(config.dns?.length || config.dnsSearch?.length || config.dnsOptions?.length);
}

/** For teardown: a namespace file that is already gone is fine. */
function isGoneNamespace(err: unknown): boolean {
  return err instanceof NetlinkError && err.syscall === 'open' && err.code === 'ENOENT';
}

/**
 * Removes sandboxes as `stop({ removeAll })` and a restore without live restore do: the
 * container-mode ones first (they share the others' namespaces), each group all at once so that the
 * kernel destroys the namespaces in one cleanup run, going on past failures. Resolves with them.
 */
export async function removeSandboxes(sandboxes: Sandbox[]): Promise<unknown[]> {
  const errors: unknown[] = [];
  const removeAll = (group: Sandbox[]) => Promise.all(group.map((s) => s.remove().catch((err: unknown) => errors.push(err))));
  await removeAll(sandboxes.filter((s) => s.mode === 'container'));
  await removeAll(sandboxes.filter((s) => s.mode !== 'container'));
  return errors;
}

/** How the record keeps one join. */
function attachmentRecord({ endpoint, ifname, priority, order }: Attachment, info: JoinInfo, published: BoundPort[] | null): AttachmentRecord {
  return { endpointId: endpoint.id, ifname, priority, order, info, published, driver: endpoint.network.driver.endpointState?.(endpoint.id) };
}
