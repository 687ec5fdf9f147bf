// The macvlan driver (libnetwork's drivers/macvlan): endpoints are macvlan links of a host
// interface (the parent), each made directly inside its sandbox's namespace with its own MAC
// address, so containers appear on the parent's segment as hosts of their own. No bridge, no veth
// and no firewall: the network's gateway is a router on that segment, outside the host.
import createDebug from '../../util/debug';
import { CnmError } from '../../errors';
import { bestEffort, NetlinkError, runOne, type Kernel, type LinkInfo, type NativeOp } from '../../native';
import type { Driver, DriverOptions, InterfaceInfo, JoinInfo, JoinTarget, NetworkCreateInfo, RestoreContext, RestoreResult, RestoreWarning } from '../api';
import { gatewayFor, macFor } from '../common';
import { parseMacvlanOptions, type MacvlanConfig } from './options';

const debug = createDebug('cnm:macvlan');

interface MacvlanNetwork {
  name: string;
  config: MacvlanConfig;
  internal: boolean;
  info: NetworkCreateInfo;
}

interface MacvlanEndpoint {
  networkId: string;
  iface: InterfaceInfo;
}

/** The alias that marks a macvlan link as made by the controller `owner` for endpoint `endpointId`. */
export function macvlanAlias(owner: string, endpointId: string): string {
  return `cnm-ts:${owner}:macvlan:${endpointId}`;
}

const isGone = (err: unknown) => err instanceof NetlinkError && err.code === 'ENODEV';

export class MacvlanDriver implements Driver {
  readonly type = 'macvlan';
  private readonly networks = new Map<string, MacvlanNetwork>();
  private readonly endpoints = new Map<string, MacvlanEndpoint>();
  private owner = '';

  /** A driver whose every operation goes through `kernel`. */
  constructor(private readonly kernel: Kernel) {}

  /**
   * Checks the options and the parent: it must exist on the host (a dotted name such as eth1.30
   * that does not is refused: Docker would make it an 802.1Q VLAN link, which cnm-ts does not) and
   * no other macvlan network may use it (as in Docker). Makes no kernel object.
   */
  async createNetwork(info: NetworkCreateInfo): Promise<void> {
    this.owner = info.owner;
    const config = parseMacvlanOptions(info.options, info.name);
    if (![...info.ipv4, ...info.ipv6].some((p) => p.gateway || (p.pool !== '0.0.0.0/0' && p.pool !== '::/0'))) {
      throw new CnmError('INVALID_ARGUMENT', `macvlan network ${info.name} needs an IPv4 or IPv6 pool (the null IPAM gives none)`);
    }
    const user = [...this.networks.values()].find((n) => n.config.parent === config.parent);
    if (user) throw new CnmError('CONFLICT', `network ${user.name} is already using parent interface ${config.parent}`);
    await this.parentLink(config.parent, info.name);
    this.networks.set(info.id, { name: info.name, config, internal: info.internal, info });
    debug('network %s on %s (%s)', info.id.slice(0, 12), config.parent, config.mode);
  }

  /** The parent's link; NOT_FOUND naming what is missing (for a dotted name, the 8021q feature). */
  private async parentLink(parent: string, network: string): Promise<LinkInfo> {
    try {
      return await runOne(this.kernel, { op: 'linkGet', name: parent });
    } catch (err) {
      if (!isGone(err)) throw err;
      const vlan = /^(.+)\.(\d+)$/.exec(parent);
      const why = vlan
        ? `; Docker would create it as 802.1Q VLAN ${vlan[2]} of ${vlan[1]}, which needs the kernel's 8021q module (CONFIG_VLAN_8021Q): ` +
          'cnm-ts does not create VLAN links, make it first (ip link add link ' +
          `${vlan[1]} name ${parent} type vlan id ${vlan[2]})`
        : '';
      throw new CnmError('NOT_FOUND', `macvlan network ${network}: the parent interface ${parent} was not found on the host${why}`, { cause: err });
    }
  }

  /** Forgets the network: its endpoints' links went with their leaves. */
  async deleteNetwork(networkId: string): Promise<void> {
    this.network(networkId);
    this.networks.delete(networkId);
  }

  /**
   * Picks the MAC address (from the IPv4 address, as Docker does; random without one), unless given; in passthru mode
   * the parent takes one endpoint only, and its MAC stays the kernel's (the parent's own).
   */
  async createEndpoint(networkId: string, endpointId: string, iface: InterfaceInfo, _options: DriverOptions): Promise<void> {
    const network = this.network(networkId);
    if (!iface.address && !iface.addressIPv6) throw new CnmError('INVALID_ARGUMENT', `macvlan network ${network.name}: the endpoint has no address`);
    if (network.config.mode === 'passthru') {
      const other = [...this.endpoints.values()].some((e) => e.networkId === networkId);
      if (other) throw new CnmError('CONFLICT', `macvlan network ${network.name} is in passthru mode: its parent ${network.config.parent} takes one endpoint`);
    } else {
      iface.macAddress ??= macFor(iface.address);
    }
    this.endpoints.set(endpointId, { networkId, iface });
  }

  /** Forgets the endpoint (its link went with its leave). */
  async deleteEndpoint(_networkId: string, endpointId: string): Promise<void> {
    this.endpoints.delete(endpointId);
  }

  /**
   * One trip to the kernel: the macvlan link of the parent created inside the sandbox (`ip link
   * add link PARENT name ethN netns NS type macvlan mode MODE`), marked with the controller's
   * alias, with its MAC and MTU, up, its addresses and, for the gateway endpoint, the default route
   * via the gateway of its subnet.
   */
  async join(networkId: string, endpointId: string, target: JoinTarget): Promise<JoinInfo> {
    const network = this.network(networkId);
    const endpoint = this.endpoint(endpointId);
    if (target.isHost) throw new CnmError('FORBIDDEN', `macvlan network ${network.name}: a host-mode sandbox cannot join it`);
    const netns = target.key;
    const { parent, mode, mtu } = network.config;
    const name = target.ifname;
    const ops: NativeOp[] = [
      // IPv6 on for the link if the network has it (sandboxes start with it off for new interfaces).
      {
        op: 'linkAdd',
        link: { kind: 'macvlan', name, parent, mode, mtu, mac: endpoint.iface.macAddress, netns, ...(endpoint.iface.addressIPv6 && { ipv6: true }) },
      },
      { op: 'linkSet', netns, name, change: { alias: macvlanAlias(this.owner, endpointId) } },
    ];
    ops.push({ op: 'linkSet', netns, name, change: { up: true } });
    for (const address of [endpoint.iface.address, endpoint.iface.addressIPv6]) if (address) ops.push({ op: 'addressAdd', netns, name, address });
    if (target.defaultRoute) ops.push(...this.defaultRouteOps(network, endpoint, target));
    try {
      await this.kernel.batch(ops);
    } catch (err) {
      if (err instanceof NetlinkError && err.index > 0) await this.undo([{ op: 'linkDelete', netns, name }]);
      if (err instanceof NetlinkError && err.index === 0 && err.code === 'ENODEV') {
        throw new CnmError('NOT_FOUND', `macvlan network ${network.name}: the parent interface ${parent} was not found on the host`, { cause: err });
      }
      throw err;
    }
    const gateways = this.gateways(network, endpoint);
    return { ifname: name, gateway: gateways.v4, gatewayIPv6: gateways.v6, staticRoutes: [] };
  }

  /**
   * Deletes the endpoint's link in the sandbox (`ip -n NS link del ethN`), also when the namespace
   * is about to be dropped: the kernel destroys a dropped namespace's links in the background, and
   * until then the parent refuses a new macvlan with the same MAC (EADDRINUSE), which the next
   * container with the same address would have, and a passthru parent refuses any.
   */
  async leave(_networkId: string, _endpointId: string, target: JoinTarget, _sandboxGoing: boolean): Promise<void> {
    await this.kernel.batch([{ op: 'linkDelete', netns: target.key, name: target.ifname }]).catch((err: unknown) => {
      if (!isGone(err)) throw err;
    });
  }

  /** Points the sandbox's default route(s) at the gateway of the endpoint's subnet. */
  async setDefaultRoute(networkId: string, endpointId: string, target: JoinTarget): Promise<void> {
    const ops = this.defaultRouteOps(this.network(networkId), this.endpoint(endpointId), target);
    if (ops.length > 0) await this.kernel.batch(ops);
  }

  private gateways(network: MacvlanNetwork, endpoint: MacvlanEndpoint): { v4: string | null; v6: string | null } {
    if (network.internal) return { v4: null, v6: null };
    return { v4: gatewayFor(network.info.ipv4, endpoint.iface.address), v6: gatewayFor(network.info.ipv6, endpoint.iface.addressIPv6) };
  }

  private defaultRouteOps(network: MacvlanNetwork, endpoint: MacvlanEndpoint, target: JoinTarget): NativeOp[] {
    const { v4, v6 } = this.gateways(network, endpoint);
    return [v4, v6]
      .filter((gateway): gateway is string => gateway !== null)
      .map((gateway) => ({ op: 'routeReplace', netns: target.key, route: { destination: 'default', gateway, dev: target.ifname } }));
  }

  /**
   * After a restart: takes the networks and endpoints back; a joined endpoint whose link is not in
   * its sandbox (or is not a macvlan with this controller's mark for it) is lost; links in the
   * restored sandboxes marked by this controller that no joined endpoint has (a crash in a join or
   * leave) are deleted; a network whose parent is gone is kept with a warning.
   */
  async restore({ owner, networks, endpoints, namespaces }: RestoreContext): Promise<RestoreResult> {
    this.owner = owner;
    const errors: unknown[] = [];
    const warnings: RestoreWarning[] = [];
    for (const { info } of networks) {
      try {
        const config = parseMacvlanOptions(info.options, info.name);
        this.networks.set(info.id, { name: info.name, config, internal: info.internal, info });
        const parent = await runOne(this.kernel, { op: 'linkGet', name: config.parent }).catch((err: unknown) => (isGone(err) ? null : Promise.reject(err)));
        if (!parent) warnings.push({ networkId: info.id, reason: `its parent interface ${config.parent} is gone: its endpoints cannot join until it is back` });
      } catch (err) {
        errors.push(err);
      }
    }
    for (const e of endpoints) this.endpoints.set(e.endpointId, { networkId: e.networkId, iface: e.iface });
    const expected = new Map(endpoints.filter((e) => e.joined).map((e) => [`${e.joined!.key} ${e.joined!.ifname}`, macvlanAlias(owner, e.endpointId)]));
    const found = new Set<string>();
    const prefix = `cnm-ts:${owner}:macvlan:`;
    // Without a macvlan network no sandbox holds anything of this driver's: a link that a crash in
    // a join left is removed at the first restart, which still has its network (a network goes
    // only after its endpoints). Each namespace is listed on its own, all at once.
    const listed = networks.length === 0 ? [] : namespaces;
    const removedPerNamespace = await Promise.all(
      listed.map(async (key) => {
        let links: LinkInfo[];
        try {
          links = await runOne(this.kernel, { op: 'linkList', netns: key });
        } catch (err) {
          errors.push(err);
          // What cannot be listed is not reported lost: its endpoints stay as they are.
          for (const e of endpoints) if (e.joined?.key === key) found.add(`${key} ${e.joined.ifname}`);
          return [];
        }
        const removedHere: string[] = [];
        for (const link of links) {
          const where = `${key} ${link.name}`;
          if (link.kind === 'macvlan' && expected.get(where) === link.alias) {
            found.add(where);
          } else if (link.kind === 'macvlan' && link.alias?.startsWith(prefix)) {
            const gone = await this.kernel.batch([{ op: 'linkDelete', netns: key, name: link.name }]).then(
              () => true,
              (err: unknown) => (isGone(err) ? true : (errors.push(err), false)),
            );
            if (gone) removedHere.push(`${link.name} in ${key}`);
          }
        }
        return removedHere;
      }),
    );
    const removed = removedPerNamespace.flat();
    const lost = endpoints.filter((e) => e.joined && !found.has(`${e.joined.key} ${e.joined.ifname}`)).map((e) => e.endpointId);
    debug('restore: %d networks, %d endpoints, %d links removed, %d lost', networks.length, endpoints.length, removed.length, lost.length);
    return { lost, removed, errors, warnings };
  }

  private async undo(ops: NativeOp[]): Promise<void> {
    for (const err of await bestEffort(this.kernel, ops)) debug('undo: %s', (err as Error).message);
  }

  private network(id: string): MacvlanNetwork {
    const network = this.networks.get(id);
    if (!network) throw new CnmError('NOT_FOUND', `macvlan driver has no network ${id}`);
    return network;
  }

  private endpoint(id: string): MacvlanEndpoint {
    const endpoint = this.endpoints.get(id);
    if (!endpoint) throw new CnmError('NOT_FOUND', `macvlan driver has no endpoint ${id}`);
    return endpoint;
  }
}
