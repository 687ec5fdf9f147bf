// Host ports of published container ports: held by bound sockets while published (libnetwork's
// port allocator), one port at a time so that a failure knows exactly what to give back.
import createDebug from '../../util/debug';
import { CnmError } from '../../errors';
import { bestEffort, NetlinkError, runOne, type Kernel, type NativeOp } from '../../native';
import type { BoundPort, PortBinding } from '../api';

const debug = createDebug('cnm:bridge');

/** A published port with the socket that holds its host port. */
export interface HeldPort {
  binding: BoundPort;
  fd: number;
}

/**
 * Holds the host port of each binding (a free one for port 0 or absent, the first free one of a
 * range); CONFLICT, holding nothing, if one is taken.
 */
export async function holdPorts(kernel: Kernel, bindings: PortBinding[], defaultHostIP: string): Promise<HeldPort[]> {
  const held: HeldPort[] = [];
  try {
    for (const b of bindings) {
      const hostIP = b.hostIP ?? defaultHostIP;
      const first = b.hostPort ?? 0;
      const result = await runOne(kernel, { op: 'portReserve', address: hostIP, protocol: b.proto, port: first, portEnd: b.hostPortEnd ?? first });
      held.push({ binding: { proto: b.proto, port: b.port, hostIP, hostPort: result.port }, fd: result.fd });
    }
    return held;
  } catch (err) {
    await releasePorts(kernel, held);
    if (err instanceof NetlinkError && err.code === 'EADDRINUSE') {
      throw new CnmError('CONFLICT', `host port ${err.object} is already in use`, { cause: err });
    }
    throw err;
  }
}

/** Gives the host ports back; logs (does not throw) what fails. */
export async function releasePorts(kernel: Kernel, held: HeldPort[]): Promise<void> {
  const ops: NativeOp[] = held.map((h) => ({ op: 'portRelease', fd: h.fd }));
  for (const err of await bestEffort(kernel, ops)) debug('release of a host port: %s', (err as Error).message);
}

/**
 * The operation that drops the conntrack entries of published ports, so that no flow goes on to a
 * container that left: one sweep of the table for all of them.
 */
export function forgetFlowsOp(held: HeldPort[]): NativeOp {
  const filters = held.map(({ binding }) => ({
    family: 4 as const,
    protocol: binding.proto,
    ...(binding.hostIP === '0.0.0.0' ? {} : { destination: binding.hostIP }),
    port: binding.hostPort,
  }));
  return { op: 'conntrackDelete', filters };
}
