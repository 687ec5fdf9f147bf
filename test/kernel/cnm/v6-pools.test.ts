// IPv6 from the default pools on the real kernel: an IPv6-only network and a dual-stack network
// on the host's ULA /64s, checked with `ip -j addr` / `ip -j route` on the bridge and in the
// containers, and TCP over IPv6 from each container to the other and to the gateway.
import { readFileSync } from 'node:fs';
import type { Network, NetworkController, Sandbox } from '../../../lib';
import { deriveUlaPool } from '../../../lib/ipam/ula';
import { parsePrefix, containsPrefix } from '../../../lib/ipam/prefix';
import { bare, nsAddrs, nsRoutes, restart, useControllers } from '../../helpers/cnm';
import { describeKernel, EchoServer, ipAddrs, tcpRoundTrip, uniqueName } from '../../helpers/kernel';

/** The global addresses of a namespace's eth0 (or of a host link), as family and CIDR. */
function globalAddresses(info: { family: string; local: string; prefixlen: number; scope: string }[]): string[] {
  return info.filter((a) => a.scope === 'global').map((a) => `${a.family} ${a.local}/${a.prefixlen}`);
}
const eth0 = (sandbox: Sandbox) => nsAddrs(sandbox.key).find((l) => l.ifname === 'eth0')!;
const bridgeOf = (network: Network) => `br-${network.id.slice(0, 12)}`;

/**
 * The global addresses of the bridge and the sandboxes still in duplicate address detection: none,
 * as they are added without it (usable at once, as Docker adds them).
 */
function tentative(network: Network, sandboxes: Sandbox[]): string[] {
  return [ipAddrs(bridgeOf(network)), ...sandboxes.map((s) => eth0(s).addr_info)]
    .flat()
    .filter((a) => a.scope === 'global' && (a as { tentative?: boolean }).tentative)
    .map((a) => a.local);
}

/** Two containers on the network, joined; their IPv6 addresses. */
async function twoContainers(c: NetworkController, network: Network): Promise<{ sandboxes: Sandbox[]; addresses: string[] }> {
  const sandboxes: Sandbox[] = [];
  for (const name of ['a', 'b']) {
    const endpoint = await network.createEndpoint(name);
    const sandbox = await c.newSandbox(uniqueName('v6'));
    await endpoint.join(sandbox);
    sandboxes.push(sandbox);
  }
  expect(tentative(network, sandboxes)).toEqual([]);
  return { sandboxes, addresses: network.endpoints().map((e) => bare(e.info().interface.addressIPv6)) };
}

/** TCP over IPv6: each container reaches the other's echo server, and one on the gateway (the host's end of the bridge). */
async function expectIpv6Traffic(sandboxes: Sandbox[], addresses: string[], gateway: string, port: number): Promise<void> {
  const servers = [await EchoServer.start(addresses[0], port, sandboxes[0].key), await EchoServer.start(addresses[1], port, sandboxes[1].key)];
  servers.push(await EchoServer.start(gateway, port));
  try {
    expect(await tcpRoundTrip(addresses[1], port, sandboxes[0].key)).toBe(`hello ${addresses[1]}:${port}`);
    expect(await tcpRoundTrip(addresses[0], port, sandboxes[1].key)).toBe(`hello ${addresses[0]}:${port}`);
    expect(await tcpRoundTrip(gateway, port, sandboxes[0].key)).toBe(`hello ${gateway}:${port}`);
  } finally {
    for (const server of servers) server.stop();
  }
}

describeKernel('IPv6 from the default pools', () => {
  const controllers = useControllers();
  // An identity of this file's own, so that its ULA /48 is no other test's.
  const hostId = uniqueName('v6-pools-host');
  const ula = parsePrefix(deriveUlaPool(hostId).base);

  it('an IPv6-only network: only IPv6 on the bridge and in the containers, which reach each other and the gateway over IPv6', async () => {
    const { controller: c } = await controllers.make({ predefinedNetworks: false, hostId });
    const network = await c.newNetwork('bridge', 'v6only', { enableIPv4: false, enableIPv6: true });
    const [pool] = network.info().ipam.allocated;
    expect(network.info().ipam.allocated).toHaveLength(1);
    expect(containsPrefix(ula, parsePrefix(pool.pool))).toBe(true);
    expect(pool.pool).toMatch(/\/64$/);
    const gateway = bare(pool.gateway);
    expect(globalAddresses(ipAddrs(bridgeOf(network)))).toEqual([`inet6 ${gateway}/64`]);
    const { sandboxes, addresses } = await twoContainers(c, network);
    for (const [i, sandbox] of sandboxes.entries()) {
      expect(globalAddresses(eth0(sandbox).addr_info)).toEqual([`inet6 ${addresses[i]}/64`]);
      expect(eth0(sandbox).addr_info.filter((a) => a.family === 'inet')).toEqual([]);
      expect(nsRoutes(sandbox.key, 4)).toEqual([]);
      expect(nsRoutes(sandbox.key, 6).filter((r) => r.dst === 'default')).toEqual([expect.objectContaining({ gateway, dev: 'eth0' })]);
    }
    await expectIpv6Traffic(sandboxes, addresses, gateway, 7131);
    for (const s of sandboxes) await s.delete();
    for (const e of network.endpoints()) await e.delete();
    await network.delete();
  });

  it('a dual-stack network without an IPv6 subnet takes the next ULA /64; its containers talk over IPv6', async () => {
    const { controller: c } = await controllers.make({ predefinedNetworks: false, hostId });
    const network = await c.newNetwork('bridge', 'dual', { enableIPv6: true, ipam: { config: [{ subnet: '10.131.0.0/24' }] } });
    const [v4, v6] = network.info().ipam.allocated;
    expect(v4.pool).toBe('10.131.0.0/24');
    expect(containsPrefix(ula, parsePrefix(v6.pool))).toBe(true);
    const gateway = bare(v6.gateway);
    expect(globalAddresses(ipAddrs(bridgeOf(network))).sort()).toEqual(['inet 10.131.0.1/24', `inet6 ${gateway}/64`]);
    const { sandboxes, addresses } = await twoContainers(c, network);
    expect(globalAddresses(eth0(sandboxes[0]).addr_info).sort()).toEqual(['inet 10.131.0.2/24', `inet6 ${addresses[0]}/64`]);
    await expectIpv6Traffic(sandboxes, addresses, gateway, 7132);
    for (const s of sandboxes) await s.delete();
    for (const e of network.endpoints()) await e.delete();
    await network.delete();
  });

  it('two controllers with one host identity never share a /64: the second skips the subnet the first routes', async () => {
    const first = await controllers.make({ predefinedNetworks: false, hostId });
    const second = await controllers.make({ predefinedNetworks: false, hostId });
    const a = await first.controller.newNetwork('bridge', 'a', { enableIPv4: false, enableIPv6: true });
    const b = await second.controller.newNetwork('bridge', 'b', { enableIPv4: false, enableIPv6: true });
    const [poolA, poolB] = [a, b].map((n) => n.info().ipam.allocated[0].pool);
    expect(poolB).not.toBe(poolA);
    expect([poolA, poolB].every((p) => containsPrefix(ula, parsePrefix(p)))).toBe(true);
    await a.delete();
    await b.delete();
  });

  it('without hostId, the ULA /48 is derived from /etc/machine-id; a restart keeps the network and its addresses', async () => {
    const machineId = readFileSync('/etc/machine-id', 'utf8').trim();
    const f = await controllers.make({ predefinedNetworks: false, defaultAddressPools: [{ base: '10.132.0.0/16', size: 24 }] });
    const network = await f.controller.newNetwork('bridge', 'machine', { enableIPv6: true });
    const allocated = network.info().ipam.allocated;
    const [v4, v6] = allocated;
    expect(v4.pool).toBe('10.132.0.0/24');
    expect(containsPrefix(parsePrefix(deriveUlaPool(machineId).base), parsePrefix(v6.pool))).toBe(true);
    const sandbox = await f.controller.newSandbox(uniqueName('v6'));
    await (await network.createEndpoint('e')).join(sandbox);
    const before = globalAddresses(eth0(sandbox).addr_info).sort();
    const c = await restart(f);
    const again = c.networkByName('machine')!;
    expect(again.info().ipam.allocated).toEqual(allocated);
    expect(globalAddresses(eth0(c.sandboxById(sandbox.id)!).addr_info).sort()).toEqual(before);
    expect(globalAddresses(ipAddrs(bridgeOf(again))).sort()).toEqual([`inet ${bare(v4.gateway)}/24`, `inet6 ${bare(v6.gateway)}/64`]);
  });
});
