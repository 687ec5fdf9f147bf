// A controller's start on a state directory that an earlier controller used: load the records,
// rebuild networks, endpoints, sandboxes and IPAM from them, check them against the kernel, and
// remove what a crash left half-made (libnetwork's sandbox cleanup, done on every start).
import createDebug from './util/debug';
import { lstat } from 'node:fs/promises';
import * as path from 'node:path';
import type { NetworkController } from './controller';
import type { BoundPort, RestoredEndpoint, RestoredNetwork } from './drivers/api';
import { Endpoint } from './endpoint';
import { bestEffort, runOne, type Kernel, type NativeOp } from './native';
import { Network } from './network';
import { reclaimEndpointAddresses, reclaimPools, type NetworkPools } from './network-pools';
import { hostNamespace, type NamespaceHandle } from './layout';
import { removeSandboxes, Sandbox } from './sandbox';
import { removeSandboxFilesOps, type FilesFolder } from './sandbox-files';
import type { AttachmentRecord, EndpointRecord, NetworkRecord, SandboxRecord } from './store/records';
import { foreignSandboxRecord } from './store/shapes';
import type { StateWarning } from './store/store';

const debug = createDebug('cnm:restore');

/** What a controller found in its state directory at start, and what it did about it. */
export interface RestoreReport {
  /** How many of each were restored and kept. */
  networks: number;
  endpoints: number;
  sandboxes: number;
  /** Record files that were skipped. */
  warnings: StateWarning[];
  /** Sandboxes removed because their namespace was gone (or because liveRestore is off). */
  removedSandboxes: string[];
  /** Endpoints whose interface was gone: they are kept, no longer joined. */
  lostEndpoints: string[];
  /** Kernel objects and folders removed because no record referred to them (links, namespaces, folders). */
  orphans: string[];
  /** What could not be repaired or removed. */
  errors: unknown[];
  /** How long the restore took, in milliseconds. */
  milliseconds: number;
}

/** The objects a restore rebuilt, for the controller to adopt, and what it found. */
export interface RestoredState {
  networks: Network[];
  sandboxes: Sandbox[];
  report: RestoreReport;
  /**
   * Repairs and removes what the restore found broken or left over (and, with liveRestore off,
   * every sandbox); run once the controller has adopted the objects. Fills in the report.
   */
  cleanUp(options: { liveRestore: boolean }): Promise<void>;
}

/** Rebuilds the controller's networks, endpoints and sandboxes from its records; see RestoredState. */
export async function restoreState(controller: NetworkController): Promise<RestoredState> {
  const started = performance.now();
  const state = await controller.store.load(controller.kernel);
  const report: RestoreReport = {
    networks: 0,
    endpoints: 0,
    sandboxes: 0,
    warnings: [],
    removedSandboxes: [],
    lostEndpoints: [],
    orphans: [],
    errors: [],
    milliseconds: 0,
  };
  const warn = (warning: StateWarning) => {
    debug('skipped %s: %s', warning.file, warning.reason);
    report.warnings.push(warning);
    controller.emit('state:warning', warning);
  };
  state.warnings.forEach(warn);
  const fixes: NativeOp[] = [];

  const { networks, skipped } = await restoreNetworks(controller, state.networks, (id, reason) => warn({ file: controller.store.file('network', id), reason }));
  // Sandbox records skipped as naming something this controller did not make: left alone, like unreadable ones.
  const leftAlone = [...state.unreadable.sandbox];
  const sandboxes = await restoreSandboxes(controller, state.sandboxes, report, fixes, leftAlone, (id, reason) =>
    warn({ file: controller.store.file('sandbox', id), reason }),
  );
  const endpoints = await restoreEndpoints(controller, networks, state.endpoints, fixes, (id, reason) =>
    warn({ file: controller.store.file('endpoint', id), reason }),
  );
  attachJoins(sandboxes, endpoints);

  // Each driver takes its networks and endpoints back and says which joined interfaces are gone.
  for (const [type, driver] of controller.drivers) {
    if (!driver.restore) continue;
    const restoredNetworks: RestoredNetwork[] = [...networks.values()]
      .filter((n) => n.network.type === type)
      .map((n) => ({ info: n.network.createInfo(controller.owner), state: n.record.driver }));
    const restoredEndpoints: RestoredEndpoint[] = [...endpoints.values()]
      .filter((e) => e.network.type === type)
      .map((e) => ({
        networkId: e.network.id,
        endpointId: e.record.id,
        iface: e.record.iface,
        state: e.attachment?.driver ?? e.record.driver,
        joined: e.target,
        published: e.attachment?.published ?? [],
      }));
    const result = await driver.restore({
      owner: controller.owner,
      networks: restoredNetworks,
      endpoints: restoredEndpoints,
      unreadable: [...state.unreadable.network, ...skipped],
      unreadableSandboxes: leftAlone,
      namespaces: [...new Set([...sandboxes.values()].filter(({ sandbox }) => sandbox.mode !== 'host').map(({ sandbox }) => sandbox.key))],
    });
    report.errors.push(...result.errors);
    report.orphans.push(...result.removed);
    for (const w of result.warnings ?? []) warn({ file: controller.store.file('network', w.networkId), reason: w.reason });
    for (const e of restoredEndpoints) endpoints.get(e.endpointId)!.published = result.published?.[e.endpointId] ?? null;
    for (const id of result.lost) {
      const e = endpoints.get(id)!;
      e.target = null;
      e.attachment = null;
      report.lostEndpoints.push(id);
    }
  }

  // In join order, so that each sandbox lists its endpoints as it did.
  const byJoinOrder = [...endpoints.values()].sort((a, b) => (a.attachment?.order ?? 0) - (b.attachment?.order ?? 0));
  for (const e of byJoinOrder) {
    const endpoint = Endpoint.make(e.record.id, e.record.name, e.network, e.record.iface, e.record.options);
    e.network.adopt(endpoint);
    const join = e.attachment;
    if (join && e.target) {
      endpoint.setPublished(e.published);
      sandboxes.get(e.target.sandboxId)!.sandbox.link({ endpoint, ifname: join.ifname, priority: join.priority, order: join.order }, join.info);
      endpoint.settle();
    }
  }

  const cleanUp = async (options: { liveRestore: boolean }) => {
    report.errors.push(...(await bestEffort(controller.kernel, fixes)));
    // Each resolver's sockets are in its own sandbox's namespace: all are opened at once.
    for (const errors of await Promise.all([...sandboxes.values()].map(({ sandbox }) => sandbox.reopenResolver()))) report.errors.push(...errors);
    for (const { sandbox } of sandboxes.values()) report.errors.push(...(await sandbox.repair()));
    // A sandbox record says what its joins are: rewritten where restore changed them.
    const changed = [...sandboxes.values()].filter(({ sandbox, record }) => JSON.stringify(sandbox.toRecord()) !== JSON.stringify(record));
    report.errors.push(
      ...(await bestEffort(
        controller.kernel,
        changed.map(({ sandbox }) => controller.store.writeOp(sandbox.toRecord())),
      )),
    );
    await removeOrphans(controller, sandboxes, leftAlone, report);
    report.networks = networks.size;
    report.endpoints = endpoints.size;
    report.sandboxes = sandboxes.size;
    if (!options.liveRestore) await removeEverySandbox(controller, report);
    report.milliseconds = performance.now() - started;
    debug('restored %d networks, %d endpoints, %d sandboxes in %d ms', report.networks, report.endpoints, report.sandboxes, Math.round(report.milliseconds));
  };
  return {
    networks: [...networks.values()].map((n) => n.network),
    sandboxes: [...sandboxes.values()].map((s) => s.sandbox),
    report,
    cleanUp,
  };
}

interface RestoredNetworkEntry {
  network: Network;
  record: NetworkRecord;
}

/** Networks whose driver and IPAM are known and whose pools IPAM can take back (in creation order). */
async function restoreNetworks(controller: NetworkController, records: NetworkRecord[], warn: (id: string, reason: string) => void) {
  const networks = new Map<string, RestoredNetworkEntry>();
  // Skipped networks keep their records and their kernel objects: nothing is removed on a guess.
  const skipped: string[] = [];
  const skip = (id: string, reason: string) => {
    skipped.push(id);
    warn(id, reason);
  };
  const names = new Set<string>();
  for (const record of [...records].sort((a, b) => a.created.localeCompare(b.created))) {
    const driver = controller.drivers.get(record.type);
    if (!driver) {
      skip(record.id, `no driver for network type ${record.type}`);
      continue;
    }
    if (names.has(record.name)) {
      skip(record.id, `a network named ${record.name} was restored already`);
      continue;
    }
    const ipam = controller.ipams.get(record.options.ipam?.driver ?? 'default');
    if (!ipam) {
      skip(record.id, `no IPAM driver ${record.options.ipam?.driver} (give it in the controller's ipams option)`);
      continue;
    }
    let pools: NetworkPools;
    try {
      pools = await reclaimPools(ipam, record.pools, record.options.ipam?.options);
    } catch (err) {
      skip(record.id, `its address pools cannot be taken back: ${(err as Error).message}`);
      continue;
    }
    const network = Network.make(
      record.id,
      record.name,
      record.type,
      controller,
      driver,
      ipam,
      record.options,
      pools,
      record.predefined,
      new Date(record.created),
    );
    names.add(record.name);
    networks.set(record.id, { network, record });
  }
  return { networks, skipped };
}

interface RestoredSandboxEntry {
  sandbox: Sandbox;
  record: SandboxRecord;
}

/** What is at a sandbox's namespace path. Only ENOENT means gone. */
type NamespaceStatus =
  | { is: 'alive' | 'gone' | 'host' }
  /** A regular file that is not a namespace: the empty file a crash between umount and unlink leaves. */
  | { is: 'stale' }
  /** Not something this controller made (a symlink, a folder, a FIFO): left alone. */
  | { is: 'foreign'; why: string }
  /** An error other than ENOENT: the namespace may well be alive, so it is kept. */
  | { is: 'unknown'; why: string };

async function namespaceStatus(kernel: Kernel, key: string): Promise<NamespaceStatus> {
  try {
    const found = await lstat(key);
    if (!found.isFile())
      return { is: 'foreign', why: `${key} is a ${found.isSymbolicLink() ? 'symlink' : 'folder or special file'}, not a namespace file this controller made` };
    const info = await runOne(kernel, { op: 'netnsInfo', path: key });
    return { is: info.isHost ? 'host' : info.isNetns ? 'alive' : 'stale' };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { is: 'gone' };
    return { is: 'unknown', why: `its namespace ${key} could not be checked (${(err as Error).message})` };
  }
}

/**
 * Sandboxes whose namespace is still there (or could not be checked: only ENOENT means gone). The
 * others are removed (files, folders, record, and a namespace file whose mount is gone); a record
 * that names what this controller did not make (see foreignSandboxRecord), a namespace path that is
 * a symlink or the host's own, are left alone; their ids go into `leftAlone`.
 */
async function restoreSandboxes(
  controller: NetworkController,
  records: SandboxRecord[],
  report: RestoreReport,
  fixes: NativeOp[],
  leftAlone: string[],
  warn: (id: string, reason: string) => void,
): Promise<Map<string, RestoredSandboxEntry>> {
  const skip = (id: string, why: string) => {
    warn(id, `${why}: skipped, and what it names is left alone`);
    leftAlone.push(id);
  };
  const checked = records.filter((record) => {
    const why = foreignSandboxRecord(record, controller.layout);
    if (why) skip(record.id, why);
    return why === null;
  });
  const status = new Map<string, NamespaceStatus>();
  await Promise.all(
    [...new Set(checked.filter((r) => r.mode !== 'host').map((r) => r.key))].map(async (key) => {
      status.set(key, await namespaceStatus(controller.kernel, key));
    }),
  );
  const host = hostNamespace();
  const handles = new Map<string, NamespaceHandle>();
  const sandboxes = new Map<string, RestoredSandboxEntry>();
  const containers = new Set<string>();
  for (const record of checked) {
    const found: NamespaceStatus = record.mode === 'host' ? { is: 'alive' } : status.get(record.key)!;
    if (found.is === 'host') {
      warn(record.id, `its namespace ${record.key} is the host's own: the record is dropped, the namespace left alone`);
      fixes.push(controller.store.removeOp('sandbox', record.id));
      continue;
    }
    if (found.is === 'foreign') {
      skip(record.id, found.why);
      continue;
    }
    if (found.is === 'unknown') warn(record.id, `${found.why}: the sandbox is kept`);
    const alive = found.is === 'alive' || found.is === 'unknown';
    if (alive && containers.has(record.containerId)) warn(record.id, `container ${record.containerId} has another sandbox`);
    if (!alive || containers.has(record.containerId)) {
      fixes.push(...removalOps(controller, record, found.is === 'stale'));
      report.removedSandboxes.push(record.id);
      continue;
    }
    const namespace = record.mode === 'host' ? host : handleOf(record, handles);
    namespace.users += 1;
    const sandbox = Sandbox.make(record.id, record.containerId, record.mode, namespace, controller, { ...record.config, labels: record.labels });
    sandbox.hostDns = { nameservers: record.hostServers, search: record.hostSearch ?? [], options: record.hostOptions ?? [] };
    containers.add(record.containerId);
    sandboxes.set(record.id, { sandbox, record });
  }
  return sandboxes;
}

/**
 * What removes a sandbox that is not restored: its files, its namespace's folder and a stale
 * namespace file (`staleNamespace`), its record. The record has passed foreignSandboxRecord.
 */
function removalOps(controller: NetworkController, record: SandboxRecord, staleNamespace: boolean): NativeOp[] {
  const { layout } = controller;
  const folders: FilesFolder[] = [layout.sandboxFolder(record.id)];
  const name = record.owned ? record.namespaceName : null;
  if (name) folders.push(layout.etcNetnsFolder(name));
  const ops = removeSandboxFilesOps(folders);
  // A namespace file whose mount is gone is an empty file (umount done, unlink not).
  if (name && staleNamespace) ops.push({ op: 'removePaths', base: layout.folders.netnsDir, paths: [name] });
  ops.push(controller.store.removeOp('sandbox', record.id));
  return ops;
}

/** The namespace a restored sandbox uses, shared by every sandbox with the same key. */
function handleOf(record: SandboxRecord, handles: Map<string, NamespaceHandle>): NamespaceHandle {
  let handle = handles.get(record.key);
  if (!handle) {
    handle = { key: record.key, name: record.namespaceName, users: 0, owned: record.owned };
    handles.set(record.key, handle);
  }
  return handle;
}

interface RestoredEndpointEntry {
  record: EndpointRecord;
  network: Network;
  /** Where it is joined, from its sandbox's record, if that sandbox is alive. */
  target: RestoredEndpoint['joined'];
  attachment: AttachmentRecord | null;
  /** The ports its driver published again. */
  published: BoundPort[] | null;
}

/** Endpoints of restored networks whose addresses IPAM can take back. */
async function restoreEndpoints(
  controller: NetworkController,
  networks: Map<string, RestoredNetworkEntry>,
  records: EndpointRecord[],
  fixes: NativeOp[],
  warn: (id: string, reason: string) => void,
): Promise<Map<string, RestoredEndpointEntry>> {
  const endpoints = new Map<string, RestoredEndpointEntry>();
  const names = new Set<string>();
  const addresses = new Set<string>();
  for (const record of records) {
    const network = networks.get(record.networkId)?.network;
    if (!network) {
      warn(record.id, `its network ${record.networkId.slice(0, 12)} was not restored`);
      continue;
    }
    try {
      if (names.has(`${network.id}/${record.name}`)) throw new Error(`network ${network.name} has another endpoint named ${record.name}`);
      // An IPAM that is not replayed cannot refuse an address held twice: checked here.
      const held = [record.iface.address, record.iface.addressIPv6].filter((a): a is string => !!a).map((a) => `${network.id}/${a.split('/')[0]}`);
      const twice = network.ipam.replays ? undefined : held.find((a) => addresses.has(a));
      if (twice) throw new Error(`another endpoint of network ${network.name} holds ${twice.split('/')[1]}`);
      await reclaimEndpointAddresses(network.ipam, network.pools, record.iface, network.options.ipam?.options);
    } catch (err) {
      // Two endpoints may never hold one address: the second is dropped, its links are orphans.
      warn(record.id, `dropped: ${(err as Error).message}`);
      fixes.push(controller.store.removeOp('endpoint', record.id));
      continue;
    }
    names.add(`${network.id}/${record.name}`);
    for (const a of [record.iface.address, record.iface.addressIPv6]) if (a) addresses.add(`${network.id}/${a.split('/')[0]}`);
    endpoints.set(record.id, { record, network, target: null, attachment: null, published: null });
  }
  return endpoints;
}

/**
 * The joins of the live sandboxes, from their records. A join of an endpoint that was not
 * restored, or that another sandbox has already, is dropped (its veth is then an orphan).
 */
function attachJoins(sandboxes: Map<string, RestoredSandboxEntry>, endpoints: Map<string, RestoredEndpointEntry>): void {
  for (const { sandbox, record } of sandboxes.values()) {
    for (const a of record.attachments) {
      const e = endpoints.get(a.endpointId);
      if (!e || e.target) continue;
      e.attachment = a;
      e.target = { sandboxId: sandbox.id, key: sandbox.key, isHost: sandbox.mode === 'host', ifname: a.ifname, defaultRoute: false };
    }
  }
}

/**
 * Namespaces named with the controller's mark that no restored sandbox uses, and sandbox folders
 * without a sandbox: what a crash between two steps of a create or delete left. Those of sandboxes
 * whose record could not be read are left alone.
 */
async function removeOrphans(
  controller: NetworkController,
  sandboxes: Map<string, RestoredSandboxEntry>,
  unreadable: string[],
  report: RestoreReport,
): Promise<void> {
  const inUse = new Set([...sandboxes.values()].map(({ sandbox }) => sandbox.namespace.name));
  const kept = new Set(unreadable.map((id) => id.slice(0, 12)));
  const { layout } = controller;
  const { netnsDir, etcNetnsDir } = layout.folders;
  const isOrphan = (name: string) => {
    const id = layout.sandboxIdPrefix(name);
    return id !== null && !inUse.has(name) && !kept.has(id);
  };
  const ops: NativeOp[] = [];
  // A folder that is missing or cannot be listed holds no orphan to remove.
  const listed = (base: string, folder?: string) =>
    runOne(controller.kernel, { op: 'listFolder', base, ...(folder === undefined ? {} : { path: folder }) }).catch(() => [] as string[]);
  for (const name of (await listed(netnsDir)).filter(isOrphan)) {
    const key = layout.namespaceKey(name);
    // Only a namespace mount or the empty file of one: a symlink, or what could not be checked, stays.
    const found = await namespaceStatus(controller.kernel, key);
    if (found.is === 'alive') ops.push({ op: 'netnsDelete', path: key });
    else if (found.is === 'stale') ops.push({ op: 'removePaths', base: netnsDir, paths: [name] });
    else continue;
    report.orphans.push(key);
  }
  // A crash between writing a sandbox's files and making its namespace leaves the folder alone.
  for (const name of (await listed(etcNetnsDir)).filter(isOrphan)) {
    ops.push(...removeSandboxFilesOps([layout.etcNetnsFolder(name)]));
  }
  const parent = layout.sandboxesParent();
  for (const id of await listed(parent.base, parent.path)) {
    if (sandboxes.has(id) || unreadable.includes(id) || !/^[0-9a-f]{64}$/.test(id)) continue;
    const folder = layout.sandboxFolder(id);
    ops.push(...removeSandboxFilesOps([folder]));
    report.orphans.push(path.join(folder.base, folder.folder));
  }
  report.errors.push(...(await bestEffort(controller.kernel, ops)));
  if (ops.length > 0) debug('removed %d orphans', report.orphans.length);
}

/** liveRestore off: every restored sandbox goes (container-mode ones first); endpoints stay. */
async function removeEverySandbox(controller: NetworkController, report: RestoreReport): Promise<void> {
  const all = controller.sandboxes();
  report.errors.push(...(await removeSandboxes(all)));
  report.removedSandboxes.push(...all.map((s) => s.id));
  report.sandboxes = 0;
}
