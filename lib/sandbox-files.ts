// A sandbox's /etc/hosts and /etc/resolv.conf: written in its state folder, and for named
// namespaces under /etc/netns/<name>/ so that `ip netns exec` bind-mounts them.
import { statSync, type Stats } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import type { NativeOp } from './native';
import { isLoopback, type Family } from './util/ip';

/** What goes into a sandbox's hosts and resolv.conf (Docker's --hostname, --dns, --add-host ...). */
export interface SandboxDnsConfig {
  hostname?: string;
  domainname?: string;
  /** DNS servers; without them, the host's non-loopback ones. */
  dns?: string[];
  dnsSearch?: string[];
  dnsOptions?: string[];
  /** Extra /etc/hosts entries, "name:ip" like `docker run --add-host`. */
  extraHosts?: string[];
}

/** The hosts file: localhost, the sandbox's own addresses under its hostname, extra hosts. */
export function hostsFile(config: SandboxDnsConfig, ownAddresses: string[]): string {
  const lines = [
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    'fe00::0\tip6-localnet',
    'ff00::0\tip6-mcastprefix',
    'ff02::1\tip6-allnodes',
    'ff02::2\tip6-allrouters',
  ];
  if (config.hostname) {
    const names = config.domainname ? `${config.hostname}.${config.domainname} ${config.hostname}` : config.hostname;
    for (const address of ownAddresses) lines.push(`${address}\t${names}`);
  }
  for (const entry of config.extraHosts ?? []) {
    const at = entry.indexOf(':');
    lines.push(`${entry.slice(at + 1)}\t${entry.slice(0, at)}`);
  }
  return `${lines.join('\n')}\n`;
}

const nameserverCache = new Map<string, { mtimeMs: number; size: number; servers: string[] }>();
const nameserverReads = new Map<string, Promise<string[]>>();

/**
 * The host's nameservers that a sandbox can use: every one but loopback addresses. The file is read
 * again only when it changes, and calls made while a read is under way share it.
 */
export function hostNameservers(hostResolvConf: string): Promise<string[]> {
  let read = nameserverReads.get(hostResolvConf);
  if (!read) {
    read = readNameservers(hostResolvConf).finally(() => nameserverReads.delete(hostResolvConf));
    nameserverReads.set(hostResolvConf, read);
  }
  return read;
}

// A stat on the JS thread, not a trip to libuv's pool: one system call on a local file costs less
// than waking a pool thread, and every newSandbox asks (the file is read only when it changed).
async function readNameservers(hostResolvConf: string): Promise<string[]> {
  const now = statOrNull(hostResolvConf);
  const cached = nameserverCache.get(hostResolvConf);
  if (now && cached && cached.mtimeMs === now.mtimeMs && cached.size === now.size) return cached.servers;
  const servers = parseNameservers(await readFile(hostResolvConf, 'utf8').catch(() => ''));
  if (now) nameserverCache.set(hostResolvConf, { mtimeMs: now.mtimeMs, size: now.size, servers });
  return servers;
}

function statOrNull(file: string): Stats | null {
  try {
    return statSync(file);
  } catch {
    return null;
  }
}

function parseNameservers(text: string): string[] {
  return text
    .split('\n')
    .map((line) => /^\s*nameserver\s+(\S+)/.exec(line)?.[1])
    .filter((ns): ns is string => ns !== undefined && usableInSandbox(ns));
}

/**
 * Whether a host nameserver works from a sandbox: an address, not the host's loopback (in any
 * spelling, see isLoopback), and without a zone (`fe80::1%eth0` names one of the host's links).
 */
function usableInSandbox(ns: string): boolean {
  const family = isIP(ns);
  return family !== 0 && !ns.includes('%') && !isLoopback(ns, family as Family);
}

/**
 * resolv.conf: the given DNS servers, or the host's usable ones (filtered again: a record written
 * by an older version may hold others); search and options.
 */
export function resolvConf(config: SandboxDnsConfig, hostServers: string[]): string {
  const servers = config.dns && config.dns.length > 0 ? config.dns : hostServers.filter(usableInSandbox);
  const lines = servers.map((s) => `nameserver ${s}`);
  if (config.dnsSearch?.length) lines.push(`search ${config.dnsSearch.join(' ')}`);
  if (config.dnsOptions?.length) lines.push(`options ${config.dnsOptions.join(' ')}`);
  return `${lines.join('\n')}\n`;
}

const FILES = ['hosts', 'resolv.conf'];

/** A folder that holds a sandbox's two files: a base folder the controller trusts, and the folder's name beneath it. */
export interface FilesFolder {
  base: string;
  folder: string;
}

/** The `writeFiles` operations that write the two files of each folder. */
export function writeSandboxFilesOps(folders: FilesFolder[], hosts: string, resolv: string): NativeOp[] {
  return folders.map(({ base, folder }) => ({
    op: 'writeFiles',
    base,
    files: [
      { path: `${folder}/${FILES[0]}`, content: hosts },
      { path: `${folder}/${FILES[1]}`, content: resolv },
    ],
  }));
}

/**
 * The `removePaths` operations that take the folders away: the two files, then the folder itself,
 * which stays if someone else put files in it.
 */
export function removeSandboxFilesOps(folders: FilesFolder[]): NativeOp[] {
  return folders.map(({ base, folder }) => ({ op: 'removePaths', base, paths: [...FILES.map((file) => `${folder}/${file}`), `${folder}/`] }));
}
