// Check-then-create under a lock: parallel creates of one name or one subnet give exactly one
// network; 200 parallel sandbox + endpoint + join on one network give 200 working containers;
// firewall elements added by parallel joins survive networks made and deleted meanwhile.
import type { Endpoint, NetworkController, Sandbox } from '../../../lib';
import { bare, bridgePorts, hostBridges, nsAddrs, nsRoutes, useControllers } from '../../helpers/cnm';
import { describeKernel, expectTcpFromPeerAndHost, snapshot, uniqueName } from '../../helpers/kernel';
import { nftJson, ofKind } from '../../helpers/nft';

const reasons = (results: PromiseSettledResult<unknown>[]) =>
  results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => (r.reason as { code?: string }).code);

describeKernel('concurrency', () => {
  const env = useControllers();
  let c: NetworkController;

  beforeAll(async () => {
    c = (await env.make({ predefinedNetworks: false })).controller;
  });

  it('100 parallel newNetwork with one name: exactly one network and one bridge', async () => {
    const bridgesBefore = hostBridges();
    const results = await Promise.allSettled(Array.from({ length: 100 }, () => c.newNetwork('bridge', 'same-name')));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(reasons(results)).toEqual(Array(99).fill('CONFLICT'));
    const network = c.networkByName('same-name')!;
    expect(c.networks()).toEqual([network]);
    const added = hostBridges().filter((b) => !bridgesBefore.includes(b));
    expect(added).toEqual([`br-${network.id.slice(0, 12)}`]);
    // The losers reserved no pool: the next network gets the next predefined pool.
    const pool = network.info().ipam.allocated[0].pool;
    const next = await c.newNetwork('bridge', 'next');
    const [a, b] = [pool, next.info().ipam.allocated[0].pool].map((p) => Number(p.split('.')[1]));
    expect(b).toBe(a + 1);
    await next.delete();
    await network.delete();
    expect(hostBridges()).toEqual(bridgesBefore);
  });

  it('100 parallel newNetwork with one subnet and different names: exactly one', async () => {
    const bridgesBefore = hostBridges();
    const results = await Promise.allSettled(
      Array.from({ length: 100 }, (_, i) => c.newNetwork('bridge', `subnet-${i}`, { ipam: { config: [{ subnet: '10.105.0.0/24' }] } })),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(reasons(results)).toEqual(Array(99).fill('CONFLICT'));
    expect(c.networks()).toHaveLength(1);
    const [network] = c.networks();
    expect(hostBridges().filter((b) => !bridgesBefore.includes(b))).toEqual([`br-${network.id.slice(0, 12)}`]);
    await network.delete();
    expect(hostBridges()).toEqual(bridgesBefore);
  });

  describe('200 parallel containers on one /16', () => {
    const COUNT = 200;
    let sandboxes: Sandbox[] = [];
    let endpoints: Endpoint[] = [];

    afterAll(async () => {
      // Even when a test failed: the controller's stop({ removeAll }) removes anything left too.
      await Promise.allSettled(sandboxes.map((s) => s.delete()));
    });

    it('gives 200 distinct addresses, each on eth0 in its sandbox per ip', async () => {
      const network = await c.newNetwork('bridge', 'many', { ipam: { config: [{ subnet: '10.106.0.0/16' }] } });
      const made = await Promise.all(
        Array.from({ length: COUNT }, async (_, i) => {
          const sandbox = await c.newSandbox(`many-${i}`);
          const endpoint = await network.createEndpoint(`ep-${i}`);
          await endpoint.join(sandbox);
          return { sandbox, endpoint };
        }),
      );
      sandboxes = made.map((m) => m.sandbox);
      endpoints = made.map((m) => m.endpoint);
      const addresses = endpoints.map((e) => e.info().interface.address!);
      expect(new Set(addresses).size).toBe(COUNT);
      for (const a of addresses) expect(a).toMatch(/^10\.106\.\d+\.\d+\/16$/);
      expect(bridgePorts(`br-${network.id.slice(0, 12)}`)).toHaveLength(COUNT);
      expect(new Set(sandboxes.map((s) => s.key)).size).toBe(COUNT);
      for (const [i, sandbox] of sandboxes.entries()) {
        const links = nsAddrs(sandbox.key);
        expect(links.map((l) => l.ifname).sort()).toEqual(['eth0', 'lo']);
        expect(links.find((l) => l.ifname === 'eth0')!.addr_info).toEqual([
          expect.objectContaining({ family: 'inet', local: bare(addresses[i]), prefixlen: 16 }),
        ]);
      }
      for (const sandbox of [sandboxes[0], sandboxes[COUNT - 1]]) {
        expect(nsRoutes(sandbox.key)).toContainEqual(expect.objectContaining({ dst: 'default', gateway: '10.106.0.1', dev: 'eth0' }));
      }
    });

    it('carries TCP between two of them and from the host to one', async () => {
      const [a, b] = [0, COUNT - 1].map((i) => ({ netns: sandboxes[i].key, address: bare(endpoints[i].info().interface.address) }));
      await expectTcpFromPeerAndHost(a, b.netns, 7106);
    });

    it('deletes them all in parallel, leaving no namespace or port', async () => {
      const network = c.networkByName('many')!;
      const nsBefore = snapshot().namespaces.length;
      await Promise.all(sandboxes.map((s) => s.delete()));
      sandboxes = [];
      expect(snapshot().namespaces).toHaveLength(nsBefore - COUNT);
      await Promise.all(endpoints.map((e) => e.delete()));
      endpoints = [];
      expect(network.endpoints()).toEqual([]);
      await network.delete();
      expect(c.networks()).toEqual([]);
      expect(hostBridges().filter((b) => b === `br-${network.id.slice(0, 12)}`)).toEqual([]);
    });
  });

  it('serialises parallel joins of one sandbox to several networks: distinct interface names', async () => {
    const networks = await Promise.all(
      [1, 2, 3, 4, 5].map((n) => c.newNetwork('bridge', uniqueName('par'), { ipam: { config: [{ subnet: `10.105.${n}.0/24` }] } })),
    );
    const eps = await Promise.all(networks.map((n) => n.createEndpoint('ep')));
    const sandbox = await c.newSandbox(uniqueName('ctr'));
    await Promise.all(eps.map((e, i) => e.join(sandbox, { priority: i })));
    const links = nsAddrs(sandbox.key);
    expect(links.map((l) => l.ifname).sort()).toEqual(['eth0', 'eth1', 'eth2', 'eth3', 'eth4', 'lo']);
    for (const e of eps) {
      const name = e.info().interface.name;
      expect(links.find((l) => l.ifname === name)?.addr_info.map((a) => a.local)).toEqual([bare(e.info().interface.address)]);
    }
    // The highest priority (the last network) has the default route.
    expect(nsRoutes(sandbox.key).filter((r) => r.dst === 'default')).toEqual([
      expect.objectContaining({ gateway: '10.105.5.1', dev: eps[4].info().interface.name }),
    ]);
    await sandbox.delete();
    await Promise.all(eps.map((e) => e.delete()));
    await Promise.all(networks.map((n) => n.delete()));
  });

  it('keeps every published port and ICC element of 30 parallel joins while networks come and go', async () => {
    const net = await c.newNetwork('bridge', 'fw-busy', {
      driverOptions: { 'com.docker.network.bridge.enable_icc': 'false' },
      ipam: { config: [{ subnet: '10.106.0.0/24' }] },
    });
    const joins = Array.from({ length: 30 }, async (_, i) => {
      const endpoint = await net.createEndpoint(`p${i}`, { portMapping: [{ proto: 'tcp', port: 80 }] });
      await endpoint.join(await c.newSandbox(uniqueName('fwbusy')));
    });
    // Each network made or deleted rebuilds the tables meanwhile.
    const churn = (async () => {
      for (let k = 0; k < 3; k++) await (await c.newNetwork('bridge', `fw-churn-${k}`, { ipam: { config: [{ subnet: `10.107.${k}.0/24` }] } })).delete();
    })();
    await Promise.all([...joins, churn]);
    const table = ofKind<{ name: string; elem?: unknown[] }>(nftJson(['list', 'table', 'inet', `cnm-ts-${c.owner}`]), 'map');
    expect(table.find((m) => m.name === 'anyports')?.elem).toHaveLength(30);
    const icc = ofKind<{ name: string; elem?: unknown[] }>(nftJson(['list', 'table', 'bridge', `cnm-ts-${c.owner}`]), 'set');
    expect(icc.find((m) => m.name === 'noicc')?.elem).toHaveLength(30);
    for (const s of c.sandboxes()) await s.delete();
    for (const e of net.endpoints()) await e.delete();
    await net.delete();
  });
});
