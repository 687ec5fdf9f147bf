// ADAPTER, to be replaced by lib/sandbox-files.ts of branch h11-resolvconf (which reads the host's
// resolv.conf, systemd-resolved included): the upstream servers of a sandbox's resolver and the
// resolv.conf that points the sandbox at 127.0.0.11. Kept to the interface that branch provides.
import { isIPv4 } from 'node:net';
import type { SandboxDnsConfig } from '../sandbox-files';

/** An upstream server; `fromHost`: a loopback server of the host, reached from the host's namespace. */
export interface Upstream {
  address: string;
  port: number;
  fromHost: boolean;
}

/** The sandbox's `dns` servers, else the host's; IPv4 only (the forwarding sockets are IPv4). */
export function resolverUpstreams(config: SandboxDnsConfig, hostServers: string[]): Upstream[] {
  const servers = config.dns && config.dns.length > 0 ? config.dns : hostServers;
  return servers.filter((s) => isIPv4(s)).map((address) => ({ address, port: 53, fromHost: address.startsWith('127.') }));
}

/** resolv.conf for a sandbox served by its embedded resolver. */
export function embeddedResolvConf(config: SandboxDnsConfig): string {
  const lines = ['nameserver 127.0.0.11'];
  if (config.dnsSearch?.length) lines.push(`search ${config.dnsSearch.join(' ')}`);
  // ndots:0 unless the sandbox sets its own (Docker keeps the user's).
  const options = config.dnsOptions ?? [];
  lines.push(`options ${[...(options.some((o) => o.startsWith('ndots:')) ? [] : ['ndots:0']), ...options].join(' ')}`);
  return `${lines.join('\n')}\n`;
}
