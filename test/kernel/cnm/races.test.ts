// Operations on one sandbox are serialised and all-or-nothing: two calls started at once end in
// one of the outcomes that running them one after the other gives, as the kernel (`ip`), the
// namespace folder and the record files show; a refresh that fails at any step changes nothing.
import { existsSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { NetlinkError, type Network, type NetworkController, type Sandbox } from '../../../lib';
import { clearFault, failOperation, faultPending } from '../../../lib/testing';
import { bridgePorts, fileTree, nsAddrs, nsRoutes, useControllers, world, type CnmFixture } from '../../helpers/cnm';
import { describeKernel, eventually, isMountPoint, NETNS_DIR, uniqueName } from '../../helpers/kernel';

/** Whether `key` is a live namespace: a file in the netns folder with a mount on it. */
const isNamespace = (key: string) => readdirSync(NETNS_DIR).includes(path.basename(key)) && isMountPoint(key);

/** "fulfilled" or the error code of each settled call. */
const outcomes = (results: PromiseSettledResult<unknown>[]) =>
  results.map((r) => (r.status === 'fulfilled' ? 'fulfilled' : ((r.reason as { code?: string }).code ?? String(r.reason))));

describeKernel('races on one sandbox', () => {
  const env = useControllers();
  let f: CnmFixture;
  let c: NetworkController;
  let network: Network;
  const record = (kind: string, id: string) => path.join(kind === 'sandboxes' ? f.runFolder : f.stateDir, 'store', kind, `${id}.json`);

  beforeAll(async () => {
    f = await env.make({ predefinedNetworks: false });
    c = f.controller;
    network = await c.newNetwork('bridge', 'races', {
      driverOptions: { 'com.docker.network.bridge.name': 'cnmraces' },
      ipam: { config: [{ subnet: '10.112.0.0/24' }] },
    });
  });

  afterEach(() => clearFault());

  it('newSandbox({ shareWith }) started before sb.delete(): the sharer keeps the namespace alive', async () => {
    const sb = await c.newSandbox(uniqueName('ctr'));
    const results = await Promise.allSettled([c.newSandbox(uniqueName('side'), { shareWith: sb }), sb.delete()]);
    expect(outcomes(results)).toEqual(['fulfilled', 'fulfilled']);
    const sharer = (results[0] as PromiseFulfilledResult<Sandbox>).value;
    expect(isNamespace(sharer.key)).toBe(true);
    expect(nsAddrs(sharer.key).map((l) => l.ifname)).toEqual(['lo']);
    expect(existsSync(record('sandboxes', sharer.id))).toBe(true);
    // The last user drops it.
    await sharer.delete();
    expect(isNamespace(sharer.key)).toBe(false);
  });

  it('newSandbox({ shareWith }) started after sb.delete(): NOT_FOUND, and nothing is left', async () => {
    const sb = await c.newSandbox(uniqueName('ctr'));
    const side = uniqueName('side');
    const results = await Promise.allSettled([sb.delete(), c.newSandbox(side, { shareWith: sb })]);
    expect(outcomes(results)).toEqual(['fulfilled', 'NOT_FOUND']);
    expect(isNamespace(sb.key)).toBe(false);
    expect(c.sandboxes().map((s) => s.containerId)).not.toContain(side);
    expect(readdirSync(path.join(f.runFolder, 'store', 'sandboxes'))).toEqual([]);
    // The container id is free again.
    await (await c.newSandbox(side)).delete();
  });

  it.each(['sandbox first', 'endpoint first'])(
    'sandbox.delete() and endpoint.delete({ force }) at once (%s): both gone, no record rewritten',
    async (order) => {
      const sb = await c.newSandbox(uniqueName('ctr'));
      const ep = await network.createEndpoint(uniqueName('ep'));
      await ep.join(sb);
      expect(bridgePorts('cnmraces')).toHaveLength(1);
      const calls = [() => sb.delete(), () => ep.delete({ force: true })];
      if (order === 'endpoint first') calls.reverse();
      const results = await Promise.allSettled(calls.map((call) => call()));
      expect(outcomes(results)).toEqual(['fulfilled', 'fulfilled']);
      expect(existsSync(record('sandboxes', sb.id))).toBe(false);
      expect(existsSync(record('endpoints', ep.id))).toBe(false);
      expect(isNamespace(sb.key)).toBe(false);
      expect(network.endpoints()).toEqual([]);
      await eventually(() => bridgePorts('cnmraces'), []);
    },
  );

  it('refresh() started before delete(): the refresh completes, then the delete removes every file', async () => {
    const sb = await c.newSandbox(uniqueName('ctr'), { hostname: 'before' });
    const ep = await network.createEndpoint(uniqueName('ep'));
    await ep.join(sb);
    const results = await Promise.allSettled([sb.refresh({ hostname: 'after' }), sb.delete()]);
    expect(outcomes(results)).toEqual(['fulfilled', 'fulfilled']);
    expect(isNamespace(sb.key)).toBe(false);
    expect(existsSync(path.join(f.runFolder, 'sandboxes', sb.id))).toBe(false);
    expect(fileTree(f.etcNetnsDir)).toEqual({});
    expect(existsSync(record('sandboxes', sb.id))).toBe(false);
    expect(ep.info().sandboxId).toBeNull();
    await ep.delete();
    await eventually(() => bridgePorts('cnmraces'), []);
  });

  it('refresh() that fails at any step leaves the options, files, joins and routes as they were', async () => {
    const sb = await c.newSandbox(uniqueName('ctr'), { hostname: 'before', dns: ['10.112.0.53'] });
    const [a, b] = [await network.createEndpoint(uniqueName('ep')), await network.createEndpoint(uniqueName('ep'))];
    await a.join(sb);
    await b.join(sb, { priority: 5 });
    /** What a refresh may change: files, joins, addresses and routes in the sandbox (veth host names are new per join). */
    const view = () => {
      const { objects, etc, state } = world(f);
      const files = Object.fromEntries(Object.entries(state).filter(([name]) => !name.startsWith('store/sandboxes/')));
      const routes = nsRoutes(sb.key)
        .map((r) => `${r.dst} ${r.gateway ?? '-'} ${r.dev}`)
        .sort();
      const joins = [a, b].map((e) => `${e.name} ${e.info().interface.name} ${e.info().interface.address}`);
      return { objects, etc, files, routes, joins, ports: bridgePorts('cnmraces').length };
    };
    let failed = 0;
    for (let n = 1; n < 60; n++) {
      const before = view();
      failOperation(n);
      const result = await sb.refresh({ hostname: 'after', dns: ['10.112.0.54'] }).then(
        () => null,
        (err: Error) => err,
      );
      if (faultPending()) {
        clearFault();
        expect(result).toBeNull();
        break;
      }
      expect(result).toBeInstanceOf(NetlinkError);
      expect(view()).toEqual(before);
      failed += 1;
    }
    expect(failed).toBeGreaterThan(3);
    expect(fileTree(path.join(f.runFolder, 'sandboxes', sb.id))).toMatchObject({ hosts: expect.stringContaining('after') });
    await sb.delete();
    await Promise.all([a.delete(), b.delete()]);
  });
});
