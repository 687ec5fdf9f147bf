// A new controller on a state directory restores what the last one had (same ids, names, subnets,
// addresses, keys) and it keeps working; the state files are 0600 in a 0700 directory.
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { Network, NetworkController } from '../../../lib';
import { bare, bridgePorts, fileTree, nsAddrs, nsRoutes, restart, useControllers } from '../../helpers/cnm';
import { describeKernel, expectTcpFromPeerAndHost, ip, ipAddrs, ipJson, ipLink } from '../../helpers/kernel';
import { timeLimit } from '../../helpers/timing';

// The tests of this file may take this long (longer under a sanitizer).
jest.setTimeout(timeLimit(120_000));

const byId = <T extends { id: string }>(list: T[]) => [...list].sort((a, b) => a.id.localeCompare(b.id));

/**
 * A namespace's addresses without the "tentative" mark of IPv6 duplicate address detection, which
 * the kernel clears on its own clock: a slow restart (under a sanitizer) sees it gone.
 */
function addrsOf(netns: string) {
  return nsAddrs(netns).map((link) => ({
    ...link,
    addr_info: link.addr_info.map((a) => Object.fromEntries(Object.entries(a).filter(([key]) => key !== 'tentative'))),
  }));
}

/** Everything a user can see of a controller's objects, and the kernel inside its sandboxes. */
function view(c: NetworkController) {
  return {
    networks: c.networks().map((n) => ({ id: n.id, inspect: n.inspect(), endpoints: byId(n.endpoints().map((e) => e.info())) })),
    sandboxes: c.sandboxes().map((s) => ({
      id: s.id,
      containerId: s.containerId,
      mode: s.mode,
      key: s.key,
      labels: s.labels,
      endpoints: s.endpoints().map((e) => e.id),
      kernel: s.mode === 'namespace' ? { addrs: addrsOf(s.key), routes: nsRoutes(s.key) } : null,
    })),
  };
}

describeKernel('a restarted controller', () => {
  const env = useControllers();

  it('has the same networks, endpoints and sandboxes, and they keep working', async () => {
    const f = await env.make({ defaultBridgeName: 'cnmrs0' });
    const c1 = f.controller;
    const auto = await c1.newNetwork('bridge', 'auto');
    const fixed = await c1.newNetwork('bridge', 'fixed', {
      enableIPv6: true,
      labels: { team: 'x' },
      driverOptions: { 'com.docker.network.driver.mtu': '1400' },
      ipam: {
        config: [{ subnet: '10.181.0.0/24', ipRange: '10.181.0.128/25', gateway: '10.181.0.1', auxAddresses: { r: '10.181.0.200' } }, { subnet: 'fd81::/64' }],
      },
    });
    const inside = await c1.newNetwork('bridge', 'inside', { internal: true, ipam: { config: [{ subnet: '10.182.0.0/24' }] } });
    const sb1 = await c1.newSandbox('one', { hostname: 'one', dns: ['10.0.0.9'] });
    const sb2 = await c1.newSandbox('two', { labels: { role: 'db' } });
    const shared = await c1.newSandbox('three', { shareWith: sb1 });
    const host = await c1.newSandbox('four', { useDefaultSandbox: true });
    const e1 = await auto.createEndpoint('e1');
    const e2 = await fixed.createEndpoint('e2');
    const e3 = await fixed.createEndpoint('e3', { ipv4Address: '10.181.0.150' });
    const e4 = await fixed.createEndpoint('e4');
    const e5 = await inside.createEndpoint('e5');
    const eh = await c1.networkByName('host')!.createEndpoint('eh');
    await e1.join(sb1, { priority: 1 });
    await e2.join(sb1);
    await e3.join(sb2);
    await e5.join(sb2);
    await eh.join(host);
    const before = view(c1);
    const files = [fileTree(f.stateDir), fileTree(f.runFolder)];
    const taken = [e2, e3, e4].map((e) => bare(e.info().interface.address));

    // A bridge as an earlier version left it, taking router advertisements: the restart refuses them again.
    const autoAcceptRa = `/proc/sys/net/ipv6/conf/br-${auto.id.slice(0, 12)}/accept_ra`;
    expect(readFileSync(autoAcceptRa, 'utf8')).toBe('0\n');
    writeFileSync(autoAcceptRa, '1');

    const c2 = await restart(f);
    expect(readFileSync(autoAcceptRa, 'utf8')).toBe('0\n');
    const after = view(c2);
    expect(byId(after.networks)).toEqual(byId(before.networks));
    expect(byId(after.sandboxes)).toEqual(byId(before.sandboxes));
    expect(c2.restoreReport()).toMatchObject({
      networks: 6,
      endpoints: 6,
      sandboxes: 4,
      warnings: [],
      removedSandboxes: [],
      lostEndpoints: [],
      orphans: [],
      errors: [],
    });
    expect([fileTree(f.stateDir), fileTree(f.runFolder)]).toEqual(files);
    expect(c2.networkByName('bridge')!.info().driverOptions['com.docker.network.bridge.name']).toBe('cnmrs0');

    // The restored objects work: traffic, a new endpoint, leave (the gateway moves), join, deletes.
    const [r1, r2] = [c2.sandboxById(sb1.id)!, c2.sandboxById(sb2.id)!];
    const [f2, f3] = [c2.networkByName('fixed')!.endpointByName('e2')!, c2.networkByName('fixed')!.endpointByName('e3')!];
    await expectTcpFromPeerAndHost({ address: bare(f3.info().interface.address), netns: r2.key }, r1.key, 7301);
    const e6 = await c2.networkByName('fixed')!.createEndpoint('e6');
    expect(taken).not.toContain(bare(e6.info().interface.address));
    expect(bare(e6.info().interface.address)).toMatch(/^10\.181\.0\.(1[3-9]\d|2\d\d)$/);
    expect(nsRoutes(r1.key).find((r) => r.dst === 'default')?.gateway).toBe(bare(c2.networkByName('auto')!.info().ipam.allocated[0].gateway));
    await c2.networkByName('auto')!.endpointByName('e1')!.leave(r1);
    expect(nsRoutes(r1.key).find((r) => r.dst === 'default')).toMatchObject({ gateway: '10.181.0.1', dev: f2.info().interface.name });
    await e6.join(r2);
    expect(ipAddrs(e6.info().interface.name!, r2.key).map((a) => a.local)).toContain(bare(e6.info().interface.address));
    await expect(c2.networkByName('fixed')!.delete()).rejects.toMatchObject({ code: 'CONFLICT' });
    await c2.sandboxById(shared.id)!.delete();
    await r1.delete();
    await r2.delete();
    await c2.sandboxById(host.id)!.delete();
    for (const n of c2.networks().filter((n) => !['none', 'host', 'bridge'].includes(n.name))) {
      for (const e of n.endpoints()) await e.delete();
      await n.delete();
    }
    for (const e of c2.networkByName('host')!.endpoints()) await e.delete();
    expect(fileTree(path.join(f.stateDir, 'store'))).toEqual({
      'endpoints/': '',
      'networks/': '',
      ...Object.fromEntries(c2.networks().map((n) => [`networks/${n.id}.json`, expect.any(String)])),
    });
    expect(fileTree(path.join(f.runFolder, 'store'))).toEqual({ 'sandboxes/': '' });
  });

  it.each([
    ['keeps the MAC it has', false],
    ['gets a random one, having had ports and lost them all (its MAC all zero)', true],
  ])('a bridge made by an earlier version (no MAC of its own) %s, and keeps it as containers join', async (_, portsGone) => {
    const f = await env.make({ predefinedNetworks: false });
    const network = await f.controller.newNetwork('bridge', 'old', { ipam: { config: [{ subnet: '10.183.0.0/24' }] } });
    const name = `br-${network.id.slice(0, 12)}`;
    const { ifalias } = ipJson<{ ifalias: string }[]>(['-d', 'link', 'show', name])[0];
    await f.controller.stop();
    // The bridge as an earlier version made it: the kernel's random MAC, which the lowest port's replaces.
    ip(['link', 'del', name]);
    ip(['link', 'add', name, 'type', 'bridge']);
    ip(['link', 'set', name, 'alias', ifalias, 'up']);
    ip(['addr', 'add', '10.183.0.1/24', 'dev', name]);
    if (portsGone) {
      ip(['link', 'add', 'cnmrs-p0', 'master', name, 'type', 'veth', 'peer', 'name', 'cnmrs-p1']);
      ip(['link', 'del', 'cnmrs-p0']);
      expect(ipLink(name)!.address).toBe('00:00:00:00:00:00');
    }
    const before = ipLink(name)!.address;
    const c2 = await restart(f);
    const mac = ipLink(name)!.address;
    if (portsGone) expect(mac).not.toBe(before);
    else expect(mac).toBe(before);
    const restored = c2.networkByName('old')!;
    for (const id of ['a', 'b']) {
      await (await restored.createEndpoint(id)).join(await c2.newSandbox(id));
      expect(ipLink(name)!.address).toBe(mac);
    }
  });

  it('restores 500 endpoints joined to 500 sandboxes on 5 networks', async () => {
    const f = await env.make({ predefinedNetworks: false });
    const networks: Network[] = [];
    for (let k = 0; k < 5; k++) networks.push(await f.controller.newNetwork('bridge', `scale${k}`, { ipam: { config: [{ subnet: `10.${185 + k}.0.0/24` }] } }));
    for (let start = 0; start < 500; start += 50) {
      await Promise.all(
        Array.from({ length: 50 }, async (_, j) => {
          const i = start + j;
          const sandbox = await f.controller.newSandbox(`scale-${i}`);
          await (await networks[i % 5].createEndpoint(`e${i}`)).join(sandbox);
        }),
      );
    }
    const before = new Map(f.controller.networks().flatMap((n) => n.endpoints().map((e) => [e.id, JSON.stringify(e.info())])));
    const c = await restart(f);
    const report = c.restoreReport();
    console.log(`restored 500 endpoints, 500 sandboxes, 5 networks in ${report.milliseconds.toFixed(0)} ms`);
    expect(report).toMatchObject({ networks: 5, endpoints: 500, sandboxes: 500, warnings: [], orphans: [], lostEndpoints: [], errors: [] });
    const after = new Map(c.networks().flatMap((n) => n.endpoints().map((e) => [e.id, JSON.stringify(e.info())])));
    expect(after).toEqual(before);
    for (const n of c.networks()) expect(bridgePorts(`br-${n.id.slice(0, 12)}`)).toHaveLength(100);
    const sample = c.sandboxes()[250];
    expect(nsAddrs(sample.key).find((l) => l.ifname === 'eth0')?.addr_info[0].local).toBe(bare(sample.endpoints()[0].info().interface.address));
  });

  it('keeps the state directory and run folder 0700 and each record 0600, with no temporary file left', async () => {
    const f = await env.make({ predefinedNetworks: false });
    const n = await f.controller.newNetwork('bridge', 'modes', { ipam: { config: [{ subnet: '10.183.0.0/24' }] } });
    const e = await n.createEndpoint('e');
    const s = await f.controller.newSandbox('modes');
    await e.join(s);
    const records = [f.stateDir, f.runFolder].flatMap((base) =>
      Object.keys(fileTree(path.join(base, 'store')))
        .filter((p) => !p.endsWith('/'))
        .map((p) => path.join(base, 'store', p)),
    );
    expect(records.map((r) => path.relative(f.root, r).split('/').slice(0, -1).join('/')).sort()).toEqual(
      ['state/store/endpoints', 'state/store/networks', `run/${f.controller.owner}/store/sandboxes`].sort(),
    );
    for (const record of records) expect(statSync(record).mode & 0o777).toBe(0o600);
    for (const folder of ['state', 'state/store', 'state/store/networks', 'state/store/endpoints', 'run', `run/${f.controller.owner}`]) {
      expect(statSync(path.join(f.root, folder)).mode & 0o777).toBe(0o700);
    }
    for (const folder of ['store', 'store/sandboxes']) expect(statSync(path.join(f.runFolder, folder)).mode & 0o777).toBe(0o700);
    expect(records.some((r) => r.endsWith('.tmp'))).toBe(false);
    expect(bridgePorts(`br-${n.id.slice(0, 12)}`)).toHaveLength(1);
    await s.delete();
    await e.delete();
    await n.delete();
  });
});
