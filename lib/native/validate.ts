// Checks of everything that goes to the addon, so that bad input is refused with a clear
// INVALID_ARGUMENT before the kernel is touched. The addon checks names again.
import { invalidArgument } from '../errors';
import { show } from '../util/checks';
import { validateConntrackFilter, validateNftCommands, validateNftFamily, validateNftName } from './nft-validate';
import { parseCidr, validateIp } from '../util/ip';
import type { DnsPorts, LinkChange, LinkSpec, NativeOp, NftFamily, RouteSpec } from './types';
import { ADDR_GEN_MODES, IPV6_MIN_MTU, isOneOf, LINK_KINDS, MACVLAN_MODES, orList, PORT_PROTOCOLS, ROUTE_SCOPES } from './vocabulary';

// IP parsing lives in util/ip (IPAM and the option checks use it too); re-exported for the ops' users.
export { ipBytes, parseCidr, validateIp, type ParsedCidr } from '../util/ip';

/** The longest interface name the kernel takes (IFNAMSIZ - 1). */
export const MAX_IFNAME_BYTES = 15;

/**
 * Interface names: 1..15 bytes, no '/', ':', '%' or whitespace, not '.' or '..'. A '%' would make
 * the kernel expand the name as a template ("veth%d"), so no real link has one.
 */
export function validateIfname(name: unknown, what = 'interface name'): string {
  if (typeof name !== 'string') throw invalidArgument(`${what} must be a string, got ${typeof name}`);
  const bytes = Buffer.byteLength(name);
  if (bytes < 1 || bytes > MAX_IFNAME_BYTES) {
    throw invalidArgument(`${what} '${name}' is ${bytes} bytes; it must be 1 to ${MAX_IFNAME_BYTES}`);
  }
  if (name === '.' || name === '..' || /[/:%\s\0]/.test(name)) {
    throw invalidArgument(`${what} '${name}' may not be '.' or '..' or contain '/', ':', '%' or whitespace`);
  }
  return name;
}

/** A namespace file name inside the namespace directory: one path component. */
export function validateNetnsName(name: unknown): string {
  if (typeof name !== 'string' || name.length === 0 || Buffer.byteLength(name) > 255) {
    throw invalidArgument(`namespace name must be a string of 1 to 255 bytes, got ${show(name)}`);
  }
  if (name === '.' || name === '..' || /[/\0]/.test(name)) {
    throw invalidArgument(`namespace name '${name}' may not be '.' or '..' or contain '/'`);
  }
  return name;
}

/** An absolute path (a namespace file or directory). */
export function validatePath(path: unknown, what = 'path'): string {
  if (typeof path !== 'string' || !path.startsWith('/') || path.includes('\0')) {
    throw invalidArgument(`${what} must be an absolute path, got ${show(path)}`);
  }
  return path;
}

/**
 * A path beneath a base folder: relative, without empty, '.' or '..' components (a trailing '/'
 * marks a folder).
 */
export function validateRelativePath(path: unknown, what = 'path'): string {
  if (typeof path !== 'string' || path.includes('\0') || !plainParts(path)) {
    throw invalidArgument(`${what} must be a plain relative path (no '.', '..' or empty parts), got ${JSON.stringify(path)}`);
  }
  return path;
}

/** Whether every '/'-separated part of `path` (but a trailing '/') is a name: none empty, '.' or '..'. Every record write checks its paths: no regex, no split. */
function plainParts(path: string): boolean {
  const end = path.endsWith('/') ? path.length - 1 : path.length;
  for (let start = 0; ;) {
    const slash = path.indexOf('/', start);
    const stop = slash === -1 || slash > end ? end : slash;
    const length = stop - start;
    if (length === 0 || (path[start] === '.' && (length === 1 || (length === 2 && path[start + 1] === '.')))) return false;
    if (stop === end) return true;
    start = stop + 1;
  }
}

export function validateMac(mac: unknown, what = 'MAC address'): string {
  if (typeof mac !== 'string' || !/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/.test(mac)) {
    throw invalidArgument(`${what} ${show(mac)} is not like 02:42:ac:11:00:02`);
  }
  return mac;
}

function validateUint(value: unknown, what: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalidArgument(`${what} must be an integer from ${min} to ${max}, got ${show(value)}`);
  }
  return value;
}

/** "net.ipv4.ip_forward", or the slash form "net/ipv6/conf/eth0.10/disable_ipv6". */
export function validateSysctlKey(key: unknown): string {
  const parts = typeof key === 'string' ? key.split(key.includes('/') ? '/' : '.') : [];
  if (parts.length === 0 || parts.some((p) => p === '' || p === '.' || p === '..' || !/^[\w.@-]+$/.test(p))) {
    throw invalidArgument(`sysctl key ${show(key)} is not like net.ipv4.ip_forward`);
  }
  return key as string;
}

/** A new link's `ipv6`: a boolean, and only where the kernel gives the link IPv6. */
function validateIpv6(name: string, ipv6: unknown, mtu: number | undefined): void {
  if (ipv6 === undefined) return;
  if (typeof ipv6 !== 'boolean') throw invalidArgument(`ipv6 of ${name} must be a boolean, got ${show(ipv6)}`);
  if (ipv6 && mtu !== undefined && mtu < IPV6_MIN_MTU) throw invalidArgument(`${name}: IPv6 needs an MTU of at least ${IPV6_MIN_MTU}, got ${mtu}`);
}

function validateLinkSpec(spec: LinkSpec): void {
  validateIfname(spec.name, `${spec.kind ?? 'link'} name`);
  if (spec.mtu !== undefined) validateUint(spec.mtu, `mtu of ${spec.name}`, 68, 65535);
  if (spec.mac !== undefined) validateMac(spec.mac, `MAC address of ${spec.name}`);
  if (spec.master !== undefined) validateIfname(spec.master, 'master');
  if (spec.netns !== undefined) validatePath(spec.netns, 'netns');
  if (spec.linkGroup !== undefined) validateUint(spec.linkGroup, `link group of ${spec.name}`, 1, 0xffffffff);
  validateIpv6(spec.name, spec.ipv6, spec.mtu);
  switch (spec.kind) {
    case 'bridge':
      return;
    case 'veth':
      if (typeof spec.peer !== 'object' || spec.peer === null) throw invalidArgument(`veth ${spec.name} needs a peer`);
      validateIfname(spec.peer.name, 'veth peer name');
      if (spec.peer.netns !== undefined) validatePath(spec.peer.netns, 'peer netns');
      if (spec.peer.mtu !== undefined) validateUint(spec.peer.mtu, `mtu of ${spec.peer.name}`, 68, 65535);
      if (spec.peer.mac !== undefined) validateMac(spec.peer.mac, `MAC address of ${spec.peer.name}`);
      validateIpv6(spec.peer.name, spec.peer.ipv6, spec.peer.mtu);
      if (spec.ipv6 && spec.peer.ipv6) throw invalidArgument(`veth ${spec.name}: ipv6 turns IPv6 on for one end, not both`);
      if (spec.peer.name === spec.name && spec.peer.netns === spec.netns) {
        throw invalidArgument(`veth ${spec.name}: both ends have one name in one namespace`);
      }
      return;
    case 'macvlan':
      validateIfname(spec.parent, 'macvlan parent');
      if (spec.mode !== undefined && !isOneOf(MACVLAN_MODES, spec.mode)) {
        throw invalidArgument(`macvlan mode ${show(spec.mode)} is not ${orList(MACVLAN_MODES)}`);
      }
      return;
    case 'vxlan':
      validateUint(spec.vni, `vni of ${spec.name}`, 0, 0xffffff);
      if (spec.parent !== undefined) validateIfname(spec.parent, 'vxlan parent');
      if (spec.port !== undefined) validateUint(spec.port, `port of ${spec.name}`, 1, 65535);
      for (const field of ['group', 'remote', 'local'] as const) {
        if (spec[field] !== undefined) validateIp(spec[field], `vxlan ${field}`);
      }
      if (spec.group !== undefined && spec.remote !== undefined) {
        throw invalidArgument(`vxlan ${spec.name}: give a group or a remote, not both`);
      }
      return;
    default:
      throw invalidArgument(`link kind ${show((spec as { kind: unknown }).kind)} is not ${orList(LINK_KINDS)}`);
  }
}

function validateLinkChange(name: string, change: LinkChange): void {
  if (typeof change !== 'object' || change === null) throw invalidArgument(`changes to ${name} must be an object`);
  if (change.mtu !== undefined) validateUint(change.mtu, `mtu of ${name}`, 68, 65535);
  if (change.mac !== undefined) validateMac(change.mac, `MAC address of ${name}`);
  if (change.newName !== undefined) validateIfname(change.newName, 'new name');
  if (change.master !== undefined && change.master !== null) validateIfname(change.master, 'master');
  if (change.moveTo !== undefined) validatePath(change.moveTo, 'moveTo');
  if (change.group !== undefined) validateUint(change.group, `group of ${name}`, 0, 0xffffffff);
  if (change.hairpin !== undefined && typeof change.hairpin !== 'boolean') throw invalidArgument(`hairpin of ${name} must be a boolean`);
  if (change.addrGenMode !== undefined && !isOneOf(ADDR_GEN_MODES, change.addrGenMode)) {
    throw invalidArgument(`addrGenMode ${show(change.addrGenMode)} is not ${orList(ADDR_GEN_MODES)}`);
  }
  // IFALIASZ is 256 with the terminating NUL, which the kernel adds itself.
  if (change.alias !== undefined && (typeof change.alias !== 'string' || Buffer.byteLength(change.alias) > 255 || change.alias.includes('\0'))) {
    throw invalidArgument(`alias of ${name} must be a string of at most 255 bytes without NUL`);
  }
}

function validateRoute(route: RouteSpec): void {
  if (typeof route !== 'object' || route === null) throw invalidArgument('route must be an object');
  const family = route.destination === 'default' ? route.family : parseCidr(route.destination, 'route destination', true).family;
  if (route.gateway !== undefined) {
    const gatewayFamily = validateIp(route.gateway, 'gateway');
    if (family !== undefined && family !== gatewayFamily) {
      throw invalidArgument(`gateway ${route.gateway} is IPv${gatewayFamily}, destination ${route.destination} is IPv${family}`);
    }
  }
  if (route.dev !== undefined) validateIfname(route.dev, 'route device');
  if (route.gateway === undefined && route.dev === undefined) {
    throw invalidArgument(`route ${route.destination} needs a gateway or a device`);
  }
  if (route.metric !== undefined) validateUint(route.metric, 'metric', 0, 0xffffffff);
  if (route.table !== undefined) validateUint(route.table, 'table', 1, 0xffffffff);
  if (route.scope !== undefined && !isOneOf(ROUTE_SCOPES, route.scope)) {
    throw invalidArgument(`scope ${show(route.scope)} is not ${orList(ROUTE_SCOPES)}`);
  }
}

function validateFamily(family: unknown): void {
  if (family !== undefined && family !== 4 && family !== 6) throw invalidArgument(`family must be 4 or 6, got ${show(family)}`);
}

type OpName = NativeOp['op'];
type OpOf<K extends OpName> = Extract<NativeOp, { op: K }>;

/** The address/CIDR ops share one check; so do the route changes and the descriptor ops. */
function validateAddressOp(op: OpOf<'addressAdd' | 'addressDelete'>): void {
  validateIfname(op.name);
  parseCidr(op.address, 'address');
}

function validateRouteOp(op: OpOf<'routeAdd' | 'routeReplace' | 'routeDelete'>): void {
  validateRoute(op.route);
}

function validateDnsPorts(ports: DnsPorts): void {
  if (ports.udpPort !== undefined) validateUint(ports.udpPort, 'udpPort', 0, 65535);
  if (ports.tcpPort !== undefined) validateUint(ports.tcpPort, 'tcpPort', 0, 65535);
}

function validateDescriptorOp(op: OpOf<'unlockFile' | 'portRelease'>): void {
  validateUint(op.fd, 'fd', 3, 0x7fffffff);
}

function validateNamespacePath(op: OpOf<'netnsDelete' | 'netnsInfo'>): void {
  validatePath(op.path, 'namespace path');
}

function validateNftTableOp(op: { family: NftFamily; table: string }): void {
  validateNftFamily(op.family);
  validateNftName(op.table, 'table');
}

/** The check of each op, by name: an op without one (or a check of no op) does not compile. */
const OP_CHECKS = {
  netnsCreate(op) {
    validatePath(op.dir, 'namespace directory');
    validateNetnsName(op.name);
    for (const key of Object.keys(op.sysctls ?? {})) validateSysctlKey(key);
    if (op.resolverSockets !== undefined) {
      if (typeof op.resolverSockets !== 'object' || op.resolverSockets === null)
        throw invalidArgument(`resolverSockets must be an object, got ${show(op.resolverSockets)}`);
      validateDnsPorts(op.resolverSockets);
    }
  },
  netnsDelete: validateNamespacePath,
  netnsInfo: validateNamespacePath,
  linkAdd(op) {
    if (typeof op.link !== 'object' || op.link === null) throw invalidArgument('link must be an object');
    validateLinkSpec(op.link);
  },
  linkDelete: (op) => validateIfname(op.name),
  linkDeleteGroup(op) {
    validateIfnames(op.names);
    if (op.group !== undefined && !(Number.isInteger(op.group) && op.group >= 1 && op.group <= 0xffffffff)) {
      throw invalidArgument(`link group must be an integer from 1 to 4294967295, got ${JSON.stringify(op.group)}`);
    }
  },
  linkSet(op) {
    validateIfname(op.name);
    validateLinkChange(op.name, op.change);
  },
  linkGet: (op) => validateIfname(op.name),
  linkList: () => undefined,
  addressAdd(op) {
    validateAddressOp(op);
    if (op.nodad !== undefined && typeof op.nodad !== 'boolean') throw invalidArgument(`nodad must be a boolean, got ${show(op.nodad)}`);
  },
  addressDelete: validateAddressOp,
  addressList(op) {
    if (op.name !== undefined) validateIfname(op.name);
    validateFamily(op.family);
  },
  routeAdd: validateRouteOp,
  routeReplace: validateRouteOp,
  routeDelete: validateRouteOp,
  routeList(op) {
    validateFamily(op.family);
    if (op.table !== undefined) validateUint(op.table, 'table', 0, 0xffffffff);
  },
  sysctlGet: (op) => validateSysctlKey(op.key),
  sysctlSet(op) {
    validateSysctlKey(op.key);
    if (typeof op.value !== 'string') throw invalidArgument(`sysctl value for ${op.key} must be a string`);
  },
  lockFile(op) {
    validatePath(op.path, 'lock file');
    if (typeof op.owner !== 'string') throw invalidArgument('lock owner must be a string');
  },
  unlockFile: validateDescriptorOp,
  portReserve(op) {
    validateIp(op.address, 'port address');
    if (!isOneOf(PORT_PROTOCOLS, op.protocol)) throw invalidArgument(`protocol ${show(op.protocol)} is not ${orList(PORT_PROTOCOLS)}`);
    validateUint(op.port, 'port', 0, 65535);
    if (op.portEnd !== undefined) validateUint(op.portEnd, 'portEnd', op.port, 65535);
  },
  portRelease: validateDescriptorOp,
  removePaths(op) {
    validatePath(op.base, 'base folder');
    if (!Array.isArray(op.paths)) throw invalidArgument('paths must be an array');
    op.paths.forEach((p) => validateRelativePath(p, 'path'));
  },
  writeFiles(op) {
    validatePath(op.base, 'base folder');
    if (!Array.isArray(op.files)) throw invalidArgument('files must be an array');
    for (const file of op.files) {
      validateRelativePath(file?.path, 'file path');
      if (typeof file.content !== 'string') throw invalidArgument(`content of ${file.path} must be a string`);
      if (file.mode !== undefined && !(Number.isInteger(file.mode) && file.mode >= 0 && file.mode <= 0o7777)) {
        throw invalidArgument(`mode of ${file.path} must be permission bits (0 to 0o7777)`);
      }
    }
  },
  listFolder(op) {
    validatePath(op.base, 'base folder');
    if (op.path !== undefined) validateRelativePath(op.path, 'folder path');
  },
  readFiles(op) {
    validatePath(op.base, 'base folder');
    if (!Array.isArray(op.paths)) throw invalidArgument('paths must be an array');
    op.paths.forEach((p) => validateRelativePath(p, 'file path'));
  },
  nftTransaction: (op) => validateNftCommands(op.commands),
  nftListTables(op) {
    if (op.family !== undefined) validateNftFamily(op.family);
  },
  nftListChains: validateNftTableOp,
  nftListRules(op) {
    validateNftTableOp(op);
    if (op.chain !== undefined) validateNftName(op.chain, 'chain');
  },
  nftListSets: validateNftTableOp,
  nftListElements(op) {
    validateNftTableOp(op);
    validateNftName(op.set, 'set');
  },
  conntrackDelete(op) {
    if (!Array.isArray(op.filters)) throw invalidArgument('conntrack filters must be an array');
    op.filters.forEach(validateConntrackFilter);
  },
  dnsSockets(op) {
    validateDnsPorts(op);
    if (op.redirectTable === undefined) return;
    validateNftName(op.redirectTable, 'redirect table');
    if (op.netns === undefined) throw invalidArgument('dnsSockets: a redirect table needs a netns (never the host namespace)');
  },
} satisfies { [K in OpName]: (op: OpOf<K>) => void };

/** Checks one batch operation; throws INVALID_ARGUMENT naming the bad field. */
export function validateOp(op: NativeOp): void {
  if ('netns' in op && op.netns !== undefined) validatePath(op.netns, 'netns');
  if (!Object.hasOwn(OP_CHECKS, op.op)) throw invalidArgument(`unknown operation ${show((op as { op: unknown }).op)}`);
  // Each check takes its own op's shape; the name just looked up guarantees it.
  (OP_CHECKS[op.op] as (op: NativeOp) => void)(op);
}

/** A list of interface names (each checked as validateIfname does). */
export function validateIfnames(names: unknown): void {
  if (!Array.isArray(names)) throw invalidArgument('interface names must be an array');
  names.forEach((name) => validateIfname(name));
}
