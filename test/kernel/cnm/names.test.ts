// Names and container ids are labels, never paths: names like '../../etc/x' work as names, and
// every file the controller writes is under its state, run or /etc/netns directory, named by ids.
import { readdirSync } from 'node:fs';
import * as path from 'node:path';
import { fileTree, useControllers } from '../../helpers/cnm';
import { describeKernel, NETNS_DIR } from '../../helpers/kernel';

const HOSTILE = ['../../etc/x', 'a/b', '.', '..', '/tmp/evil'];

describeKernel('names that look like paths', () => {
  const env = useControllers();

  it('are taken as names and never become file, namespace or interface names', async () => {
    const f = await env.make({ predefinedNetworks: false });
    const c = f.controller;
    const sandboxes = [];
    const records: string[] = [];
    const sandboxRecords: string[] = [];
    for (const [i, name] of HOSTILE.entries()) {
      const network = await c.newNetwork('bridge', name, { ipam: { config: [{ subnet: `10.160.${i}.0/24` }] } });
      const endpoint = await network.createEndpoint(name);
      const sandbox = await c.newSandbox(name, { hostname: 'h' });
      await endpoint.join(sandbox);
      sandboxes.push(sandbox);
      records.push(`store/networks/${network.id}.json`, `store/endpoints/${endpoint.id}.json`);
      sandboxRecords.push(`store/sandboxes/${sandbox.id}.json`);
      expect(c.networkByName(name)).toBe(network);
      expect(network.endpointByName(name)).toBe(endpoint);
    }
    const ids = sandboxes.map((s) => s.id).sort();
    // State: the lock, store/{networks,endpoints}/<64 hex id>.json; run folder:
    // sandboxes/<64 hex id>/{hosts,resolv.conf}, store/sandboxes/<64 hex id>.json;
    // /etc/netns: cnm-<8 hex>-<12 hex>/...
    expect(Object.keys(fileTree(f.stateDir)).sort()).toEqual(['lock', 'store/', 'store/networks/', 'store/endpoints/', ...records].sort());
    expect(Object.keys(fileTree(f.runFolder)).sort()).toEqual(
      [
        'sandboxes/',
        'store/',
        'store/sandboxes/',
        ...sandboxRecords,
        ...ids.flatMap((id) => [`sandboxes/${id}/`, `sandboxes/${id}/hosts`, `sandboxes/${id}/resolv.conf`]),
      ].sort(),
    );
    const nsNames = sandboxes.map((s) => path.basename(s.key)).sort();
    expect(nsNames.every((n) => /^cnm-[0-9a-f]{8}-[0-9a-f]{12}$/.test(n))).toBe(true);
    expect(readdirSync(NETNS_DIR).sort()).toEqual(nsNames);
    expect(readdirSync(f.etcNetnsDir).sort()).toEqual(nsNames);
    for (const s of sandboxes) await s.delete();
    expect(readdirSync(NETNS_DIR)).toEqual([]);
  });
});
