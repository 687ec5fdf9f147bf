// The bridge firewall for IPv6 (enableIPv6 networks) proven by real traffic: NAT66, published
// ports over IPv6 ([::] and a specific host address, and the both-families default), the nat-mode
// drops, internal networks, hairpin through the host's IPv6 address; and the rules as `nft -j` lists them.
//
// The world: the test's own namespace stands for the host; an "outside" namespace stands for the
// internet, linked to the host by a veth pair (host 198.51.101.1/24, 2001:db8:6::1/64 and
// 2001:db8:6::10/64 <-> outside 198.51.101.2/24, 2001:db8:6::2/64). The outside has no route to
// the container subnets, so only masquerade and DNAT make replies possible (except where a test
// adds one). IPv6 forwarding is switched on here by the test (forwarding.ts's job, not this file's).
import type { Network, NetworkController } from '../../../lib';
import { bare, nsRoutes } from '../../helpers/cnm';
import { conntrack, expectBlocked, useOutsideWorld, ownTable, servers, tcp, udp } from '../../helpers/firewall-world';
import { describeKernel, ip, NETNS_DIR, othersCanBind } from '../../helpers/kernel';

const OUTSIDE_NAME = 'cnmfw6-out';
const OUTSIDE = `${NETNS_DIR}/${OUTSIDE_NAME}`;
const HOST_IP = '198.51.101.1';
const HOST_IP6 = '2001:db8:6::1';
/** A second IPv6 address of the host, for ports published on one address only. */
const HOST_IP6_OTHER = '2001:db8:6::10';
const OUTSIDE_IP6 = '2001:db8:6::2';

describeKernel('bridge firewall, IPv6', () => {
  const { scope, controller } = useOutsideWorld({
    hostIP: HOST_IP,
    name: OUTSIDE_NAME,
    hostIfname: 'cnmfw6-h',
    outsideIfname: 'cnmfw6-o',
    // The other address is deprecated: the host's own, but never picked as a source (NAT66 shows HOST_IP6).
    hostAddresses: [`${HOST_IP}/24`, `${HOST_IP6}/64 nodad`, `${HOST_IP6_OTHER}/64 nodad preferred_lft 0`],
    outsideAddresses: ['198.51.101.2/24', `${OUTSIDE_IP6}/64 nodad`],
  });
  let c: NetworkController;
  beforeAll(() => {
    c = controller();
  });

  /** A dual-stack network 10.160.N.0/24 + fd00:160:N::/64. */
  async function network(name: string, n: number, options: { internal?: boolean; driverOptions?: Record<string, string> } = {}) {
    const net = await c.newNetwork('bridge', name, {
      enableIPv6: true,
      internal: options.internal,
      driverOptions: options.driverOptions ?? {},
      ipam: { config: [{ subnet: `10.160.${n}.0/24` }, { subnet: `fd00:160:${n}::/64` }] },
    });
    scope.defer(() => net.delete());
    return { network: net, subnet6: `fd00:160:${n}::/64`, gateway6: `fd00:160:${n}::1` };
  }

  /** A container on `net` with its IPv6 address. */
  async function container(net: Network, name: string, portMapping: { proto: 'tcp' | 'udp'; port: number; hostPort?: number; hostIP?: string }[] = []) {
    const made = await scope.container(c, net, name, { portMapping });
    return { ...made, address6: bare(made.endpoint.info().interface.addressIPv6) };
  }

  /** A route in the outside namespace to an IPv6 subnet via the host (as a LAN host might have). */
  function outsideRoute6(subnet: string): void {
    ip(['-6', 'route', 'add', subnet, 'via', HOST_IP6], OUTSIDE);
    scope.defer(() => ip(['-6', 'route', 'del', subnet, 'via', HOST_IP6], OUTSIDE));
  }

  /** The elements of one of the controller's maps, as `nft -j` lists them. */
  const mapElements = (name: string) =>
    ownTable(c.owner)
      .filter((o) => 'map' in o && (o.map as { name: string }).name === name)
      .flatMap((o) => (o.map as { elem?: unknown[] }).elem ?? []);

  it('NAT66: the outside sees the host IPv6 address; without masquerade, the container', async () => {
    await scope.server(OUTSIDE, servers.peer('::', 7601));
    const { network: masq, gateway6 } = await network('masq6', 1);
    const a = await container(masq, 'a');
    expect(nsRoutes(a.sandbox.key, 6)).toContainEqual(expect.objectContaining({ dst: 'default', gateway: gateway6 }));
    expect(await tcp(OUTSIDE_IP6, 7601, a.sandbox.key)).toBe(HOST_IP6);
    // IPv4 goes on as before.
    expect(await tcp('198.51.101.2', 7601, a.sandbox.key)).toBe(`::ffff:${HOST_IP}`);

    const { network: plain, subnet6 } = await network('nomasq6', 2, { driverOptions: { 'com.docker.network.bridge.enable_ip_masquerade': 'false' } });
    const b = await container(plain, 'b');
    // No route back from the outside: nothing can answer.
    await expectBlocked(OUTSIDE_IP6, 7601, b.sandbox.key);
    outsideRoute6(subnet6);
    expect(await tcp(OUTSIDE_IP6, 7601, b.sandbox.key)).toBe(b.address6);

    // The rules: one masquerade per IPv6 subnet going out and one for hairpin, none for the unmasqueraded one.
    const masquerades = (prefix: string) =>
      ownTable(c.owner)
        .filter((o) => 'rule' in o)
        .map((o) => JSON.stringify(o.rule))
        .filter((r) => r.includes('"masquerade"') && r.includes(`"${prefix}"`) && r.includes('"ip6"'));
    expect(masquerades('fd00:160:1::')).toHaveLength(2);
    expect(masquerades('fd00:160:2::')).toHaveLength(1);
  });

  it('publishes over IPv6: [::] and 0.0.0.0 by default, a specific IPv6 host address, from outside and from the host', async () => {
    const { network: net } = await network('pub6', 3);
    const web = await container(net, 'web', [
      { proto: 'tcp', port: 80, hostPort: 18700 },
      { proto: 'tcp', port: 81, hostPort: 18701, hostIP: HOST_IP6_OTHER },
      { proto: 'tcp', port: 82, hostPort: 18702, hostIP: '::' },
    ]);
    // Docker's default binding on a dual-stack network: both any-addresses, the same host port.
    expect(web.endpoint.info().portMapping).toEqual([
      { proto: 'tcp', port: 80, hostIP: '0.0.0.0', hostPort: 18700 },
      { proto: 'tcp', port: 80, hostIP: '::', hostPort: 18700 },
      { proto: 'tcp', port: 81, hostIP: HOST_IP6_OTHER, hostPort: 18701 },
      { proto: 'tcp', port: 82, hostIP: '::', hostPort: 18702 },
    ]);
    for (const port of [80, 81, 82]) await scope.server(web.sandbox.key, servers.peer('::', port));

    // From outside over IPv6, keeping the outside's address (DNAT, no SNAT on the way in); and over IPv4.
    expect(await tcp(HOST_IP6, 18700, OUTSIDE)).toBe(OUTSIDE_IP6);
    expect(await tcp(HOST_IP6_OTHER, 18700, OUTSIDE)).toBe(OUTSIDE_IP6);
    expect(await tcp(HOST_IP, 18700, OUTSIDE)).toBe('::ffff:198.51.101.2');
    // From the host itself.
    expect(await tcp(HOST_IP6, 18700, null)).toBe(HOST_IP6);
    // The specific address only.
    expect(await tcp(HOST_IP6_OTHER, 18701, OUTSIDE)).toBe(OUTSIDE_IP6);
    await expectBlocked(HOST_IP6, 18701, OUTSIDE);
    // [::]: IPv6 only.
    expect(await tcp(HOST_IP6, 18702, OUTSIDE)).toBe(OUTSIDE_IP6);
    await expectBlocked(HOST_IP, 18702, OUTSIDE);
    expect(othersCanBind('tcp', '::', 18700)).toBe(false);
    expect(othersCanBind('tcp', '0.0.0.0', 18702)).toBe(true);

    // The IPv6 maps hold the container's IPv6 address, the IPv4 one its IPv4 address.
    const element = (host: string | null, port: number, container: string, containerPort: number) => [
      { concat: [...(host ? [host] : []), 'tcp', port] },
      { concat: [container, containerPort] },
    ];
    expect(mapElements('anyports6')).toEqual([element(null, 18700, web.address6, 80), element(null, 18702, web.address6, 82)]);
    expect(mapElements('hostports6')).toEqual([element(HOST_IP6_OTHER, 18701, web.address6, 81)]);
    expect(mapElements('anyports')).toEqual([element(null, 18700, web.address, 80)]);

    await web.endpoint.leave(web.sandbox);
    await expectBlocked(HOST_IP6, 18700, OUTSIDE);
    await expectBlocked(HOST_IP6_OTHER, 18701, OUTSIDE);
    await expectBlocked(HOST_IP6, 18702, OUTSIDE);
    expect([...mapElements('anyports6'), ...mapElements('hostports6'), ...mapElements('anyports')]).toEqual([]);
    expect(othersCanBind('tcp', '::', 18700)).toBe(true);
  });

  it("publishes UDP over IPv6; a leave drops the published port's IPv6 conntrack entries", async () => {
    const { network: net } = await network('udp6', 7);
    const one = await container(net, 'one', [{ proto: 'udp', port: 9999, hostPort: 18740 }]);
    await scope.server(one.sandbox.key, servers.udpEcho(9999, 'one:', '::'));
    expect(await udp(HOST_IP6, 18740, OUTSIDE, 'ping', 40740)).toBe('one:ping');
    const flows = () => conntrack().filter((l) => l.includes('ipv6') && l.includes('dport=18740'));
    // The reply tuple: from the container's port (the kernel writes IPv6 addresses in full here).
    expect(flows()).toEqual([expect.stringContaining('sport=9999 dport=40740')]);
    await one.endpoint.leave(one.sandbox);
    expect(flows()).toEqual([]);
  });

  it('nat mode for IPv6: an outside host with a route to the subnet reaches published ports only', async () => {
    const { network: net, subnet6 } = await network('natmode6', 4);
    const a = await container(net, 'a', [{ proto: 'tcp', port: 80, hostPort: 18710 }]);
    await scope.server(a.sandbox.key, servers.echo('::', 80));
    await scope.server(a.sandbox.key, servers.echo('::', 7602));
    outsideRoute6(subnet6);
    await expectBlocked(a.address6, 7602, OUTSIDE);
    await expectBlocked(a.address6, 80, OUTSIDE);
    expect(await tcp(HOST_IP6, 18710, OUTSIDE)).toBe('hello');
    // The servers are up: the host reaches them directly.
    expect(await tcp(a.address6, 7602, null)).toBe('hello');
  });

  it('internal: no IPv6 way out of or into the bridge, even with routes', async () => {
    await scope.server(OUTSIDE, servers.peer('::', 7603));
    const { network: net, subnet6, gateway6 } = await network('internal6', 5, { internal: true });
    const i = await container(net, 'i');
    expect(nsRoutes(i.sandbox.key, 6).filter((r) => r.dst === 'default')).toEqual([]);
    // As a container with NET_ADMIN could: a default route via the bridge, and a route back.
    ip(['-6', 'route', 'add', 'default', 'via', gateway6], i.sandbox.key);
    outsideRoute6(subnet6);
    await expectBlocked(OUTSIDE_IP6, 7603, i.sandbox.key);
    await scope.server(i.sandbox.key, servers.echo('::', 7604));
    await expectBlocked(i.address6, 7604, OUTSIDE);
    // The server is up: the sandbox itself reaches it.
    expect(await tcp(i.address6, 7604, i.sandbox.key)).toBe('hello');
  });

  it("hairpin over IPv6: containers reach their network's published port through the host IPv6 address", async () => {
    const { network: net, gateway6 } = await network('hairpin6', 6);
    const a = await container(net, 'a', [{ proto: 'tcp', port: 80, hostPort: 18720 }]);
    const b = await container(net, 'b');
    await scope.server(a.sandbox.key, servers.peer('::', 80));
    // Masqueraded to the bridge's address, so that the answer goes back through the host.
    expect(await tcp(HOST_IP6, 18720, a.sandbox.key)).toBe(gateway6);
    expect(await tcp(HOST_IP6, 18720, b.sandbox.key)).toBe(gateway6);
  });
});
