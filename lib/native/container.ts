// "Set up one container" and its reverse, each one trip to a worker thread.
import createDebug from '../util/debug';
import { NetlinkError } from './netlink-error';
import { bestEffort } from './best-effort';
import { nativeKernel } from './handle';
import { batch } from './operations';
import { submit } from './submit';
import type { NativeOp } from './types';
import { parseCidr, validateIp } from './validate';
import { invalidArgument } from '../errors';

const debug = createDebug('cnm:native');

/** What setupContainer makes in one trip: a namespace, a veth pair with one end moved into it, its addresses, routes and sysctls. */
export interface ContainerSetup {
  /** The namespace directory (`/run/netns`). */
  netnsDir: string;
  /** The namespace's name in that directory. */
  name: string;
  /** The bridge the host end joins. */
  bridge: string;
  /** The host end of the veth pair. */
  hostIfname: string;
  /** The container end, created directly inside the namespace (default 'eth0'). */
  ifname?: string;
  /** The container's address with its prefix length ("172.17.0.2/16"). */
  address: string;
  /** Default route via this gateway, if given. */
  gateway?: string;
  mtu?: number;
  /** The container end's MAC address. */
  mac?: string;
  /**
   * Keep IPv6 on for the container's interface. Off by default for an IPv4 address: it is switched
   * off before the interface exists, so a new container sends no DAD / router solicitation / MLD
   * traffic (lo keeps ::1). An IPv6 address needs it: false with one is INVALID_ARGUMENT.
   */
  ipv6?: boolean;
}

/** The operations that set up one container, in order; exported for benchmarks and tests. */
export function containerSetupOps(spec: ContainerSetup): NativeOp[] {
  const ifname = spec.ifname ?? 'eth0';
  const { family } = parseCidr(spec.address, 'container address');
  if (spec.gateway !== undefined && validateIp(spec.gateway, 'gateway') !== family) {
    throw invalidArgument(`gateway ${spec.gateway} and address ${spec.address} are of different families`);
  }
  // The kernel would refuse the address on an interface without IPv6 ("IPv6 is disabled on this
  // device") after the namespace and the veth pair were made.
  if (family === 6 && spec.ipv6 === false) throw invalidArgument(`container address ${spec.address} is IPv6, and ipv6 is false`);
  const netns = `${spec.netnsDir}/${spec.name}`;
  const ipv6Off = !(spec.ipv6 ?? family === 6);
  const ops: NativeOp[] = [
    {
      op: 'netnsCreate',
      dir: spec.netnsDir,
      name: spec.name,
      // Interfaces made from now on start with IPv6 off; lo (made with the namespace) keeps ::1.
      sysctls: ipv6Off ? { 'net.ipv6.conf.default.disable_ipv6': '1' } : {},
    },
    {
      op: 'linkAdd',
      link: {
        kind: 'veth',
        name: spec.hostIfname,
        master: spec.bridge,
        mtu: spec.mtu,
        up: true,
        peer: { name: ifname, netns, mtu: spec.mtu, mac: spec.mac },
      },
    },
    // The host end is up but has no carrier until the peer is up: switching its IPv6 link-local
    // address off now means the bridge's other ports never hear DAD, RS or MLD from it.
    { op: 'linkSet', name: spec.hostIfname, change: { addrGenMode: 'none' } },
    // Up first, then address and route: the two last share one index lookup of the interface.
    { op: 'linkSet', netns, name: 'lo', change: { up: true } },
    { op: 'linkSet', netns, name: ifname, change: { up: true } },
    { op: 'addressAdd', netns, name: ifname, address: spec.address },
  ];
  if (spec.gateway !== undefined) {
    ops.push({ op: 'routeAdd', netns, route: { destination: 'default', gateway: spec.gateway, dev: ifname } });
  }
  return ops;
}

/**
 * Sets up one container in one trip to a worker thread: a new namespace, a veth pair with the
 * host end on `bridge` and the other end created inside the namespace, the address, lo and the
 * interface up, the default route. Resolves with the namespace path. On failure nothing is left:
 * what was made is removed and the first error is rethrown.
 */
export async function setupContainer(spec: ContainerSetup): Promise<string> {
  const netns = `${spec.netnsDir}/${spec.name}`;
  try {
    await submit(() => containerSetupOps(spec));
    return netns;
  } catch (err) {
    const failedAt = err instanceof NetlinkError ? err.index : -1;
    await undoSetup(failedAt, spec.hostIfname, netns);
    throw err;
  }
}

// Undoes the steps before `failedAt`: the veth (deleted now, so the host is unchanged when the
// call returns) and the namespace.
async function undoSetup(failedAt: number, hostIfname: string, netns: string): Promise<void> {
  const undo: NativeOp[] = [];
  if (failedAt > 1) undo.push({ op: 'linkDelete', name: hostIfname });
  if (failedAt > 0) undo.push({ op: 'netnsDelete', path: netns });
  for (const err of await bestEffort(nativeKernel, undo)) debug('undo of container setup: %s', (err as Error).message);
}

/**
 * Tears down one container: drops its namespace. The kernel destroys the namespace and both veth
 * ends in the background, so this does not wait for its slow synchronous link deletion.
 */
export async function teardownContainer(netnsPath: string): Promise<void> {
  await batch([{ op: 'netnsDelete', path: netnsPath }]);
}
