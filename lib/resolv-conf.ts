// The host's resolver configuration and the resolv.conf of a sandbox made from it: with the host's
// servers (default bridge, host mode), or with the embedded resolver's address (user networks).
import { statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { isDnsName } from './option-checks';
import type { SandboxDnsConfig } from './sandbox-files';
import { CONTROL } from './util/checks';
import { isLoopback, type Family } from './util/ip';

/** What a resolv.conf says, as glibc's resolver reads it. Shared by every caller: never changed. */
export interface HostResolvConf {
  /** The nameserver addresses in file order, loopback ones and IPv6 ones with a zone included. */
  readonly nameservers: readonly string[];
  /** The search domains of the last `search` or `domain` line. */
  readonly search: readonly string[];
  /** The words of every `options` line, in order. */
  readonly options: readonly string[];
}

/** A server that a sandbox's embedded resolver forwards the names it does not know to. */
export interface ResolverUpstream {
  address: string;
  port: number;
  /**
   * Query it from the host's namespace (a server from the host's resolv.conf, loopback ones such
   * as 127.0.0.53 included), not from the sandbox's (a server of the sandbox's `dns` option).
   */
  fromHost: boolean;
}

/** The embedded resolver's address inside a sandbox, Docker's. */
export const EMBEDDED_RESOLVER = '127.0.0.11';

/** systemd-resolved's stub listener: a host whose resolv.conf lists only it has the real servers elsewhere. */
const SYSTEMD_STUB = '127.0.0.53';
/** Docker's fallback when neither the sandbox nor the host gives a server a sandbox can reach. */
const DEFAULT_NAMESERVERS = ['8.8.8.8', '8.8.4.4'];
/** How many upstream servers the embedded resolver uses, as Docker's (glibc's MAXNS too). */
const MAX_UPSTREAMS = 3;
const DNS_PORT = 53;
/** The option the embedded resolver needs (names without dots go to it first), unless one is set. */
const NDOTS_0 = 'ndots:0';
/** An ndots option glibc and Docker take: a non-negative integer. */
const VALID_NDOTS = /^ndots:\+?\d+$/;

/**
 * Parses a resolv.conf. From `#` or `;` to the end of a line is a comment (a whole line when it
 * starts with one). `nameserver` takes one IP address (others are skipped); `search` and `domain`
 * set the search list, the last such line winning as in glibc (`domain` names one domain);
 * `options` lines add up; other keywords are ignored. Search domains that are not DNS names and
 * words with control characters are dropped: they could not go into a sandbox's file.
 */
export function parseResolvConf(text: string): HostResolvConf {
  const nameservers: string[] = [];
  let search: string[] = [];
  const options: string[] = [];
  for (const line of text.split('\n')) {
    const [keyword, ...values] = line
      .replace(/[#;].*/, '')
      .trim()
      .split(/\s+/);
    if (values.length === 0) continue;
    if (keyword === 'nameserver' && isIP(values[0]) !== 0) nameservers.push(values[0]);
    else if (keyword === 'search') search = values.filter(isDnsName);
    else if (keyword === 'domain') search = values.slice(0, 1).filter(isDnsName);
    else if (keyword === 'options') options.push(...values.filter((v) => !CONTROL.test(v)));
  }
  return { nameservers, search, options };
}

/** A read configuration and the stamps of the files it came from; the systemd one only when the host's pointed to it. */
interface CachedConf {
  hostStamp: string;
  systemdStamp: string | null;
  conf: HostResolvConf;
}

const cache = new Map<string, CachedConf>();
const reads = new Map<string, Promise<HostResolvConf>>();

/**
 * The host's resolver configuration from `hostFile` (/etc/resolv.conf). When it lists only loopback
 * servers, systemd-resolved's stub 127.0.0.53 among them, the host's real upstream servers, search
 * domains and options come from `systemdFile` (/run/systemd/resolve/resolv.conf) as Docker reads
 * them, if that file lists a server. A file that cannot be read counts as empty. The files are
 * read again only when one of them changes, and calls made while a read is under way share it.
 */
export function readHostResolvConf(hostFile: string, systemdFile: string): Promise<HostResolvConf> {
  const key = `${hostFile}\0${systemdFile}`;
  let read = reads.get(key);
  if (!read) {
    read = load(key, hostFile, systemdFile).finally(() => reads.delete(key));
    reads.set(key, read);
  }
  return read;
}

// Stats on the JS thread, not a trip to libuv's pool: a system call on a local file costs less
// than waking a pool thread, and every newSandbox asks (the files are read only when they changed).
// The systemd file is looked at only while the host's file points to it: one stat on most hosts.
async function load(key: string, hostFile: string, systemdFile: string): Promise<HostResolvConf> {
  const hostStamp = stampOf(hostFile);
  const cached = cache.get(key);
  if (cached?.hostStamp === hostStamp && (cached.systemdStamp === null || cached.systemdStamp === stampOf(systemdFile))) return cached.conf;
  let conf = await parseFile(hostFile);
  let systemdStamp: string | null = null;
  if (behindSystemdStub(conf)) {
    systemdStamp = stampOf(systemdFile);
    const upstream = await parseFile(systemdFile);
    if (upstream.nameservers.length > 0) conf = upstream;
  }
  Object.freeze(conf);
  cache.set(key, { hostStamp, systemdStamp, conf });
  return conf;
}

/**
 * A file's modification time and size, or "-" when there is none. A missing file (the systemd one,
 * on most hosts) is not thrown: an exception per newSandbox costs more than the stat.
 */
function stampOf(file: string): string {
  try {
    const s = statSync(file, { throwIfNoEntry: false });
    return s ? `${s.mtimeMs}:${s.size}` : '-';
  } catch {
    return '-';
  }
}

async function parseFile(file: string): Promise<HostResolvConf> {
  const { nameservers, search, options } = parseResolvConf(await readFile(file, 'utf8').catch(() => ''));
  return { nameservers: Object.freeze(nameservers), search: Object.freeze(search), options: Object.freeze(options) };
}

function behindSystemdStub(conf: HostResolvConf): boolean {
  return conf.nameservers.includes(SYSTEMD_STUB) && conf.nameservers.every((ns) => isLoopback(ns, isIP(ns) as Family));
}

/**
 * Whether a host nameserver works from another namespace: not the host's loopback (in any
 * spelling, see isLoopback), and without a zone (`fe80::1%eth0` names one of the host's links).
 */
function reachableFromSandbox(ns: string): boolean {
  const family = isIP(ns);
  return family !== 0 && !ns.includes('%') && !isLoopback(ns, family as Family);
}

/**
 * The host's nameservers that a sandbox can reach (no loopback, no zone); the predefined pools
 * avoid them.
 */
export function reachableNameservers(host: HostResolvConf): string[] {
  return host.nameservers.filter(reachableFromSandbox);
}

/**
 * The resolv.conf of a sandbox without the embedded resolver, as Docker's: the sandbox's `dns`,
 * else the host's servers it can reach (all of them for a sandbox in the host's own namespace),
 * else Docker's fallback 8.8.8.8 and 8.8.4.4; the sandbox's `dnsSearch`, else the host's search
 * domains; the sandbox's `dnsOptions`, else the host's options (the sandbox's replace, not add).
 */
export function resolvConf(config: SandboxDnsConfig, host: HostResolvConf, inHostNamespace = false): string {
  const usable = inHostNamespace ? [...host.nameservers] : reachableNameservers(host);
  const servers = config.dns?.length ? config.dns : usable.length > 0 ? usable : DEFAULT_NAMESERVERS;
  return fileText(servers, searchOf(config, host), optionsOf(config, host));
}

/**
 * The resolv.conf of a sandbox served by the embedded resolver, as Docker's: `nameserver
 * 127.0.0.11` alone; the search domains as resolvConf's; the options as resolvConf's without
 * the ndots ones that are not a non-negative integer, plus `ndots:0` unless one is left (the
 * sandbox's or the host's ndots wins).
 */
export function embeddedResolvConf(config: SandboxDnsConfig, host: HostResolvConf): string {
  const options = optionsOf(config, host).filter((o) => o.split(':')[0] !== 'ndots' || VALID_NDOTS.test(o));
  const ndotsSet = options.some((o) => VALID_NDOTS.test(o));
  return fileText([EMBEDDED_RESOLVER], searchOf(config, host), ndotsSet ? options : [...options, NDOTS_0]);
}

/**
 * The servers a sandbox's embedded resolver forwards to, port 53, IPv4 or IPv6, at most 3 as
 * Docker's: the sandbox's `dns` (queried from the sandbox), else the host's servers (queried from
 * the host's namespace, as Docker does: 127.0.0.53 or ::1 answer there). With systemd-resolved they
 * are the real upstream servers when its file lists them (see readHostResolvConf). A link-local
 * server with a zone (`fe80::1%eth0`) is left out: the zone names a link of the host's. Empty if
 * there are none.
 */
export function resolverUpstreams(config: SandboxDnsConfig, host: HostResolvConf): ResolverUpstream[] {
  const own = config.dns?.length ? config.dns : null;
  return (own ?? host.nameservers)
    .filter((address) => !address.includes('%'))
    .slice(0, MAX_UPSTREAMS)
    .map((address) => ({ address, port: DNS_PORT, fromHost: own === null }));
}

/** The sandbox's search domains ('.' stands for none, as in Docker), else the host's. */
function searchOf(config: SandboxDnsConfig, host: HostResolvConf): readonly string[] {
  return config.dnsSearch?.length ? config.dnsSearch.filter((d) => d !== '.') : host.search;
}

function optionsOf(config: SandboxDnsConfig, host: HostResolvConf): readonly string[] {
  return config.dnsOptions?.length ? config.dnsOptions : host.options;
}

function fileText(servers: readonly string[], search: readonly string[], options: readonly string[]): string {
  const lines = servers.map((s) => `nameserver ${s}`);
  if (search.length > 0) lines.push(`search ${search.join(' ')}`);
  if (options.length > 0) lines.push(`options ${options.join(' ')}`);
  return `${lines.join('\n')}\n`;
}
