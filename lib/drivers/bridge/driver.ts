// The bridge driver: a Linux bridge per network with the gateway address on it, one veth pair
// per joined endpoint (the container end created directly inside the sandbox), and the firewall:
// masquerade, published ports, internal networks, isolation, inter-container communication.
import createDebug from '../../util/debug';
import { CnmError } from '../../errors';
import { bestEffort, NetlinkError, runOne, type Kernel, type NativeOp, type NativeResult } from '../../native';
import { IPV6_MIN_MTU } from '../../native/vocabulary';
import { randomHex } from '../../util/ids';
import { Mutex } from '../../util/mutex';
import type {
  BoundPort,
  Driver,
  DriverOptions,
  ExternalConnectivity,
  InterfaceInfo,
  IpamData,
  JoinInfo,
  JoinSandboxOps,
  JoinTarget,
  NetworkCreateInfo,
  RestoreContext,
  RestoreResult,
  RestoreWarning,
} from '../api';
import { gatewayFor, macFor, randomMac, withoutPrefix } from '../common';
import { iccCommands, portCommands, rebuildCommands, type FirewallPort } from './firewall';
import { Forwarding, type ForwardingOptions } from './forwarding';
import { LinkReaper } from './link-reaper';
import { GATEWAY_MODE, parseBridgeOptions, type BridgeConfig } from './options';
import { familyOf, forgetFlowsOp, holdPorts, releasePorts, type ContainerFamilies } from './ports';
import { bridgeAlias, describeDevice, isOwnBridge, linkNamed, nameTaken, nameTakenBy, vethAlias, ownerGroup } from './ownership';
import { planRestore } from './restore';
import type { BridgeEndpoint, BridgeNetwork } from './types';

const debug = createDebug('cnm:bridge');

/** A bridge numbers its ports 1 to 1023 (the kernel's BR_MAX_PORTS is 1024, port 0 is reserved). */
export const MAX_BRIDGE_PORTS = 1023;

/** The network's driver-side view, from its create info. */
function describe(info: NetworkCreateInfo, config: BridgeConfig): BridgeNetwork {
  return {
    config,
    foreign: null,
    internal: info.internal,
    // The null IPAM's pool (0.0.0.0/0, no gateway) is no subnet to masquerade, and gives no route.
    subnets: [...info.ipv4, ...info.ipv6].filter((p) => p.gateway).map((p) => p.pool),
    ipv4: info.ipv4,
    ipv6: info.ipv6,
  };
}

/**
 * The pools whose gateway address goes on the bridge: not those of an isolated family (no way out
 * through the host), nor IPv4's with inhibit_ipv4 (someone else's router has it).
 */
function gatewaysOnBridge(info: NetworkCreateInfo, config: BridgeConfig): IpamData[] {
  const ipv4 = config.inhibitIpv4 || config.gatewayMode[4] === 'isolated' ? [] : info.ipv4;
  const ipv6 = config.gatewayMode[6] === 'isolated' ? [] : info.ipv6;
  return [...ipv4, ...ipv6].filter((data) => data.gateway);
}

/** The endpoint's gateways: those of the subnets its addresses are in; none on an internal network. */
function gateways(network: BridgeNetwork, endpoint: BridgeEndpoint): { gateway: string | null; gatewayIPv6: string | null } {
  if (network.internal) return { gateway: null, gatewayIPv6: null };
  return { gateway: gatewayFor(network.ipv4, endpoint.iface.address), gatewayIPv6: gatewayFor(network.ipv6, endpoint.iface.addressIPv6) };
}

/** How the endpoint's ports are published to each family: not (no address of it), routed or NATed. */
function families(network: BridgeNetwork, endpoint: BridgeEndpoint): ContainerFamilies {
  const how = (family: 4 | 6, address: string | null | undefined) => (!address ? 'none' : network.config.gatewayMode[family] === 'routed' ? 'routed' : 'nat');
  return { 4: how(4, endpoint.iface.address), 6: how(6, endpoint.iface.addressIPv6) };
}

const isGone = (err: unknown) => err instanceof NetlinkError && err.code === 'ENODEV';

/** For removals: a link that is already gone is fine. */
function unlessGone(err: unknown): void {
  if (!isGone(err)) throw err;
}

export class BridgeDriver implements Driver {
  readonly type = 'bridge';
  private readonly networks = new Map<string, BridgeNetwork>();
  private readonly endpoints = new Map<string, BridgeEndpoint>();
  /** The controller's mark (NetworkCreateInfo.owner): it names the firewall's tables. */
  private owner = '';
  /**
   * Firewall changes one at a time: a rebuild is computed and sent under it, so that an element
   * added or removed by a concurrent join or leave is never lost to a rebuild computed before it.
   */
  private readonly firewallLock = new Mutex();
  private readonly reaper: LinkReaper;
  private readonly forwarding: Forwarding;

  /** A driver whose every operation goes through `kernel`; `host` says where it records the host's forwarding. */
  constructor(
    private readonly kernel: Kernel,
    host: ForwardingOptions,
  ) {
    this.reaper = new LinkReaper(kernel);
    this.forwarding = new Forwarding(kernel, host);
  }

  /** Removes what a failed step made, logging (not throwing) what could not be removed. */
  private async undo(ops: NativeOp[]): Promise<void> {
    for (const err of await bestEffort(this.kernel, ops)) debug('undo: %s', (err as Error).message);
  }

  /**
   * Creates the bridge, marks it as the controller's (its alias), puts the gateway addresses on it
   * and brings it up (`ip link add type bridge`, `ip link set alias`, `ip addr add`), then puts the
   * network into the firewall (one nf_tables transaction).
   */
  async createNetwork(info: NetworkCreateInfo): Promise<void> {
    this.owner = info.owner;
    const config = parseBridgeOptions(info.options, `br-${info.id.slice(0, 12)}`);
    for (const family of [4, 6] as const) {
      if (config.gatewayMode[family] === 'isolated' && !info.internal) {
        throw new CnmError('INVALID_ARGUMENT', `network ${info.name}: ${GATEWAY_MODE[family]}=isolated needs an internal network`);
      }
    }
    if (info.enableIPv6 && config.mtu !== undefined && config.mtu < IPV6_MIN_MTU) {
      throw new CnmError('INVALID_ARGUMENT', `network ${info.name}: IPv6 needs an MTU of at least ${IPV6_MIN_MTU}, got ${config.mtu}`);
    }
    const existing = await linkNamed(this.kernel, config.bridgeName);
    if (existing) throw nameTaken(info.name, existing, config.defaultBridge);
    try {
      await this.makeBridge(info, config);
    } catch (err) {
      await this.putBackForwarding();
      throw err;
    }
    this.networks.set(info.id, describe(info, config));
    try {
      await this.applyFirewall();
    } catch (err) {
      this.networks.delete(info.id);
      await this.undo([{ op: 'linkDelete', name: config.bridgeName }]);
      await this.putBackForwarding();
      throw err;
    }
    debug('network %s: bridge %s', info.id.slice(0, 12), config.bridgeName);
  }

  /** After a network that failed: puts back the forwarding it switched on, if no other network needs it. */
  private async putBackForwarding(): Promise<void> {
    await this.forwarding.putBack().catch((err: unknown) => debug('forwarding: %s', (err as Error).message));
  }

  /** Makes the bridge with the network's gateway addresses, up. */
  private async makeBridge(info: NetworkCreateInfo, config: BridgeConfig): Promise<void> {
    const name = config.bridgeName;
    const ops: NativeOp[] = [
      // A MAC of its own, as Docker's: a bridge without one takes its lowest port's, so the
      // gateway's MAC would change under the containers as others join and leave, and one whose
      // neighbour entry names a port that is gone loses the gateway until the entry goes stale.
      { op: 'linkAdd', link: { kind: 'bridge', name, mtu: config.mtu, mac: randomMac(), linkGroup: ownerGroup(info.owner) } },
      // The kernel ignores an alias given at creation: it is a change of its own.
      { op: 'linkSet', name, change: { alias: bridgeAlias(info.owner, info.id) } },
      ...refuseRouterAdvertisements(name, config.mtu),
    ];
    // IPv6 without duplicate address detection, as Docker: IPAM gave the address to no one else on
    // the bridge, and it is usable at once rather than after ~2 s of DAD.
    for (const data of gatewaysOnBridge(info, config))
      ops.push({ op: 'addressAdd', name, address: data.gateway!, ...(data.gateway!.includes(':') && { nodad: true }) });
    ops.push({ op: 'linkSet', name, change: { up: true } });
    // Ports published on 127.0.0.1 are reached through the bridge (see firewall.ts).
    ops.push({ op: 'sysctlSet', key: `net/ipv4/conf/${name}/route_localnet`, value: '1' });
    // Outside access and published ports need the host to route, as Docker makes it (see forwarding.ts).
    if (!info.internal) ops.push(...(await this.forwarding.switchOnOps(info.enableIPv6)));
    try {
      await this.kernel.batch(ops);
    } catch (err) {
      if (err instanceof NetlinkError && err.index > 0) await this.undo([{ op: 'linkDelete', name }]);
      if (err instanceof NetlinkError && err.index === 0 && err.code === 'EEXIST') {
        throw new CnmError('CONFLICT', `bridge ${name} already exists`, { cause: err });
      }
      throw err;
    }
  }

  /**
   * Takes the network out of the firewall (the tables go with the last network) and removes the
   * bridge (`ip link del`), unless the device of that name is no longer the one this controller
   * made for the network.
   */
  async deleteNetwork(networkId: string): Promise<void> {
    const network = this.network(networkId);
    this.networks.delete(networkId);
    try {
      await this.applyFirewall();
      if (!network.foreign) await this.deleteOwnBridge(network.config.bridgeName, networkId);
    } catch (err) {
      this.networks.set(networkId, network);
      await this.applyFirewall().catch((e: unknown) => debug('undo: %s', (e as Error).message));
      throw err;
    }
  }

  /** Deletes the bridge if it is the one made for the network; one removed out of band is already what this wants. */
  private async deleteOwnBridge(name: string, networkId: string): Promise<void> {
    const link = await linkNamed(this.kernel, name);
    if (link && !isOwnBridge(link, this.owner, networkId)) {
      debug('network %s: %s is not its bridge, left alone', networkId.slice(0, 12), describeDevice(link));
      return;
    }
    if (link) await this.kernel.batch([{ op: 'linkDelete', name }]).catch(unlessGone);
  }

  /** Makes the firewall what the networks and endpoints need now (one transaction). */
  private applyFirewall(): Promise<unknown> {
    return this.firewallLock.run(() => this.kernel.batch([this.firewallOp()]));
  }

  /** Runs a batch under the firewall lock when it changes the firewall. */
  private inFirewallOrder(ops: NativeOp[], changesFirewall: boolean): Promise<NativeResult[]> {
    return changesFirewall ? this.firewallLock.run(() => this.kernel.batch(ops)) : this.kernel.batch(ops);
  }

  /** The nf_tables transaction that makes the firewall what the networks and endpoints need now. */
  private firewallOp(): NativeOp {
    const ports: FirewallPort[] = [];
    const noIcc: string[] = [];
    for (const e of this.endpoints.values()) {
      ports.push(...this.firewallPorts(e));
      if (e.hostIfname && !this.networks.get(e.networkId)?.config.enableIcc) noIcc.push(e.hostIfname);
    }
    // Someone else's device under a network's bridge name gets no rules.
    const networks = [...this.networks.values()]
      .filter((n) => !n.foreign)
      .map((n) => ({
        bridge: n.config.bridgeName,
        subnets: n.subnets,
        internal: n.internal,
        masquerade: n.config.enableIpMasquerade,
        modes: n.config.gatewayMode,
        snat: n.config.hostIp,
      }));
    const host = { dropOtherForwardingFor: this.forwarding.dropsOthersFor };
    return { op: 'nftTransaction', commands: rebuildCommands(this.owner, networks, ports, noIcc, host) };
  }

  /** The endpoint's published ports, each to its address of the host address's family. */
  private firewallPorts(endpoint: BridgeEndpoint): FirewallPort[] {
    const { address, addressIPv6 } = endpoint.iface;
    return endpoint.ports.map(({ binding, fd }) => ({
      proto: binding.proto,
      hostIP: binding.hostIP,
      hostPort: binding.hostPort,
      containerIP: withoutPrefix((familyOf(binding.hostIP) === 4 ? address : addressIPv6) ?? ''),
      containerPort: binding.port,
      ...(fd === null ? { routed: true } : {}),
    }));
  }

  /** Inter-container communication off: the operation that adds or removes the endpoint's bridge port. */
  private iccOps(endpoint: BridgeEndpoint, cmd: 'addElements' | 'deleteElements'): NativeOp[] {
    if (this.network(endpoint.networkId).config.enableIcc) return [];
    return [{ op: 'nftTransaction', commands: iccCommands(this.owner, cmd, [endpoint.hostIfname]) }];
  }

  /** Picks the MAC address; the veth pair is made (and named) at join. */
  async createEndpoint(networkId: string, endpointId: string, iface: InterfaceInfo, _options: DriverOptions): Promise<void> {
    this.network(networkId);
    iface.macAddress ??= macFor(iface.address);
    this.endpoints.set(endpointId, { networkId, hostIfname: '', iface, ports: [] });
  }

  /** Forgets the endpoint; ports it still holds (an unpublish that failed in a teardown) are given back. */
  async deleteEndpoint(_networkId: string, endpointId: string): Promise<void> {
    const endpoint = this.endpoints.get(endpointId);
    this.endpoints.delete(endpointId);
    if (endpoint?.ports.length) await this.unpublish(endpoint).catch((err: unknown) => debug('unpublish: %s', (err as Error).message));
  }

  /**
   * One trip to the kernel: the veth pair with the container end created inside the sandbox, the
   * host end on the bridge, addresses, the interface up and, for the gateway endpoint, the default
   * route (`ip link add ... type veth peer name ethN netns ...`, `ip addr add`, `ip route replace`),
   * then the sandbox's own operations for the join (`sandboxOps`: its record, files, resolver).
   */
  async join(networkId: string, endpointId: string, target: JoinTarget, sandboxOps?: JoinSandboxOps): Promise<JoinInfo> {
    const network = this.network(networkId);
    const endpoint = this.endpoint(endpointId);
    if (network.foreign) throw new CnmError('CONFLICT', nameTakenBy(network.config.bridgeName, network.foreign));
    // A fresh host-end name per join: after a sandbox delete, the kernel destroys the old pair in
    // the background, so reusing its name could collide (EEXIST) when the endpoint joins again.
    endpoint.hostIfname = `veth${randomHex(7)}`;
    const netns = target.key;
    const { mtu, bridgeName } = network.config;
    const ops: NativeOp[] = [
      {
        op: 'linkAdd',
        link: {
          kind: 'veth',
          name: endpoint.hostIfname,
          master: bridgeName,
          mtu,
          up: true,
          linkGroup: ownerGroup(this.owner),
          // Sandboxes start with IPv6 off for new interfaces; this one is on an IPv6 network.
          peer: { name: target.ifname, netns, mtu, mac: endpoint.iface.macAddress, ...(endpoint.iface.addressIPv6 && { ipv6: true }) },
        },
      },
      // The controller's mark, which restore goes by (the kernel ignores an alias given at creation;
      // until this op, the link group says whose the veth is). No carrier yet: switching IPv6
      // link-local off in the same message keeps the new port silent on the bridge. Below IPv6's
      // minimum MTU the kernel gives the link no IPv6 at all (and refuses the change). Hairpin: the
      // container reaches its own published ports through the host's addresses (see firewall.ts),
      // as Docker's bridges without the userland proxy do.
      {
        op: 'linkSet',
        name: endpoint.hostIfname,
        change: {
          alias: vethAlias(this.owner, endpointId, target.sandboxId),
          hairpin: true,
          ...(mtu === undefined || mtu >= IPV6_MIN_MTU ? { addrGenMode: 'none' } : {}),
        },
      },
      ...this.iccOps(endpoint, 'addElements'),
    ];
    ops.push({ op: 'linkSet', netns, name: target.ifname, change: { up: true } });
    if (endpoint.iface.address) ops.push({ op: 'addressAdd', netns, name: target.ifname, address: endpoint.iface.address });
    if (endpoint.iface.addressIPv6) {
      ops.push({ op: 'addressAdd', netns, name: target.ifname, address: endpoint.iface.addressIPv6, nodad: true });
    }
    if (target.defaultRoute) ops.push(...this.defaultRouteOps(network, endpoint, target));
    const info: JoinInfo = { ifname: target.ifname, ...gateways(network, endpoint), staticRoutes: [] };
    const own = sandboxOps?.ops(info) ?? [];
    ops.push(...own);
    let results: NativeResult[];
    try {
      results = await this.inFirewallOrder(ops, !network.config.enableIcc);
    } catch (err) {
      if (err instanceof NetlinkError && err.index > 0)
        await this.undo([...this.iccOps(endpoint, 'deleteElements'), { op: 'linkDelete', name: endpoint.hostIfname }]);
      endpoint.hostIfname = '';
      throw bridgeFull(err, bridgeName) ?? err;
    }
    sandboxOps?.done(results.slice(results.length - own.length));
    return info;
  }

  /**
   * Deletes the veth pair (`ip link del`), unless the whole namespace is about to go with it; the
   * pairs of leaves that come together go in one request (LinkReaper). A pair that vanished out of
   * band is already what this call wants.
   */
  async leave(_networkId: string, endpointId: string, _target: JoinTarget, sandboxGoing: boolean): Promise<void> {
    const endpoint = this.endpoint(endpointId);
    const icc = this.iccOps(endpoint, 'deleteElements');
    if (icc.length > 0) await this.inFirewallOrder(icc, true);
    if (!sandboxGoing && endpoint.hostIfname) {
      try {
        await this.reaper.delete(endpoint.hostIfname);
      } catch (err) {
        await this.undo(this.iccOps(endpoint, 'addElements'));
        throw err;
      }
    }
    endpoint.hostIfname = '';
  }

  /** The host end of a joined endpoint's veth pair: it goes when the sandbox's namespace is dropped. */
  hostLinks(endpointId: string): string[] {
    const hostIfname = this.endpoints.get(endpointId)?.hostIfname;
    return hostIfname ? [hostIfname] : [];
  }

  /**
   * Publishes the endpoint's ports: holds each host port (CONFLICT if taken), then adds the DNAT
   * map elements (`nft add element`). Resolves with the bindings made.
   */
  async programExternalConnectivity(networkId: string, endpointId: string, options: ExternalConnectivity): Promise<BoundPort[]> {
    const network = this.network(networkId);
    const endpoint = this.endpoint(endpointId);
    if (options.portMapping.length === 0) return [];
    await this.unpublish(endpoint);
    const held = await holdPorts(this.kernel, options.portMapping, network.config.hostBindingIpv4, families(network, endpoint));
    if (held.length === 0) return [];
    try {
      await this.firewallLock.run(() => {
        endpoint.ports = held;
        return this.kernel.batch([{ op: 'nftTransaction', commands: portCommands(this.owner, 'addElements', this.firewallPorts(endpoint)) }]);
      });
    } catch (err) {
      endpoint.ports = [];
      await releasePorts(this.kernel, held);
      throw err;
    }
    debug(
      'endpoint %s published %o',
      endpointId.slice(0, 12),
      held.map((h) => h.binding),
    );
    return held.map((h) => ({ ...h.binding }));
  }

  /**
   * Unpublishes the endpoint's ports: removes the map elements, drops their conntrack entries
   * (`conntrack -D`), and gives the host ports back.
   */
  async revokeExternalConnectivity(_networkId: string, endpointId: string): Promise<void> {
    await this.unpublish(this.endpoint(endpointId));
  }

  private async unpublish(endpoint: BridgeEndpoint): Promise<void> {
    const held = endpoint.ports;
    if (held.length === 0) return;
    await this.firewallLock.run(async () => {
      // Elements already gone (the tables were flushed out of band) are what this call wants.
      await this.kernel
        .batch([{ op: 'nftTransaction', commands: portCommands(this.owner, 'deleteElements', this.firewallPorts(endpoint)) }])
        .catch((err: unknown) => {
          if (!(err instanceof NetlinkError && err.code === 'ENOENT')) throw err;
        });
      endpoint.ports = [];
    });
    await this.kernel.batch([forgetFlowsOp(held)]).catch((err: unknown) => debug('conntrack: %s', (err as Error).message));
    await releasePorts(this.kernel, held);
  }

  /**
   * Gives back the host ports this process holds; the rules stay for the next controller. After
   * `removeAll`, puts back the forwarding that cnm-ts switched on (see forwarding.ts).
   */
  async stop({ removeAll }: { removeAll: boolean }): Promise<void> {
    for (const endpoint of this.endpoints.values()) {
      await releasePorts(this.kernel, endpoint.ports);
      endpoint.ports = [];
    }
    if (removeAll) await this.forwarding.putBack();
  }

  /** Points the sandbox's default route(s) at this endpoint's gateway (`ip route replace default`). */
  async setDefaultRoute(networkId: string, endpointId: string, target: JoinTarget): Promise<void> {
    const ops = this.defaultRouteOps(this.network(networkId), this.endpoint(endpointId), target);
    if (ops.length > 0) await this.kernel.batch(ops);
  }

  private defaultRouteOps(network: BridgeNetwork, endpoint: BridgeEndpoint, target: JoinTarget): NativeOp[] {
    const ops: NativeOp[] = [];
    const { gateway: v4, gatewayIPv6: v6 } = gateways(network, endpoint);
    for (const gateway of [v4, v6]) {
      if (gateway === null) continue;
      ops.push({ op: 'routeReplace', netns: target.key, route: { destination: 'default', gateway, dev: target.ifname } });
    }
    return ops;
  }

  endpointState(endpointId: string): unknown {
    return { hostIfname: this.endpoint(endpointId).hostIfname };
  }

  /**
   * Takes back the networks and endpoints after a restart: remakes a bridge that vanished, reports
   * joined endpoints whose veth pair is gone, and deletes the bridges marked with the owner that no
   * network has and the veths marked with it that no join claims (one link dump in all; see
   * restore.ts for what is left alone).
   */
  async restore({ owner, networks, endpoints, unreadable, unreadableSandboxes }: RestoreContext): Promise<RestoreResult> {
    this.owner = owner;
    const errors: unknown[] = [];
    await this.forwarding.load();
    for (const { info } of networks) {
      const config = parseBridgeOptions(info.options, `br-${info.id.slice(0, 12)}`);
      this.networks.set(info.id, describe(info, config));
    }
    for (const e of endpoints) {
      const hostIfname = e.joined ? String((e.state as { hostIfname?: unknown } | undefined)?.hostIfname ?? '') : '';
      this.endpoints.set(e.endpointId, { networkId: e.networkId, hostIfname, iface: e.iface, ports: [] });
    }
    const links = await runOne(this.kernel, { op: 'linkList' });
    const plan = planRestore(owner, links, this.networks, this.endpoints, { networks: new Set(unreadable), sandboxes: new Set(unreadableSandboxes) });
    const warnings: RestoreWarning[] = [];
    for (const [id, link] of plan.foreign) {
      const device = describeDevice(link);
      this.network(id).foreign = device;
      warnings.push({ networkId: id, reason: `${nameTakenBy(link.name, device)}; the network is kept, the device left alone` });
    }
    for (const { name, networkId } of plan.strays) {
      warnings.push({ networkId, reason: `veth ${name} on the network's bridge has no mark of this controller and no endpoint names it: left alone` });
    }
    // Veths made before veths were marked, named by their endpoint's join: marked now.
    const sandboxOf = new Map(endpoints.map((e) => [e.endpointId, e.joined?.sandboxId]));
    const marks: NativeOp[] = [...plan.adopt].map(([name, id]) => ({ op: 'linkSet', name, change: { alias: vethAlias(owner, id, sandboxOf.get(id)!) } }));
    // Bridges made before bridges had the owner's link group, which the firewall tells cnm-ts devices by.
    const group = ownerGroup(owner);
    const ungrouped = links.filter((l) => l.kind === 'bridge' && l.group !== group && [...this.networks.keys()].some((id) => isOwnBridge(l, owner, id)));
    marks.push(...ungrouped.map((l): NativeOp => ({ op: 'linkSet', name: l.name, change: { group } })));
    // Bridges made before bridges refused router advertisements.
    const present = [...this.networks].filter(([id]) => !plan.missingBridges.includes(id) && !plan.foreign.has(id));
    marks.push(...present.flatMap(([, n]) => refuseRouterAdvertisements(n.config.bridgeName, n.config.mtu)));
    // Bridges made before bridges had a MAC of their own (see makeBridge): the one they have now
    // becomes theirs, so that the gateway's MAC the containers know stays; a random one without ports.
    const macOf = new Map(links.map((l) => [l.name, l.mac]));
    marks.push(...present.map(([, n]): NativeOp => ({ op: 'linkSet', name: n.config.bridgeName, change: { mac: ownMac(macOf.get(n.config.bridgeName)) } })));
    errors.push(...(await bestEffort(this.kernel, marks)).filter((err) => !isGone(err)));
    for (const id of plan.missingBridges) {
      const info = networks.find((n) => n.info.id === id)!.info;
      await this.makeBridge(info, this.network(id).config).catch((err: unknown) => errors.push(err));
    }
    for (const err of await bestEffort(
      this.kernel,
      plan.remove.map((name) => ({ op: 'linkDelete', name })),
    )) {
      if (!isGone(err)) errors.push(err);
    }
    // The ports published before, held again (this process holds none yet), then the firewall as the state says.
    const published: Record<string, BoundPort[]> = {};
    for (const e of endpoints.filter((x) => x.joined && x.published.length > 0 && !plan.lost.includes(x.endpointId))) {
      try {
        const endpoint = this.endpoint(e.endpointId);
        const network = this.network(e.networkId);
        endpoint.ports = await holdPorts(this.kernel, e.published, network.config.hostBindingIpv4, families(network, endpoint));
        published[e.endpointId] = endpoint.ports.map((h) => ({ ...h.binding }));
      } catch (err) {
        errors.push(err);
      }
    }
    await this.applyFirewall().catch((err: unknown) => errors.push(err));
    debug('restore: %d networks, %d endpoints, %d links removed, %d lost', networks.length, endpoints.length, plan.remove.length, plan.lost.length);
    return { lost: plan.lost, removed: plan.remove, published, errors, warnings };
  }

  /** The host end of an endpoint's veth pair (for inspection and tests). */
  hostInterface(endpointId: string): string | undefined {
    return this.endpoints.get(endpointId)?.hostIfname;
  }

  /** The bridge device of a network. */
  bridgeName(networkId: string): string | undefined {
    return this.networks.get(networkId)?.config.bridgeName;
  }

  private network(id: string): BridgeNetwork {
    const network = this.networks.get(id);
    if (!network) throw new CnmError('NOT_FOUND', `bridge driver has no network ${id}`);
    return network;
  }

  private endpoint(id: string): BridgeEndpoint {
    const endpoint = this.endpoints.get(id);
    if (!endpoint) throw new CnmError('NOT_FOUND', `bridge driver has no endpoint ${id}`);
    return endpoint;
  }
}

/** The MAC a bridge keeps: the one it has, or a random one for none (all zero: a bridge left without ports). */
function ownMac(current: string | undefined): string {
  return current && current !== '00:00:00:00:00:00' ? current : randomMac();
}

/**
 * The host takes no IPv6 router advertisement on the bridge (`accept_ra=0`, as Docker's bridges
 * since CVE-2020-13401): a container that sends one must not give the host a default route or an
 * address. Below IPv6's minimum MTU the bridge has no IPv6 to configure.
 */
function refuseRouterAdvertisements(bridgeName: string, mtu: number | undefined): NativeOp[] {
  if (mtu !== undefined && mtu < IPV6_MIN_MTU) return [];
  return [{ op: 'sysctlSet', key: `net/ipv6/conf/${bridgeName}/accept_ra`, value: '0' }];
}

/**
 * The kernel's refusal of one port too many (EXFULL) as EXHAUSTED; the kernel took the new veth
 * pair back already.
 */
function bridgeFull(err: unknown, bridgeName: string): CnmError | null {
  if (!(err instanceof NetlinkError && err.index === 0 && err.code === 'EXFULL')) return null;
  return new CnmError('EXHAUSTED', `bridge ${bridgeName} has no free port: the kernel takes at most ${MAX_BRIDGE_PORTS} ports on a bridge`, { cause: err });
}
