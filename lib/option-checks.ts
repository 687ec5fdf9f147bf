// The checks of the public API's option objects. Each returns a deep copy, so that a caller who
// changes its object afterwards changes nothing here. The same checks load the option fields of
// records at restart: whatever was accepted loads again.
import { isIP } from 'node:net';
import { invalidArgument } from './errors';
import type { PredefinedPool } from './ipam/predefined';
import { addressBits, containsPrefix, overlaps, parseAddressOrPrefix, parsePrefix } from './ipam/prefix';
import { validateMac } from './native/validate';
import { isOneOf, orList, PORT_PROTOCOLS } from './native/vocabulary';
import { validateIp, type Family } from './util/ip';
import type { BoundPort, EndpointOptions, ExposedPort, IpamOptions, IpamPoolConfig, JoinOptions, NetworkOptions, PortBinding } from './options';
import type { SandboxDnsConfig } from './sandbox-files';
import { checkBoolean, checkInteger, checkList, checkString, checkStringMap, compact, CONTROL, optional, plainObject, show } from './util/checks';

/** Ranges no network may overlap: they mean something else to every host (RFC 6890, RFC 4291). */
const RESERVED: { prefix: string; why: string }[] = [
  { prefix: '0.0.0.0/8', why: '"this network"' },
  { prefix: '127.0.0.0/8', why: 'loopback' },
  { prefix: '169.254.0.0/16', why: 'link-local' },
  { prefix: '224.0.0.0/4', why: 'multicast' },
  { prefix: '240.0.0.0/4', why: 'reserved (and broadcast)' },
  { prefix: '::/128', why: 'the unspecified address' },
  { prefix: '::1/128', why: 'loopback' },
  { prefix: '::ffff:0:0/96', why: 'IPv4-mapped' },
  { prefix: 'fe80::/10', why: 'link-local' },
  { prefix: 'ff00::/8', why: 'multicast' },
];

/** A network's subnet: a network address (no host bits) that overlaps no reserved range. */
function checkSubnet(value: unknown, what: string): string {
  const subnet = parsePrefix(value, what);
  const reserved = RESERVED.find((r) => overlaps(subnet, parsePrefix(r.prefix)));
  if (reserved) throw invalidArgument(`${what} ${show(value)} overlaps ${reserved.prefix}, which is ${reserved.why}`);
  return value as string;
}

/** The longest pool prefix that still holds a gateway and one container (see AddressPool). */
const LONGEST_POOL = { 4: 31, 6: 126 };

/**
 * The controller's `defaultAddressPools` (Docker's `default-address-pools`): { base, size } each,
 * `base` a network that overlaps no reserved range, `size` from the base's prefix length to the
 * longest pool that still holds a gateway and a container (/31 for IPv4, /126 for IPv6).
 */
export function checkDefaultAddressPools(value: unknown): PredefinedPool[] {
  return checkList(value, 'defaultAddressPools', (item, what) => {
    const p = plainObject(item, what, ['base', 'size']);
    const base = parsePrefix(checkSubnet(p.base, `${what}.base`), `${what}.base`);
    const size = checkInteger(p.size, `${what}.size`, 0, addressBits(base.family));
    if (size < base.bits) throw invalidArgument(`${what}.size ${size} is smaller than the prefix length of its base ${show(p.base)} (${base.bits})`);
    const longest = LONGEST_POOL[base.family];
    if (size > longest) {
      throw invalidArgument(`${what}.size ${size} is too large: an IPv${base.family} pool longer than /${longest} has no room for a gateway and a container`);
    }
    return { base: p.base as string, size };
  });
}

function checkIp(value: unknown, what: string): string {
  validateIp(value, what);
  return value as string;
}

/** A pool: its subnet, and a range, gateway and aux addresses inside it (libnetwork's ValidateIPAM). */
function checkPoolConfig(value: unknown, what: string): IpamPoolConfig {
  const c = plainObject(value, what, ['subnet', 'ipRange', 'gateway', 'auxAddresses']);
  const pool: IpamPoolConfig = compact({
    subnet: optional(c.subnet, (v) => checkSubnet(v, `${what}.subnet`)),
    ipRange: optional(c.ipRange, (v) => (parsePrefix(v, `${what}.ipRange`), v as string)),
    gateway: optional(c.gateway, (v) => checkIp(v, `${what}.gateway`)),
    auxAddresses: optional(c.auxAddresses, (v) => checkStringMap(v, `${what}.auxAddresses`, checkIp)),
  });
  // An address is a /32 or /128 prefix here (parseAddressOrPrefix).
  const within: [string, string | undefined][] = [
    ['ipRange', pool.ipRange],
    ['gateway', pool.gateway],
    ...Object.entries(pool.auxAddresses ?? {}).map(([name, address]): [string, string] => [`auxAddresses.${name}`, address]),
  ];
  for (const [field, v] of within) {
    if (v === undefined) continue;
    if (pool.subnet === undefined) throw invalidArgument(`${what}.${field} ${show(v)} needs a subnet to lie in`);
    if (!containsPrefix(parsePrefix(pool.subnet), parseAddressOrPrefix(v, `${what}.${field}`)))
      throw invalidArgument(`${what}.${field} ${show(v)} is not inside subnet ${pool.subnet}`);
  }
  return pool;
}

function checkIpamOptions(value: unknown): IpamOptions {
  const ipam = plainObject(value, 'ipam', ['driver', 'config', 'options']);
  return compact({
    driver: optional(ipam.driver, (v) => checkString(v, 'ipam.driver')),
    config: optional(ipam.config, (v) => checkList(v, 'ipam.config', checkPoolConfig)),
    options: optional(ipam.options, (v) => checkStringMap(v, 'ipam.options')),
  });
}

/** Checks a network's options (`newNetwork`); returns a copy. */
export function checkNetworkOptions(value: unknown): NetworkOptions {
  const o = plainObject(value, 'network options', ['driverOptions', 'ipam', 'internal', 'enableIPv4', 'enableIPv6', 'labels']);
  return compact({
    driverOptions: optional(o.driverOptions, (v) => checkStringMap(v, 'driverOptions')),
    ipam: optional(o.ipam, checkIpamOptions),
    internal: optional(o.internal, (v) => checkBoolean(v, 'internal')),
    enableIPv4: optional(o.enableIPv4, (v) => checkBoolean(v, 'enableIPv4')),
    enableIPv6: optional(o.enableIPv6, (v) => checkBoolean(v, 'enableIPv6')),
    labels: optional(o.labels, checkLabels),
  });
}

/** Labels: strings by name. */
export function checkLabels(value: unknown): Record<string, string> {
  return checkStringMap(value, 'labels');
}

function checkProto(value: unknown, what: string): ExposedPort['proto'] {
  if (!isOneOf(PORT_PROTOCOLS, value)) throw invalidArgument(`${what} must be ${orList(PORT_PROTOCOLS)}, got ${show(value)}`);
  return value;
}

function checkExposedPort(value: unknown, what: string): ExposedPort {
  const p = plainObject(value, what, ['proto', 'port']);
  return { proto: checkProto(p.proto, `${what}.proto`), port: checkInteger(p.port, `${what}.port`, 1, 65535) };
}

/** Host addresses no port is published on, per family, and why. */
const NOT_HOST_IPS: Record<Family, [string, string][]> = {
  4: [['224.0.0.0/3', 'a multicast, reserved or broadcast address']],
  6: [
    // The kernel sends no packet from ::1 out of lo (IPv6 has no route_localnet): DNAT to a container cannot work.
    ['::1/128', 'the IPv6 loopback address, which the kernel never routes to a container (publish on 127.0.0.1)'],
    ['ff00::/8', 'a multicast address'],
    ['::ffff:0:0/96', 'an IPv4-mapped address (give the IPv4 address)'],
  ],
};

/** A host address to publish on, of either family (the container's address of that family gets the port). */
export function checkHostIP(value: unknown, what: string): string {
  const address = parseAddressOrPrefix(value, what);
  const bad = NOT_HOST_IPS[validateIp(value, what)].find(([prefix]) => containsPrefix(parsePrefix(prefix), address));
  if (bad) throw invalidArgument(`${what} ${show(value)} is ${bad[1]}`);
  return value as string;
}

function checkPortBinding(value: unknown, what: string): PortBinding {
  const b = plainObject(value, what, ['proto', 'port', 'hostIP', 'hostPort', 'hostPortEnd']);
  const binding: PortBinding = compact({
    proto: checkProto(b.proto, `${what}.proto`),
    port: checkInteger(b.port, `${what}.port`, 1, 65535),
    hostIP: optional(b.hostIP, (v) => checkHostIP(v, `${what}.hostIP`)),
    hostPort: optional(b.hostPort, (v) => checkInteger(v, `${what}.hostPort`, 0, 65535)),
    hostPortEnd: optional(b.hostPortEnd, (v) => checkInteger(v, `${what}.hostPortEnd`, 1, 65535)),
  });
  if (binding.hostPortEnd !== undefined && !binding.hostPort) {
    throw invalidArgument(`${what}: a host port range needs its first port (hostPort), got hostPortEnd ${binding.hostPortEnd}`);
  }
  if (binding.hostPortEnd !== undefined && binding.hostPortEnd < binding.hostPort!) {
    throw invalidArgument(`${what}: hostPortEnd ${binding.hostPortEnd} is below hostPort ${binding.hostPort}`);
  }
  return binding;
}

/** Port bindings as asked for (an endpoint's portMapping). */
export function checkPortMapping(value: unknown): PortBinding[] {
  return checkList(value, 'portMapping', checkPortBinding);
}

/** Port bindings as bound (what a gateway endpoint published): a host address and a host port each, no range. */
export function checkBoundPorts(value: unknown): BoundPort[] {
  return checkList(value, 'published', (v, what) => {
    const binding = checkPortBinding(v, what);
    // hostPort 0: a routed gateway mode's binding, which holds no host port.
    if (binding.hostIP === undefined || binding.hostPort === undefined || binding.hostPortEnd !== undefined) {
      throw invalidArgument(`${what}: a bound port has a hostIP and a hostPort, and no hostPortEnd`);
    }
    return binding as BoundPort;
  });
}

/** A unicast MAC address that is not all zeros (the kernel refuses the others on a veth). */
function checkMac(value: unknown, what: string): string {
  const mac = validateMac(value, what);
  const bytes = mac.split(':').map((b) => parseInt(b, 16));
  if (bytes.every((b) => b === 0)) throw invalidArgument(`${what} ${show(mac)} is all zeros`);
  if (bytes[0] & 1) throw invalidArgument(`${what} ${show(mac)} is a multicast or broadcast address`);
  return mac;
}

/** A word of a configuration file line: visible characters, no whitespace. */
function checkToken(value: unknown, what: string): string {
  const token = checkString(value, what);
  if (token.length === 0 || /\s/.test(token) || CONTROL.test(token)) {
    throw invalidArgument(`${what} ${show(token)} must be one word without whitespace or control characters`);
  }
  return token;
}

/** Checks an endpoint's options (`createEndpoint`); returns a copy. */
export function checkEndpointOptions(value: unknown): EndpointOptions {
  const o = plainObject(value, 'endpoint options', ['ipv4Address', 'ipv6Address', 'macAddress', 'exposedPorts', 'portMapping', 'dnsNames']);
  const family = (want: Family, what: string) => (v: unknown) => {
    if (validateIp(v, what) !== want) throw invalidArgument(`${what} ${show(v)} is not an IPv${want} address`);
    return v as string;
  };
  return compact({
    ipv4Address: optional(o.ipv4Address, family(4, 'ipv4Address')),
    ipv6Address: optional(o.ipv6Address, family(6, 'ipv6Address')),
    macAddress: optional(o.macAddress, (v) => checkMac(v, 'macAddress')),
    exposedPorts: optional(o.exposedPorts, (v) => checkList(v, 'exposedPorts', checkExposedPort)),
    portMapping: optional(o.portMapping, checkPortMapping),
    dnsNames: optional(o.dnsNames, (v) => checkList(v, 'dnsNames', checkToken)),
  });
}

/** A join's priority: an integer that JSON keeps exactly. */
export function checkPriority(value: unknown, what = 'priority'): number {
  return checkInteger(value, what, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
}

/** Checks a join's options (`endpoint.join`); returns a copy. */
export function checkJoinOptions(value: unknown): JoinOptions {
  const o = plainObject(value, 'join options', ['priority']);
  return compact({ priority: optional(o.priority, (v) => checkPriority(v)) });
}

/**
 * Checks the options of a delete: at most the one boolean `flag` (`force` for an endpoint, `wait`
 * for a sandbox); returns a copy.
 */
export function checkDeleteOptions<F extends 'force' | 'wait'>(value: unknown, flag: F): { [K in F]?: boolean } {
  const o = plainObject(value, 'delete options', [flag]);
  return compact({ [flag]: optional(o[flag], (v) => checkBoolean(v, flag)) }) as { [K in F]?: boolean };
}

/** The fields of SandboxDnsConfig. */
export const DNS_KEYS = ['hostname', 'domainname', 'dns', 'dnsSearch', 'dnsOptions', 'extraHosts'] as const;

/** A host or domain name (RFC 1123 labels; '_' too, as resolvers accept it). */
const DNS_NAME = /^(?=.{1,253}$)[A-Za-z0-9_]([A-Za-z0-9_-]{0,62})(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,62}))*\.?$/;

/** Whether a host or domain name is one the options accept (a search domain of the host's resolv.conf must be). */
export function isDnsName(name: string): boolean {
  return DNS_NAME.test(name);
}

function checkDnsName(value: unknown, what: string): string {
  const name = checkString(value, what);
  if (!isDnsName(name)) throw invalidArgument(`${what} ${show(name)} is not a valid DNS name`);
  return name;
}

/** `--add-host` style "name:ip": the name one word, the address an IP address. */
function checkExtraHost(value: unknown, what: string): string {
  const entry = checkString(value, what);
  const at = entry.indexOf(':');
  if (at < 1 || isIP(entry.slice(at + 1)) === 0) throw invalidArgument(`${what} ${show(entry)} is not "name:ip"`);
  checkToken(entry.slice(0, at), `${what} name`);
  return entry;
}

/**
 * Checks what goes into a sandbox's hosts and resolv.conf: every value becomes part of a line
 * there, so none may hold whitespace or a control character where it would start another.
 */
export function checkDnsConfig(o: Record<string, unknown>): SandboxDnsConfig {
  return compact({
    hostname: optional(o.hostname, (v) => checkDnsName(v, 'hostname')),
    domainname: optional(o.domainname, (v) => checkDnsName(v, 'domainname')),
    dns: optional(o.dns, (v) => checkList(v, 'dns', checkIp)),
    // '.' alone says: no search domains, not the host's (Docker's --dns-search .).
    dnsSearch: optional(o.dnsSearch, (v) => checkList(v, 'dnsSearch', (d, what) => (d === '.' ? d : checkDnsName(d, what)))),
    dnsOptions: optional(o.dnsOptions, (v) => checkList(v, 'dnsOptions', checkToken)),
    extraHosts: optional(o.extraHosts, (v) => checkList(v, 'extraHosts', checkExtraHost)),
  });
}

/** The fields of a sandbox's options that `refresh()` may change too. */
export const SANDBOX_KEYS = [...DNS_KEYS, 'labels'] as const;

/** Checks the options of `sandbox.refresh()`; returns a copy. */
export function checkRefreshOptions(value: unknown): SandboxDnsConfig & { labels?: Record<string, string> } {
  const o = plainObject(value, 'refresh options', SANDBOX_KEYS);
  return compact({ ...checkDnsConfig(o), labels: optional(o.labels, checkLabels) });
}
