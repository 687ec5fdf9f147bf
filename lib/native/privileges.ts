import { CnmError } from '../errors';
import { loadBinding } from './loader';

const CAP_NET_ADMIN = 12n;
const CAP_SYS_ADMIN = 21n;

/**
 * Refuses to start without CAP_NET_ADMIN and CAP_SYS_ADMIN (links, routes; namespaces and mounts)
 * with one PERMISSION error, before any file or kernel object is made. The capabilities come from
 * capget(2) through the addon, not from /proc/self/status, which Deno reads only under --allow-all.
 */
export async function checkPrivileges(): Promise<void> {
  const effective = loadBinding().effectiveCapabilities();
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
