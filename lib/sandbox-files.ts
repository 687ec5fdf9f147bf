// A sandbox's /etc/hosts and /etc/resolv.conf: written in its state folder, and for named
// namespaces under /etc/netns/<name>/ so that `ip netns exec` bind-mounts them. What resolv.conf
// says is made in resolv-conf.ts.
import type { NativeOp } from './native';

/** What goes into a sandbox's hosts and resolv.conf (Docker's --hostname, --dns, --add-host ...). */
export interface SandboxDnsConfig {
  hostname?: string;
  domainname?: string;
  /** DNS servers; without them, the host's (see resolv-conf.ts). */
  dns?: string[];
  /** Search domains; without them, the host's; `['.']` for none. */
  dnsSearch?: string[];
  /** resolv.conf options; without them, the host's (these replace the host's, they do not add). */
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

const FILES = ['hosts', 'resolv.conf'];

/** A folder that holds a sandbox's two files: a base folder the controller trusts, and the folder's name beneath it. */
export interface FilesFolder {
  base: string;
  folder: string;
}

/** The files' contents; a file left out is not written. */
export interface SandboxFiles {
  hosts?: string;
  resolv?: string;
}

/** The `writeFiles` operations that write the files given into each folder. */
export function writeSandboxFilesOps(folders: FilesFolder[], { hosts, resolv }: SandboxFiles): NativeOp[] {
  const files = (folder: string) => [
    ...(hosts === undefined ? [] : [{ path: `${folder}/${FILES[0]}`, content: hosts }]),
    ...(resolv === undefined ? [] : [{ path: `${folder}/${FILES[1]}`, content: resolv }]),
  ];
  return folders.map(({ base, folder }) => ({ op: 'writeFiles', base, files: files(folder) }));
}

/**
 * The `removePaths` operations that take the folders away: the two files, then the folder itself,
 * which stays if someone else put files in it.
 */
export function removeSandboxFilesOps(folders: FilesFolder[]): NativeOp[] {
  return folders.map(({ base, folder }) => ({ op: 'removePaths', base, paths: [...FILES.map((file) => `${folder}/${file}`), `${folder}/`] }));
}
