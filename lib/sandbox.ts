import createDebug from 'debug';
import * as path from 'node:path';
import type { NetworkController } from './controller';
import type { JoinTarget } from './drivers/api';
import type { Endpoint } from './endpoint';
import { CnmError } from './errors';
import { batch, type LinkInfo, type LinkStats, type NativeOp } from './native';
import type { SandboxOptions } from './options';
import { hostsFile, resolvConf, sandboxFileContents, sandboxFilePaths, validateDnsConfig, type SandboxDnsConfig } from './sandbox-files';
import { Mutex } from './util/mutex';

const debug = createDebug('cnm:sandbox');

export type SandboxMode = 'namespace' | 'host' | 'container';

/** A network namespace shared by one sandbox and the container-mode sandboxes that share it. */
export interface NamespaceHandle {
  key: string;
  /** The namespace file's name in the namespace directory; null for the host's namespace. */
  name: string | null;
  /** Sandboxes using it; it is dropped when the last one goes (if cnm-ts made it). */
  users: number;
  owned: boolean;
}

interface Attachment {
  endpoint: Endpoint;
  ifname: string;
  priority: number;
  order: number;
}

/** One network stack: a namespace (its `key`), the interfaces of the endpoints that joined it,
 * its routes, hosts and resolv.conf (libnetwork's Sandbox). */
export class Sandbox {
  private readonly attached = new Map<string, Attachment>();
  private readonly lock = new Mutex();
  private gatewayEndpoint: Endpoint | null = null;
  private joins = 0;
  private deleted = false;
  private config: SandboxDnsConfig;

  /** @internal */
  constructor(
    readonly id: string,
    readonly containerId: string,
    readonly mode: SandboxMode,
    /** @internal */ readonly namespace: NamespaceHandle,
    /** @internal */ readonly controller: NetworkController,
    options: SandboxOptions,
  ) {
    const { useDefaultSandbox: _host, shareWith: _share, labels: _labels, ...dns } = options;
    this.config = dns;
    this.labels = { ...(options.labels ?? {}) };
  }

  readonly labels: Record<string, string>;
  /** @internal The host's nameservers, the fallback for resolv.conf; set before the files are written. */
  hostServers: string[] = [];

  /** The namespace path (`/run/netns/cnm-...`); the host's for host mode, the other's for container mode. */
  get key(): string {
    return this.namespace.key;
  }

  /** The endpoints joined to this sandbox. */
  endpoints(): Endpoint[] {
    return [...this.attached.values()].map((a) => a.endpoint);
  }

  /** The sandbox's own folder for hosts and resolv.conf. */
  private ownFolder(): string {
    return path.join(this.controller.stateDir, 'sandboxes', this.id);
  }

  /** The namespace's folder under /etc/netns (for `ip netns exec`), if cnm-ts named the namespace. */
  private namespaceFolder(): string | null {
    const { owned, name } = this.namespace;
    return owned && name ? path.join(this.controller.etcNetnsDir, name) : null;
  }

  /**
   * @internal Removes the sandbox's files, the namespace's folder under /etc/netns when
   * `namespaceFolder`, and the namespace itself when `namespace`: one trip to a worker thread. The
   * files go first, so that a namespace that vanished out of band does not keep them.
   */
  async removeFiles(parts: { namespaceFolder: boolean; namespace: boolean }): Promise<void> {
    const shared = parts.namespaceFolder ? this.namespaceFolder() : null;
    const ops: NativeOp[] = [{ op: 'removePaths', paths: sandboxFilePaths(shared ? [this.ownFolder(), shared] : [this.ownFolder()]) }];
    if (parts.namespace) ops.push({ op: 'netnsDelete', path: this.namespace.key });
    await batch(ops);
  }

  /** @internal The operation that writes hosts and resolv.conf (also under /etc/netns/NAME for `ip netns exec`). */
  writeFilesOp(): NativeOp {
    const addresses = this.endpoints().flatMap((e) => [e.iface.address, e.iface.addressIPv6]).filter((a): a is string => !!a);
    const hosts = hostsFile(this.config, addresses.map((a) => a.split('/')[0]));
    // The namespace's folder is written by the sandbox that made the namespace, not by those sharing it.
    const shared = this.mode === 'namespace' ? this.namespaceFolder() : null;
    const folders = shared ? [this.ownFolder(), shared] : [this.ownFolder()];
    return { op: 'writeFiles', files: sandboxFileContents(folders, hosts, resolvConf(this.config, this.hostServers)) };
  }

  private async writeFiles(): Promise<void> {
    await batch([this.writeFilesOp()]);
  }

  /** @internal Endpoint.join(): picks the interface name and the gateway, then the driver does the rest. */
  async attach(endpoint: Endpoint, priority: number): Promise<void> {
    this.checkCanJoin(endpoint);
    await this.lock.run(async () => {
      this.checkCanJoin(endpoint);
      const order = this.joins++;
      const network = endpoint.network;
      const hasGateway = !network.options.internal && network.pools.v4.length + network.pools.v6.length > 0;
      const current = this.gatewayEndpoint ? this.attached.get(this.gatewayEndpoint.id) : undefined;
      const becomesGateway = hasGateway && (!current || priority > current.priority);
      const target = this.target(this.freeIfname(), becomesGateway);
      const info = await network.driver.join(network.id, endpoint.id, target);
      endpoint.sandbox = this;
      endpoint.joinInfo = info;
      this.attached.set(endpoint.id, { endpoint, ifname: target.ifname, priority, order });
      if (becomesGateway) await this.moveGateway(endpoint);
      if (this.config.hostname) await this.writeFiles();
      debug('%s joined %s as %s%s', endpoint.name, this.id.slice(0, 12), target.ifname, becomesGateway ? ' (gateway)' : '');
    });
    this.controller.emit('network:connect', endpoint, this);
  }

  private checkCanJoin(endpoint: Endpoint): void {
    if (this.deleted) throw new CnmError('NOT_FOUND', `sandbox ${this.id.slice(0, 12)} is deleted`);
    if (this.mode === 'container') {
      throw new CnmError('FORBIDDEN', `sandbox ${this.id.slice(0, 12)} shares another sandbox's namespace and cannot join networks`);
    }
    const hostNetwork = endpoint.network.type === 'host';
    if ((this.mode === 'host') !== hostNetwork) {
      throw new CnmError('FORBIDDEN', hostNetwork
        ? `only a host-mode sandbox can join the host network ${endpoint.network.name}`
        : `a host-mode sandbox cannot join ${endpoint.network.type} network ${endpoint.network.name}`);
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

  /** @internal Endpoint.leave(), and each endpoint when the sandbox is deleted (`sandboxGoing`). */
  async detach(endpoint: Endpoint, sandboxGoing: boolean): Promise<void> {
    await this.lock.run(() => this.detachLocked(endpoint, sandboxGoing));
  }

  private async detachLocked(endpoint: Endpoint, sandboxGoing: boolean): Promise<void> {
    const attachment = this.attached.get(endpoint.id);
    if (!attachment) throw new CnmError('CONFLICT', `endpoint ${endpoint.name} is not joined to sandbox ${this.id.slice(0, 12)}`);
    const network = endpoint.network;
    const wasGateway = this.gatewayEndpoint === endpoint;
    if (wasGateway) await this.moveGateway(null);
    await network.driver.leave(network.id, endpoint.id, this.target(attachment.ifname, false), sandboxGoing);
    this.attached.delete(endpoint.id);
    endpoint.sandbox = null;
    endpoint.joinInfo = null;
    if (wasGateway && !sandboxGoing) await this.electGateway();
    if (!sandboxGoing && this.config.hostname) await this.writeFiles();
    this.controller.emit('network:disconnect', endpoint, this);
  }

  /** After the gateway endpoint left: the highest-priority remaining one (first joined on a tie) takes over. */
  private async electGateway(): Promise<void> {
    const candidates = [...this.attached.values()]
      .filter((a) => a.endpoint.joinInfo?.gateway || a.endpoint.joinInfo?.gatewayIPv6)
      .sort((a, b) => b.priority - a.priority || a.order - b.order);
    const next = candidates[0];
    if (!next) return;
    const network = next.endpoint.network;
    await network.driver.setDefaultRoute?.(network.id, next.endpoint.id, this.target(next.ifname, true));
    await this.moveGateway(next.endpoint);
  }

  /**
   * Makes `to` the gateway endpoint, the one that gives the sandbox outside access: the old one's
   * external connectivity is revoked and the new one's programmed (libnetwork's
   * updateExternalConnectivity).
   */
  private async moveGateway(to: Endpoint | null): Promise<void> {
    const from = this.gatewayEndpoint;
    if (from === to) return;
    if (from) await from.network.driver.revokeExternalConnectivity?.(from.network.id, from.id);
    this.gatewayEndpoint = to;
    if (to) await to.network.driver.programExternalConnectivity?.(to.network.id, to.id, {});
  }

  /** Per-interface counters of the joined endpoints' interfaces, by interface name (`ip -s link`). */
  async statistics(): Promise<Record<string, LinkStats>> {
    const names = [...this.attached.values()].filter((a) => a.endpoint.joinInfo?.ifname).map((a) => a.ifname);
    if (names.length === 0) return {};
    const links = (await batch(names.map((name) => ({ op: 'linkGet' as const, name, netns: this.key })))) as LinkInfo[];
    return Object.fromEntries(links.map((l) => [l.name, l.stats]));
  }

  /**
   * Applies new DNS / hosts options: every endpoint leaves, the files are rewritten, and they join
   * again with their priorities (libnetwork's Sandbox.Refresh).
   */
  async refresh(options: Omit<SandboxOptions, 'useDefaultSandbox' | 'shareWith'> = {}): Promise<void> {
    const { labels: _labels, ...dns } = options;
    validateDnsConfig(dns);
    const rejoin = [...this.attached.values()].sort((a, b) => a.order - b.order);
    for (const a of rejoin) await a.endpoint.leave(this);
    this.config = dns;
    await this.writeFiles();
    for (const a of rejoin) await a.endpoint.join(this, { priority: a.priority });
  }

  /**
   * Deletes the sandbox: every endpoint leaves, its files go, and its namespace is dropped once no
   * container-mode sandbox shares it (the kernel then removes the interfaces in the background).
   */
  async delete(): Promise<void> {
    if (this.deleted) throw new CnmError('NOT_FOUND', `sandbox ${this.id.slice(0, 12)} is already deleted`);
    await this.lock.run(async () => {
      if (this.deleted) throw new CnmError('NOT_FOUND', `sandbox ${this.id.slice(0, 12)} is already deleted`);
      this.deleted = true;
      const dropping = this.namespace.owned && this.namespace.users === 1;
      for (const a of [...this.attached.values()]) {
        a.endpoint.state = 'leaving';
        try {
          await this.detachLocked(a.endpoint, dropping);
        } finally {
          a.endpoint.state = a.endpoint.sandbox ? 'joined' : 'idle';
        }
      }
      this.namespace.users -= 1;
      const lastUser = this.namespace.users === 0 && this.namespace.owned;
      await this.removeFiles({ namespaceFolder: lastUser, namespace: lastUser });
    });
    this.controller.forgetSandbox(this);
    this.controller.emit('sandbox:destroy', this);
  }
}
