// The bridge driver's gateway modes (com.docker.network.bridge.gateway_mode_ipv4 / _ipv6: nat,
// nat-unprotected, routed, isolated), the fixed SNAT source (com.docker.network.host_ipv4 /
// host_ipv6) and inhibit_ipv4, proven by traffic from an "outside" namespace and by the source
// address the outside server sees. nat itself is firewall.test.ts's and firewall-ipv6.test.ts's.
//
// The world: host 198.51.102.1/24 (and .20), 2001:db8:7::1/64 (and ::20, deprecated so that it is
// never picked as a source by itself) <-> outside 198.51.102.2/24, 2001:db8:7::2/64. IPv6
// forwarding is switched on here by the test.
import { spawnSync } from 'node:child_process';
import type { NetworkController, NetworkOptions } from '../../../lib';
import { bare, expectCode, nsRoutes } from '../../helpers/cnm';
import { expectBlocked, useOutsideWorld, servers, tcp } from '../../helpers/firewall-world';
import { describeKernel, ip, ipJson, NETNS_DIR } from '../../helpers/kernel';

const OUTSIDE_NAME = 'cnmgm-out';
const OUTSIDE = `${NETNS_DIR}/${OUTSIDE_NAME}`;
const HOST_IP = '198.51.102.1';
const HOST_SNAT = '198.51.102.20';
const OUTSIDE_IP = '198.51.102.2';
const HOST_IP6 = '2001:db8:7::1';
const HOST_SNAT6 = '2001:db8:7::20';
const OUTSIDE_IP6 = '2001:db8:7::2';
const MODE4 = 'com.docker.network.bridge.gateway_mode_ipv4';
const MODE6 = 'com.docker.network.bridge.gateway_mode_ipv6';

describeKernel('bridge gateway modes', () => {
  const { scope, controller } = useOutsideWorld({
    hostIP: HOST_IP,
    name: OUTSIDE_NAME,
    hostIfname: 'cnmgm-h',
    outsideIfname: 'cnmgm-o',
    hostAddresses: [`${HOST_IP}/24`, `${HOST_SNAT}/24`, `${HOST_IP6}/64 nodad`, `${HOST_SNAT6}/64 nodad preferred_lft 0`],
    outsideAddresses: [`${OUTSIDE_IP}/24`, `${OUTSIDE_IP6}/64 nodad`],
  });
  let c: NetworkController;
  beforeAll(() => {
    c = controller();
  });

  /** A dual-stack network 10.161.N.0/24 + fd00:161:N::/64 with these driver options. */
  async function network(name: string, n: number, driverOptions: Record<string, string>, more: Partial<NetworkOptions> = {}) {
    const made = await c.newNetwork('bridge', name, {
      enableIPv6: true,
      driverOptions,
      ipam: { config: [{ subnet: `10.161.${n}.0/24` }, { subnet: `fd00:161:${n}::/64` }] },
      ...more,
    });
    scope.defer(() => made.delete());
    return { network: made, bridge: `br-${made.id.slice(0, 12)}`, subnet: `10.161.${n}.0/24`, subnet6: `fd00:161:${n}::/64` };
  }

  /** Routes in the outside namespace to the subnets via the host (direct routing). */
  function outsideRoutes(...subnets: string[]): void {
    for (const subnet of subnets) {
      const via = subnet.includes(':') ? HOST_IP6 : HOST_IP;
      ip(['route', 'add', subnet, 'via', via], OUTSIDE);
      scope.defer(() => ip(['route', 'del', subnet, 'via', via], OUTSIDE));
    }
  }

  /** Whether an ICMP echo from the outside to `address` is answered within a second (a raw socket, as ping). */
  function pings(address: string): boolean {
    const v6 = address.includes(':');
    const script = [
      'import socket, sys',
      `s = socket.socket(socket.AF_INET6 if ${v6 ? 'True' : 'False'} else socket.AF_INET, socket.SOCK_RAW, ${v6 ? 'socket.IPPROTO_ICMPV6' : 'socket.IPPROTO_ICMP'})`,
      's.settimeout(1)',
      // Echo request, id 0x4242, seq 1; the kernel fills in the ICMPv6 checksum, ICMPv4's is computed here.
      `p = bytearray([${v6 ? 128 : 8}, 0, 0, 0, 0x42, 0x42, 0, 1])`,
      ...(v6 ? [] : ['c = sum((p[i] << 8) + p[i + 1] for i in range(0, 8, 2))', 'c = ~((c & 0xffff) + (c >> 16)) & 0xffff', 'p[2], p[3] = c >> 8, c & 0xff']),
      `s.sendto(bytes(p), ('${address}', 0))`,
      'while True:',
      '    try: d = s.recv(1500)',
      '    except socket.timeout: sys.exit(1)',
      `    if ${v6 ? 'd[0] == 129' : 'd[(d[0] & 15) * 4] == 0'}: sys.exit(0)`,
    ].join('\n');
    return spawnSync('nsenter', [`--net=${OUTSIDE}`, 'python3', '-c', script]).status === 0;
  }

  /** The bridge's addresses (`ip -j addr show dev BRIDGE`), global scope. */
  const bridgeAddresses = (bridge: string) =>
    ipJson<{ addr_info: { local: string; scope: string }[] }[]>(['addr', 'show', 'dev', bridge])
      .flatMap((l) => l.addr_info)
      .filter((a) => a.scope === 'global')
      .map((a) => a.local);

  it('nat-unprotected: an outside host with a route reaches unpublished ports too; going out is still masqueraded', async () => {
    await scope.server(OUTSIDE, servers.peer('::', 7701));
    const { network: net, subnet, subnet6 } = await network('unprotected', 1, { [MODE4]: 'nat-unprotected' });
    const a = await scope.container(c, net, 'a');
    const a6 = bare(a.endpoint.info().interface.addressIPv6);
    await scope.server(a.sandbox.key, servers.echo('::', 7702));
    outsideRoutes(subnet, subnet6);
    expect(await tcp(a.address, 7702, OUTSIDE)).toBe('hello');
    // IPv6 is still nat: protected.
    await expectBlocked(a6, 7702, OUTSIDE);
    expect(await tcp(OUTSIDE_IP, 7701, a.sandbox.key)).toBe(`::ffff:${HOST_IP}`);
    expect(await tcp(OUTSIDE_IP6, 7701, a.sandbox.key)).toBe(HOST_IP6);
  });

  it("routed: no NAT; a published port opens the container's own address and port, nothing else comes in", async () => {
    await scope.server(OUTSIDE, servers.peer('::', 7703));
    // Docker's example: IPv6 routed, IPv4 nat.
    const { network: net, subnet: natSubnet, subnet6 } = await network('routed6', 2, { [MODE6]: 'routed' });
    const a = await scope.container(c, net, 'a', { portMapping: [{ proto: 'tcp', port: 80, hostPort: 18800 }] });
    const a6 = bare(a.endpoint.info().interface.addressIPv6);
    expect(a.endpoint.info().portMapping).toEqual([
      { proto: 'tcp', port: 80, hostIP: '0.0.0.0', hostPort: 18800 },
      { proto: 'tcp', port: 80, hostIP: '::', hostPort: 0 },
    ]);
    await scope.server(a.sandbox.key, servers.peer('::', 80));
    await scope.server(a.sandbox.key, servers.echo('::', 7704));
    outsideRoutes(natSubnet, subnet6);
    // In: the published port on the container's address, with the outside's own address.
    expect(await tcp(a6, 80, OUTSIDE)).toBe(OUTSIDE_IP6);
    await expectBlocked(a6, 7704, OUTSIDE);
    await expectBlocked(HOST_IP6, 18800, OUTSIDE);
    // ICMP comes in too in routed mode (not in nat mode: IPv4 here).
    expect(pings(a6)).toBe(true);
    expect(pings(a.address)).toBe(false);
    // IPv4 is nat: the host port.
    expect(await tcp(HOST_IP, 18800, OUTSIDE)).toBe(`::ffff:${OUTSIDE_IP}`);
    // Out: the container's own IPv6 address, the host's IPv4 address.
    expect(await tcp(OUTSIDE_IP6, 7703, a.sandbox.key)).toBe(a6);
    expect(await tcp(OUTSIDE_IP, 7703, a.sandbox.key)).toBe(`::ffff:${HOST_IP}`);

    // IPv4 routed too.
    const { network: net4, subnet } = await network('routed4', 3, { [MODE4]: 'routed' });
    const b = await scope.container(c, net4, 'b', { portMapping: [{ proto: 'tcp', port: 81 }] });
    // Routed bindings come after the NATed ones, as in libnetwork.
    expect(b.endpoint.info().portMapping).toEqual([
      { proto: 'tcp', port: 81, hostIP: '::', hostPort: expect.any(Number) },
      { proto: 'tcp', port: 81, hostIP: '0.0.0.0', hostPort: 0 },
    ]);
    await scope.server(b.sandbox.key, servers.peer('::', 81));
    await scope.server(b.sandbox.key, servers.echo('::', 7705));
    outsideRoutes(subnet);
    expect(await tcp(b.address, 81, OUTSIDE)).toBe(`::ffff:${OUTSIDE_IP}`);
    await expectBlocked(b.address, 7705, OUTSIDE);
    expect(await tcp(OUTSIDE_IP, 7703, b.sandbox.key)).toBe(`::ffff:${b.address}`);

    // Unpublished at leave.
    await b.endpoint.leave(b.sandbox);
    await expectBlocked(b.address, 81, OUTSIDE);
  });

  it('isolated: no address on the bridge, no way out; only for internal networks', async () => {
    await scope.server(OUTSIDE, servers.peer('::', 7706));
    const { network: net, bridge } = await network('isolated', 4, { [MODE4]: 'isolated', [MODE6]: 'isolated' }, { internal: true });
    expect(bridgeAddresses(bridge)).toEqual([]);
    const a = await scope.container(c, net, 'a');
    const b = await scope.container(c, net, 'b');
    expect(nsRoutes(a.sandbox.key).filter((r) => r.dst === 'default')).toEqual([]);
    await scope.server(a.sandbox.key, servers.echo('::', 7707));
    // The containers talk to each other; the host has no address to reach them from, nor they it.
    expect(await tcp(a.address, 7707, b.sandbox.key)).toBe('hello');
    await expectBlocked(a.address, 7707, null);
    await expectBlocked(OUTSIDE_IP, 7706, a.sandbox.key);

    await expectCode(network('isolated-external', 5, { [MODE4]: 'isolated' }), 'INVALID_ARGUMENT');
  });

  it('host_ipv4 / host_ipv6: the outside sees the fixed source address, not the masquerade one', async () => {
    await scope.server(OUTSIDE, servers.peer('::', 7708));
    const { network: net } = await network('snat', 6, { 'com.docker.network.host_ipv4': HOST_SNAT, 'com.docker.network.host_ipv6': HOST_SNAT6 });
    const a = await scope.container(c, net, 'a');
    expect(await tcp(OUTSIDE_IP, 7708, a.sandbox.key)).toBe(`::ffff:${HOST_SNAT}`);
    expect(await tcp(OUTSIDE_IP6, 7708, a.sandbox.key)).toBe(HOST_SNAT6);
  });

  it('inhibit_ipv4: no IPv4 address on the bridge; the endpoint still gets its gateway', async () => {
    const { network: net, bridge } = await network('inhibit', 7, { 'com.docker.network.bridge.inhibit_ipv4': 'true' });
    expect(bridgeAddresses(bridge)).toEqual(['fd00:161:7::1']);
    const a = await scope.container(c, net, 'a');
    expect(a.endpoint.info().gateway).toBe('10.161.7.1');
  });

  it('refuses bad values with INVALID_ARGUMENT, naming the option', async () => {
    for (const [key, value] of [
      [MODE4, 'bogus'],
      [MODE6, 'NAT'],
      ['com.docker.network.host_ipv4', 'fd00::1'],
      ['com.docker.network.host_ipv4', '0.0.0.0'],
      ['com.docker.network.host_ipv6', HOST_SNAT],
      ['com.docker.network.bridge.inhibit_ipv4', 'maybe'],
    ]) {
      const err = await expectCode(network('bad', 8, { [key]: value }), 'INVALID_ARGUMENT');
      expect(err.message).toContain(key);
    }
    expect(c.networkByName('bad')).toBeUndefined();
  });
});
