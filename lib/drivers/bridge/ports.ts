// Host ports of published container ports: held by bound sockets while published (libnetwork's
// port allocator), one port at a time so that a failure knows exactly what to give back.
import createDebug from '../../util/debug';
import { CnmError } from '../../errors';
import { bestEffort, NetlinkError, runOne, type Kernel, type NativeOp } from '../../native';
import type { BoundPort, PortBinding } from '../api';

const debug = createDebug('cnm:bridge');

/** The any-address of each family: a port published there is reached on every host address of it. */
export const ANY_ADDRESS = { 4: '0.0.0.0', 6: '::' } as const;
/** How many times a picked port (0) is tried again when its other family's address has it taken. */
const PICK_ATTEMPTS = 10;

/** A published port with the socket that holds its host port (null: routed, no host port). */
export interface HeldPort {
  binding: BoundPort;
  fd: number | null;
}

/**
 * How a port is published to each family: none (the container has no address of it), nat (a host
 * port DNATed to the container), routed (the container's own port is opened; no host port).
 */
export type ContainerFamilies = Record<4 | 6, 'none' | 'nat' | 'routed'>;

/** The family of a host address ("::" and "2001:db8::1" are 6). */
export const familyOf = (address: string): 4 | 6 => (address.includes(':') ? 6 : 4);

/**
 * One asked-for binding as host addresses, as libnetwork does: a binding without hostIP goes to
 * the default host address, and when that is 0.0.0.0 to [::] too, so that a client gets the same
 * port on either family. Addresses of a family the container has no address in are left out
 * (there is no userland proxy to bridge families).
 */
function hostAddresses(binding: PortBinding, defaultHostIP: string, container: ContainerFamilies): string[] {
  const asked = binding.hostIP ?? defaultHostIP;
  const addresses = binding.hostIP === undefined && asked === ANY_ADDRESS[4] ? [ANY_ADDRESS[4], ANY_ADDRESS[6]] : [asked];
  const usable = addresses.filter((a) => container[familyOf(a)] !== 'none');
  if (usable.length < addresses.length) debug('binding %o: no container address for some of %o', binding, addresses);
  return usable;
}

/**
 * A routed family's binding: the host address only says the family (libnetwork's routed port
 * mapper), and no host port is held.
 */
const routedPort = (b: PortBinding, family: 4 | 6): HeldPort => ({
  binding: { proto: b.proto, port: b.port, hostIP: ANY_ADDRESS[family], hostPort: 0 },
  fd: null,
});

/**
 * Holds the host port of each binding on each of its host addresses (a free one for port 0 or
 * absent, the first free one of a range, the same on all its addresses); CONFLICT, holding
 * nothing, if one is taken. Resolves with the bindings held, one per host address.
 */
export async function holdPorts(kernel: Kernel, bindings: PortBinding[], defaultHostIP: string, container: ContainerFamilies): Promise<HeldPort[]> {
  const held: HeldPort[] = [];
  try {
    for (const b of bindings) {
      const addresses = hostAddresses(b, defaultHostIP, container);
      const nat = addresses.filter((a) => container[familyOf(a)] === 'nat');
      if (nat.length > 0) held.push(...(await holdOnAll(kernel, b, nat)));
      for (const family of [4, 6] as const) {
        if (addresses.some((a) => familyOf(a) === family && container[family] === 'routed')) held.push(routedPort(b, family));
      }
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

/**
 * Holds one host port on every address: the first address picks it (from the range, or any free
 * one for 0), the others must have that very port free; if one has not, the next port of the
 * range (or another picked one) is tried.
 */
async function holdOnAll(kernel: Kernel, b: PortBinding, addresses: string[]): Promise<HeldPort[]> {
  const last = b.hostPortEnd ?? b.hostPort ?? 0;
  let first = b.hostPort ?? 0;
  for (let attempt = 1; ; attempt++) {
    const held: HeldPort[] = [];
    try {
      for (const hostIP of addresses) {
        const [port, portEnd] = held.length === 0 ? [first, last] : [held[0].binding.hostPort, held[0].binding.hostPort];
        const result = await runOne(kernel, { op: 'portReserve', address: hostIP, protocol: b.proto, port, portEnd });
        held.push({ binding: { proto: b.proto, port: b.port, hostIP, hostPort: result.port }, fd: result.fd });
      }
      return held;
    } catch (err) {
      await releasePorts(kernel, held);
      // The first address had the port free and another has it taken: another port, if any is left.
      const picked = held[0]?.binding.hostPort;
      const taken = err instanceof NetlinkError && err.code === 'EADDRINUSE' && picked !== undefined;
      if (!taken || (first === 0 ? attempt >= PICK_ATTEMPTS : picked >= last)) throw err;
      if (first !== 0) first = picked + 1;
    }
  }
}

/** Gives the host ports back; logs (does not throw) what fails. */
export async function releasePorts(kernel: Kernel, held: HeldPort[]): Promise<void> {
  const ops: NativeOp[] = held.flatMap((h): NativeOp[] => (h.fd === null ? [] : [{ op: 'portRelease', fd: h.fd }]));
  for (const err of await bestEffort(kernel, ops)) debug('release of a host port: %s', (err as Error).message);
}

/**
 * The operation that drops the conntrack entries of published ports, so that no flow goes on to a
 * container that left: one sweep of the table for all of them.
 */
export function forgetFlowsOp(held: HeldPort[]): NativeOp {
  const filters = held
    .filter((h) => h.fd !== null)
    .map(({ binding }) => {
      const family = familyOf(binding.hostIP);
      return {
        family,
        protocol: binding.proto,
        ...(binding.hostIP === ANY_ADDRESS[family] ? {} : { destination: binding.hostIP }),
        port: binding.hostPort,
      };
    });
  return { op: 'conntrackDelete', filters };
}
