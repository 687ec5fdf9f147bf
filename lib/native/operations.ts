// The typed operations of the addon. Each runs as a batch of one; `batch` runs several in one
// trip to a worker thread.
import { CnmError } from '../errors';
import { loadBinding } from './loader';
import { submit } from './submit';
import { validateIfnames } from './validate';
import type {
  AddressInfo,
  ConntrackFilter,
  Family,
  FileLock,
  FileRead,
  InNamespace,
  LinkChange,
  LinkInfo,
  LinkSpec,
  NativeOp,
  NativeResult,
  NativeResultOf,
  NetnsInfo,
  NftChainInfo,
  NftCommand,
  NftElementInfo,
  NftFamily,
  NftRuleInfo,
  NftSetInfo,
  NftTableInfo,
  PortProtocol,
  PortReservation,
  RouteInfo,
  RouteSpec,
} from './types';

/**
 * Runs several operations in order in one trip to a worker thread and resolves with one result
 * per operation. Every operation is validated first (INVALID_ARGUMENT before anything reaches the
 * kernel); the batch stops at the first kernel error, which rejects with a `NetlinkError` whose
 * `index` names the failed operation (the ones before it took effect).
 */
export function batch(ops: NativeOp[]): Promise<NativeResult[]> {
  return submit(() => ops);
}

/** Runs one operation through anything that runs batches (a Kernel) and resolves with its result. */
export async function runOne<K extends NativeOp['op']>(
  runner: { batch(ops: NativeOp[]): Promise<NativeResult[]> },
  op: Extract<NativeOp, { op: K }>,
): Promise<NativeResultOf[K]> {
  const [result] = await runner.batch([op]);
  return result as NativeResultOf[K];
}

const single = <K extends NativeOp['op']>(op: Extract<NativeOp, { op: K }>): Promise<NativeResultOf[K]> => runOne({ batch }, op);

/**
 * Creates the named network namespace `dir/name` and returns its path. `sysctls` are written
 * inside the new namespace before anything else happens in it.
 * @remarks Equivalent to `ip netns add NAME` (with `dir` = /run/netns).
 */
export function netnsCreate(dir: string, name: string, sysctls?: Record<string, string>): Promise<string> {
  return single({ op: 'netnsCreate', dir, name, sysctls });
}

/**
 * Deletes a named namespace (unmount + unlink). Refuses a path that is not a network namespace.
 * The kernel destroys the namespace and its interfaces in the background.
 * @remarks Equivalent to `ip netns del NAME`.
 */
export function netnsDelete(path: string): Promise<void> {
  return single({ op: 'netnsDelete', path });
}

/** Tells whether `path` is a network namespace and whether it is the caller's own. */
export function netnsInfo(path: string): Promise<NetnsInfo> {
  return single({ op: 'netnsInfo', path });
}

/**
 * Creates a bridge, veth pair, macvlan or vxlan link.
 * @remarks Equivalent to `ip link add NAME type KIND ...`.
 */
export function linkAdd(link: LinkSpec, where: InNamespace = {}): Promise<void> {
  return single({ op: 'linkAdd', link, ...where });
}

/**
 * Deletes a link (both ends, for a veth).
 * @remarks Equivalent to `ip link del NAME`.
 */
export function linkDelete(name: string, where: InNamespace = {}): Promise<void> {
  return single({ op: 'linkDelete', name, ...where });
}

/**
 * Deletes several links in one request, so that the kernel waits for one RCU grace period for all
 * of them instead of one each (a veth delete costs about 30 ms of it). The links are put into a
 * link group of their own (`group`, else a random one), which is deleted once a dump shows it
 * holds them and nothing else; if anything else is in it, they are deleted one by one and the
 * others are left alone. Resolves with the names that were already gone.
 * @remarks Equivalent to `ip link set NAME group G` for each, then `ip link del group G`.
 */
export function linkDeleteGroup(names: string[], options: { group?: number } & InNamespace = {}): Promise<string[]> {
  return single({ op: 'linkDeleteGroup', names, ...options });
}

/** How long a delete waits by default for the kernel to destroy the links it let go. */
export const LINK_WAIT_TIMEOUT_MS = 30000;

/**
 * Resolves once no link of the host namespace has any of these names: the kernel destroys the
 * links of a dropped namespace in the background, and this waits for that. One listener for link
 * events (RTNLGRP_LINK, on a thread of its own) serves every pending call, so concurrent waits
 * cost what one does. Rejects with a NetlinkError ETIMEDOUT naming the links left after
 * `timeoutMs` (default LINK_WAIT_TIMEOUT_MS).
 * @remarks Like `ip monitor link` until an RTM_DELLINK for each has been seen.
 */
export async function waitLinksGone(names: string[], options: { timeoutMs?: number } = {}): Promise<void> {
  const timeoutMs = options.timeoutMs ?? LINK_WAIT_TIMEOUT_MS;
  validateIfnames(names);
  if (!Number.isInteger(timeoutMs) || timeoutMs < 0 || timeoutMs > 86400000) {
    throw new CnmError('INVALID_ARGUMENT', `timeoutMs must be an integer from 0 to 86400000, got ${JSON.stringify(timeoutMs)}`);
  }
  return loadBinding().waitLinksGone(names, timeoutMs);
}

/**
 * Changes a link: up/down, mtu, MAC address, name, master, namespace.
 * @remarks Equivalent to `ip link set NAME up | mtu N | address MAC | name NEW | master BR | nomaster | netns NS`.
 */
export function linkSet(name: string, change: LinkChange, where: InNamespace = {}): Promise<void> {
  return single({ op: 'linkSet', name, change, ...where });
}

/**
 * Reads one link. Rejects with ENODEV if there is none.
 * @remarks Equivalent to `ip -s link show NAME`.
 */
export function linkGet(name: string, where: InNamespace = {}): Promise<LinkInfo> {
  return single({ op: 'linkGet', name, ...where });
}

/**
 * Lists every link of a namespace.
 * @remarks Equivalent to `ip -s link show`.
 */
export function linkList(where: InNamespace = {}): Promise<LinkInfo[]> {
  return single({ op: 'linkList', ...where });
}

/**
 * Adds an address ("10.0.0.2/24", "fd00::2/64") to a link. IPv4 addresses get their broadcast.
 * @remarks Equivalent to `ip addr add CIDR dev NAME` (with `brd +` for IPv4).
 */
export function addressAdd(name: string, address: string, where: InNamespace = {}): Promise<void> {
  return single({ op: 'addressAdd', name, address, ...where });
}

/**
 * Removes an address from a link.
 * @remarks Equivalent to `ip addr del CIDR dev NAME`.
 */
export function addressDelete(name: string, address: string, where: InNamespace = {}): Promise<void> {
  return single({ op: 'addressDelete', name, address, ...where });
}

/**
 * Lists addresses: all, or those of one link, of one or both families.
 * @remarks Equivalent to `ip addr show [dev NAME]`.
 */
export function addressList(options: InNamespace & { name?: string; family?: Family } = {}): Promise<AddressInfo[]> {
  return single({ op: 'addressList', ...options });
}

/**
 * Adds a route; rejects with EEXIST if it exists.
 * @remarks Equivalent to `ip route add DEST [via GW] [dev NAME] [metric N] [table T] [scope S]`.
 */
export function routeAdd(route: RouteSpec, where: InNamespace = {}): Promise<void> {
  return single({ op: 'routeAdd', route, ...where });
}

/**
 * Adds or replaces a route.
 * @remarks Equivalent to `ip route replace ...`.
 */
export function routeReplace(route: RouteSpec, where: InNamespace = {}): Promise<void> {
  return single({ op: 'routeReplace', route, ...where });
}

/**
 * Deletes a route.
 * @remarks Equivalent to `ip route del ...`.
 */
export function routeDelete(route: RouteSpec, where: InNamespace = {}): Promise<void> {
  return single({ op: 'routeDelete', route, ...where });
}

/**
 * Lists the routes of one table (default: main).
 * @remarks Equivalent to `ip route show [table T]` (and `ip -6 route show`).
 */
export function routeList(options: InNamespace & { family?: Family; table?: number } = {}): Promise<RouteInfo[]> {
  return single({ op: 'routeList', ...options });
}

/**
 * Reads a kernel parameter in the host or in a namespace.
 * @remarks Equivalent to `sysctl KEY` (inside `ip netns exec` for a namespace).
 */
export function sysctlGet(key: string, where: InNamespace = {}): Promise<string> {
  return single({ op: 'sysctlGet', key, ...where });
}

/**
 * Writes a kernel parameter in the host or in a namespace.
 * @remarks Equivalent to `sysctl -w KEY=VALUE`.
 */
export function sysctlSet(key: string, value: string, where: InNamespace = {}): Promise<void> {
  return single({ op: 'sysctlSet', key, value, ...where });
}

/**
 * Takes an exclusive lock (flock) on a file, creating it 0600, without waiting. On success the
 * file holds `owner` and `fd` keeps the lock until `unlockFile(fd)` or the process ends; otherwise
 * `fd` is null and `holder` is what the holder wrote.
 */
export function lockFile(path: string, owner: string): Promise<FileLock> {
  return single({ op: 'lockFile', path, owner });
}

/** Releases a lock taken by `lockFile`. */
export function unlockFile(fd: number): Promise<void> {
  return single({ op: 'unlockFile', fd });
}

/**
 * Holds a host port, as libnetwork's port allocator does: binds a socket (not listening) on
 * `address` at the first free port from `port` to `portEnd` (port 0: any free one). EADDRINUSE if
 * every one of them is taken. The port is free again after `portRelease(fd)` or when the process ends.
 */
export function portReserve(address: string, protocol: PortProtocol, port: number, portEnd?: number): Promise<PortReservation> {
  return single({ op: 'portReserve', address, protocol, port, portEnd });
}

/** Gives back a port held by `portReserve`. */
export function portRelease(fd: number): Promise<void> {
  return single({ op: 'portRelease', fd });
}

/**
 * Removes files, and folders given with a trailing '/' (left alone while something else is in
 * them), in order; paths already gone are fine. The paths are relative to `base`, and nothing
 * beneath `base` is reached through a symlink (ELOOP); a symlink named as a file is removed itself.
 * @remarks Equivalent to `rm -f FILE` and `rmdir --ignore-fail-on-non-empty DIR`.
 */
export function removePaths(base: string, paths: string[]): Promise<void> {
  return single({ op: 'removePaths', base, paths });
}

/**
 * Writes small regular files beneath `base` (mode 0644, replacing what was there, never through a
 * symlink: ELOOP), making `base` and the folders beneath it (0755) when missing.
 */
export function writeFiles(base: string, files: { path: string; content: string }[]): Promise<void> {
  return single({ op: 'writeFiles', base, files });
}

/**
 * The names in the folder `path` beneath `base` (without it: `base` itself), in no particular
 * order; [] if the folder is missing. Nothing beneath `base` is reached through a symlink: a
 * symlink or a file on the way rejects (ELOOP, ENOTDIR).
 * @remarks Equivalent to `ls -A DIR`.
 */
export function listFolder(base: string, path?: string): Promise<string[]> {
  return single({ op: 'listFolder', base, ...(path === undefined ? {} : { path }) });
}

/**
 * Reads regular files beneath `base`, never through a symlink below it. Each file resolves on its
 * own: `{ content }`, or `{ error, errno }` when it is missing, a symlink, a FIFO, a folder or a
 * device, or cannot be read; the others are still read.
 * @remarks Equivalent to `cat FILE...` without following symlinks.
 */
export function readFiles(base: string, paths: string[]): Promise<FileRead[]> {
  return single({ op: 'readFiles', base, paths });
}

/**
 * Runs nf_tables commands as one transaction (one nfnetlink batch): all of them take effect or
 * none does. A refusal rejects with a `NetlinkError` whose `command` is the refused command's
 * index and whose `syscall` names its message ('NFT_MSG_NEWRULE').
 * @remarks Equivalent to `nft -f FILE` with the commands in FILE.
 */
export function nftTransaction(commands: NftCommand[], where: InNamespace = {}): Promise<void> {
  return single({ op: 'nftTransaction', commands, ...where });
}

/**
 * Lists the nf_tables tables of one family, or of all.
 * @remarks Equivalent to `nft list tables [FAMILY]`.
 */
export function nftListTables(options: InNamespace & { family?: NftFamily } = {}): Promise<NftTableInfo[]> {
  return single({ op: 'nftListTables', ...options });
}

/**
 * Lists the chains of a table, with hook, priority and policy for base chains.
 * @remarks Equivalent to `nft list chains` (for one table).
 */
export function nftListChains(family: NftFamily, table: string, where: InNamespace = {}): Promise<NftChainInfo[]> {
  return single({ op: 'nftListChains', family, table, ...where });
}

/**
 * Lists the rules of a table, or of one chain, in order: handle, comment and expression names.
 * @remarks Equivalent to `nft -a list chain FAMILY TABLE CHAIN`.
 */
export function nftListRules(family: NftFamily, table: string, options: InNamespace & { chain?: string } = {}): Promise<NftRuleInfo[]> {
  return single({ op: 'nftListRules', family, table, ...options });
}

/**
 * Lists the sets and maps of a table.
 * @remarks Equivalent to `nft list sets` (for one table).
 */
export function nftListSets(family: NftFamily, table: string, where: InNamespace = {}): Promise<NftSetInfo[]> {
  return single({ op: 'nftListSets', family, table, ...where });
}

/**
 * Lists the elements of a set or map, as the kernel holds them (hex bytes).
 * @remarks Equivalent to `nft list set FAMILY TABLE SET`.
 */
export function nftListElements(family: NftFamily, table: string, set: string, where: InNamespace = {}): Promise<NftElementInfo[]> {
  return single({ op: 'nftListElements', family, table, set, ...where });
}

/**
 * Deletes the conntrack entries whose original direction matches the filter (protocol, destination
 * address and/or port), or any of several filters, and resolves with how many it deleted, so that
 * removed port mappings stop forwarding the flows they already had. Several filters cost one
 * sweep of the table, as one does.
 * @remarks Equivalent to `conntrack -D -p PROTO --orig-dst ADDR --dport PORT` (once per filter).
 */
export function conntrackDelete(filters: ConntrackFilter | ConntrackFilter[], where: InNamespace = {}): Promise<number> {
  return single({ op: 'conntrackDelete', filters: Array.isArray(filters) ? filters : [filters], ...where });
}
