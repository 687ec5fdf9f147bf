import { readFile } from 'node:fs/promises';
import { CnmError } from '../errors';

const CAP_NET_ADMIN = 12n;
const CAP_SYS_ADMIN = 21n;

/**
 * Refuses to start without CAP_NET_ADMIN and CAP_SYS_ADMIN (links, routes; namespaces and mounts)
 * with one PERMISSION error, before any file or kernel object is made.
 */
export async function checkPrivileges(): Promise<void> {
  const status = await readFile('/proc/self/status', 'utf8');
  const effective = BigInt(`0x${/^CapEff:\s*([0-9a-f]+)/m.exec(status)?.[1] ?? '0'}`);
  const missing = [
    [CAP_NET_ADMIN, 'CAP_NET_ADMIN'],
    [CAP_SYS_ADMIN, 'CAP_SYS_ADMIN'],
  ].filter(([bit]) => ((effective >> (bit as bigint)) & 1n) === 0n);
  if (missing.length > 0) {
    throw new CnmError(
      'PERMISSION',
      `cnm-ts needs ${missing.map(([, name]) => name).join(' and ')}: run as root (sudo) or grant ` +
        'CAP_NET_ADMIN and CAP_SYS_ADMIN (e.g. setcap, or AmbientCapabilities in a systemd unit)',
    );
  }
}
