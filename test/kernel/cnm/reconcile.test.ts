// At start, a controller checks what it restored against the kernel and cleans up after a crash:
// sandboxes whose namespace is gone, endpoints whose interface is gone, bridges that vanished,
// networks that were being deleted, and links / namespaces / folders marked as its own that no
// record refers to. Objects of other owners, and the host's own namespace, are never touched.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { StateWarning } from '../../../lib';
import { bridgePorts, fileTree, nsAddrs, nsRoutes, restart, useControllers, type CnmFixture } from '../../helpers/cnm';
import { describeKernel, eventually, hostHasLink, ip, ipAddrs, ipLink, isMountPoint, NETNS_DIR } from '../../helpers/kernel';

/** A bridge network with one endpoint joined to one sandbox. */
async function joined(f: CnmFixture, name: string, subnet: string) {
  const network = await f.controller.newNetwork('bridge', name, { ipam: { config: [{ subnet }] } });
  const endpoint = await network.createEndpoint(`${name}-ep`);
  const sandbox = await f.controller.newSandbox(name, { hostname: name });
  await endpoint.join(sandbox);
  const bridge = `br-${network.id.slice(0, 12)}`;
  return { network, endpoint, sandbox, bridge, veth: bridgePorts(bridge)[0] };
}

const recordFile = (f: CnmFixture, kind: string, id: string) => path.join(kind === 'sandboxes' ? f.runFolder : f.stateDir, 'store', kind, `${id}.json`);
const FAKE_ID = 'f'.repeat(64);

describeKernel('cleanup at start', () => {
  const env = useControllers();
  const undo: string[][] = [];
  env.later(() => {
    for (const args of undo.reverse()) ip(args);
  });

  it('removes a sandbox whose namespace is gone; its endpoint stays, not joined, and can join again', async () => {
    const f = await env.make({ predefinedNetworks: false });
    const { endpoint, sandbox, bridge } = await joined(f, 'nsgone', '10.191.0.0/24');
    const name = path.basename(sandbox.key);
    const address = endpoint.info().interface.address;
    await f.controller.stop();
    ip(['netns', 'delete', name]);
    const c = await restart(f);
    expect(c.restoreReport()).toMatchObject({ removedSandboxes: [sandbox.id], lostEndpoints: [], errors: [] });
    expect(c.sandboxes()).toEqual([]);
    const e = c.networkByName('nsgone')!.endpointByName('nsgone-ep')!;
    expect(e.info()).toMatchObject({ sandboxId: null, interface: { address } });
    expect(existsSync(path.join(f.runFolder, 'sandboxes', sandbox.id))).toBe(false);
    expect(existsSync(path.join(f.etcNetnsDir, name))).toBe(false);
    expect(readdirSync(path.join(f.runFolder, 'store', 'sandboxes'))).toEqual([]);
    await eventually(() => bridgePorts(bridge), []);
    const again = await c.newSandbox('nsgone-again');
    await e.join(again);
    expect(nsAddrs(again.key).find((l) => l.ifname === 'eth0')?.addr_info[0].local).toBe('10.191.0.2');
  });

  it('marks an endpoint whose veth was deleted as not joined, and keeps its sandbox', async () => {
    const f = await env.make({ predefinedNetworks: false });
    const { sandbox, veth } = await joined(f, 'vethgone', '10.192.0.0/24');
    await f.controller.stop();
    ip(['link', 'delete', veth]);
    const c = await restart(f);
    const e = c.networkByName('vethgone')!.endpointByName('vethgone-ep')!;
    expect(c.restoreReport()).toMatchObject({ removedSandboxes: [], lostEndpoints: [e.id], orphans: [], errors: [] });
    const s = c.sandboxById(sandbox.id)!;
    expect(s.endpoints()).toEqual([]);
    expect(nsAddrs(s.key).map((l) => l.ifname)).toEqual(['lo']);
    await e.join(s);
    expect(nsAddrs(s.key).map((l) => l.ifname)).toEqual(['lo', 'eth0']);
  });

  it('puts back the default route and hosts file that a crash in the middle of a leave changed', async () => {
    const f = await env.make({ predefinedNetworks: false });
    const { sandbox, endpoint } = await joined(f, 'midleave', '10.201.0.0/24');
    const other = await f.controller.newNetwork('bridge', 'midleave2', { ipam: { config: [{ subnet: '10.202.0.0/24' }] } });
    await (await other.createEndpoint('second')).join(sandbox, { priority: -1 });
    const hostsFile = path.join(f.runFolder, 'sandboxes', sandbox.id, 'hosts');
    const hosts = readFileSync(hostsFile, 'utf8');
    expect(hosts).toContain('10.201.0.2');
    await f.controller.stop();
    // As a leave of the first endpoint leaves them before its record is written.
    ip(['route', 'replace', 'default', 'via', '10.202.0.1', 'dev', 'eth1'], sandbox.key);
    writeFileSync(hostsFile, hosts.replace(/^10\.201\.0\.2\t.*\n/m, ''));
    const c = await restart(f);
    expect(nsRoutes(sandbox.key).find((r) => r.dst === 'default')).toMatchObject({ gateway: '10.201.0.1', dev: 'eth0' });
    expect(readFileSync(hostsFile, 'utf8')).toBe(hosts);
    expect(
      c
        .sandboxById(sandbox.id)!
        .endpoints()
        .map((e) => e.id),
    ).toContain(endpoint.id);
  });

  it('makes a bridge that vanished again, with its gateway, and drops the veths it left', async () => {
    const f = await env.make({ predefinedNetworks: false });
    const { sandbox, bridge, veth } = await joined(f, 'brgone', '10.193.0.0/24');
    await f.controller.stop();
    ip(['link', 'delete', bridge]);
    const c = await restart(f);
    const e = c.networkByName('brgone')!.endpointByName('brgone-ep')!;
    expect(c.restoreReport()).toMatchObject({ lostEndpoints: [e.id], orphans: [veth], errors: [] });
    expect(
      ipAddrs(bridge)
        .filter((a) => a.family === 'inet')
        .map((a) => `${a.local}/${a.prefixlen}`),
    ).toEqual(['10.193.0.1/24']);
    expect(ipLink(bridge)?.flags).toContain('UP');
    expect(hostHasLink(veth)).toBe(false);
    expect(nsAddrs(sandbox.key).map((l) => l.ifname)).toEqual(['lo']);
    await e.join(c.sandboxById(sandbox.id)!);
    expect(bridgePorts(bridge)).toHaveLength(1);
  });

  it('finishes a network delete that a crash cut short: its bridge and veths go', async () => {
    const f = await env.make({ predefinedNetworks: false });
    const { network, endpoint, sandbox, bridge, veth } = await joined(f, 'halfway', '10.194.0.0/24');
    await f.controller.stop();
    // A crash after the endpoint's and the network's records were removed, before the kernel work.
    rmSync(recordFile(f, 'endpoints', endpoint.id));
    rmSync(recordFile(f, 'networks', network.id));
    const c = await restart(f);
    expect(c.restoreReport().orphans.sort()).toEqual([bridge, veth].sort());
    expect(hostHasLink(bridge)).toBe(false);
    expect(hostHasLink(veth)).toBe(false);
    expect(c.networks()).toEqual([]);
    expect(nsAddrs(c.sandboxById(sandbox.id)!.key).map((l) => l.ifname)).toEqual(['lo']);
  });

  it("removes links, namespaces and folders marked as its own that no record has, and nobody else's", async () => {
    const f = await env.make({ predefinedNetworks: false });
    const { bridge } = await joined(f, 'orphans', '10.195.0.0/24');
    const owner = f.controller.owner;
    await f.controller.stop();
    // Left by a crash: a bridge of a network never recorded, a veth with its mark on a live bridge,
    // a namespace and its /etc/netns folder, a sandbox folder.
    ip(['link', 'add', 'br-orphan', 'type', 'bridge']);
    ip(['link', 'set', 'br-orphan', 'alias', `cnm-ts:${owner}:${FAKE_ID}`]);
    ip(['link', 'add', 'vethorphan', 'type', 'veth', 'peer', 'name', 'vethorphan2']);
    ip(['link', 'set', 'vethorphan', 'master', bridge, 'alias', `cnm-ts:${owner}:${FAKE_ID}:${FAKE_ID}`]);
    ip(['netns', 'add', `cnm-${owner}-0123456789ab`]);
    mkdirSync(path.join(f.etcNetnsDir, `cnm-${owner}-0123456789ab`), { recursive: true });
    writeFileSync(path.join(f.etcNetnsDir, `cnm-${owner}-0123456789ab`, 'hosts'), '');
    mkdirSync(path.join(f.runFolder, 'sandboxes', FAKE_ID));
    writeFileSync(path.join(f.runFolder, 'sandboxes', FAKE_ID, 'hosts'), '');
    // Not its own: Docker's kind of bridge, another controller's bridge and namespace.
    ip(['link', 'add', 'br-0123456789ab', 'type', 'bridge']);
    ip(['link', 'add', 'br-other', 'type', 'bridge']);
    ip(['link', 'set', 'br-other', 'alias', `cnm-ts:00000000:${FAKE_ID}`]);
    ip(['netns', 'add', 'cnm-00000000-0123456789ab']);
    undo.push(['link', 'delete', 'br-0123456789ab'], ['link', 'delete', 'br-other'], ['netns', 'delete', 'cnm-00000000-0123456789ab']);

    const c = await restart(f);
    expect(c.restoreReport().orphans.sort()).toEqual(
      ['br-orphan', 'vethorphan', `${NETNS_DIR}/cnm-${owner}-0123456789ab`, path.join(f.runFolder, 'sandboxes', FAKE_ID)].sort(),
    );
    for (const gone of ['br-orphan', 'vethorphan', 'vethorphan2']) expect(hostHasLink(gone)).toBe(false);
    expect(existsSync(path.join(f.etcNetnsDir, `cnm-${owner}-0123456789ab`))).toBe(false);
    expect(existsSync(path.join(f.runFolder, 'sandboxes', FAKE_ID))).toBe(false);
    expect(readdirSync(NETNS_DIR)).not.toContain(`cnm-${owner}-0123456789ab`);
    for (const kept of ['br-0123456789ab', 'br-other']) expect(hostHasLink(kept)).toBe(true);
    expect(readdirSync(NETNS_DIR)).toContain('cnm-00000000-0123456789ab');
    expect(bridgePorts(bridge)).toHaveLength(1);
  });

  it('with liveRestore off, removes every sandbox at start; endpoints stay, not joined', async () => {
    const f = await env.make({ predefinedNetworks: false });
    const one = await joined(f, 'live1', '10.196.0.0/24');
    const two = await joined(f, 'live2', '10.197.0.0/24');
    const c = await restart(f, { liveRestore: false });
    expect(c.restoreReport().removedSandboxes.sort()).toEqual([one.sandbox.id, two.sandbox.id].sort());
    expect(c.sandboxes()).toEqual([]);
    expect(readdirSync(NETNS_DIR).filter((n) => n.includes(c.owner))).toEqual([]);
    for (const x of [one, two]) {
      expect(c.networkById(x.network.id)!.endpointById(x.endpoint.id)!.info().sandboxId).toBeNull();
      await eventually(() => bridgePorts(x.bridge), []);
    }
    expect(fileTree(path.join(f.runFolder, 'store', 'sandboxes'))).toEqual({});
  });

  it('skips state files that are truncated, not JSON, of another version or left over, and warns of each', async () => {
    const f = await env.make({ predefinedNetworks: false });
    const good = await f.controller.newNetwork('bridge', 'good', { ipam: { config: [{ subnet: '10.198.0.0/24' }] } });
    const kept = await f.controller.newNetwork('bridge', 'kept', { ipam: { config: [{ subnet: '10.199.0.0/24' }] } });
    const keptRecord = readFileSync(recordFile(f, 'networks', kept.id), 'utf8');
    await f.controller.stop();
    const id = (n: number) => String(n).repeat(64);
    const put = (file: string, content: string) => {
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, content);
    };
    put(recordFile(f, 'networks', kept.id), keptRecord.slice(0, 40));
    put(recordFile(f, 'networks', id(1)), 'not json at all');
    put(recordFile(f, 'endpoints', id(2)), JSON.stringify({ version: 99, kind: 'endpoint', id: id(2) }));
    put(recordFile(f, 'sandboxes', id(3)), JSON.stringify({ version: 1, kind: 'sandbox', id: id(4) }));
    put(`${recordFile(f, 'networks', id(5))}.tmp`, '{"version":1');
    put(path.join(f.stateDir, 'store', 'networks', 'notes.txt'), 'hello');
    const warnings: StateWarning[] = [];
    const c = await restart(f, { listeners: { 'state:warning': (w) => warnings.push(w) } });
    const expected = [
      { file: recordFile(f, 'networks', kept.id), reason: 'not JSON (truncated?)' },
      { file: recordFile(f, 'networks', id(1)), reason: 'not JSON (truncated?)' },
      { file: recordFile(f, 'endpoints', id(2)), reason: 'version 99 is not 1' },
      { file: recordFile(f, 'sandboxes', id(3)), reason: 'its id is not its file name' },
      { file: `${recordFile(f, 'networks', id(5))}.tmp`, reason: 'a temporary file left by an interrupted write' },
      { file: path.join(f.stateDir, 'store', 'networks', 'notes.txt'), reason: 'not a record file' },
    ];
    const byFile = (a: StateWarning, b: StateWarning) => a.file.localeCompare(b.file);
    expect([...warnings].sort(byFile)).toEqual([...expected].sort(byFile));
    expect([...c.restoreReport().warnings].sort(byFile)).toEqual([...expected].sort(byFile));
    expect(existsSync(`${recordFile(f, 'networks', id(5))}.tmp`)).toBe(false);
    expect(c.networks().map((n) => n.id)).toEqual([good.id]);
    // The network whose record could not be read keeps its bridge: nothing is removed on a guess.
    expect(hostHasLink(`br-${kept.id.slice(0, 12)}`)).toBe(true);
    undo.push(['link', 'delete', `br-${kept.id.slice(0, 12)}`]);
  });

  it("never tears down a namespace path that is the host's own namespace", async () => {
    const f = await env.make({ predefinedNetworks: false });
    const sandbox = await f.controller.newSandbox('hostile');
    await f.controller.stop();
    // The sandbox's namespace file now holds the host's namespace (the test's own).
    ip(['netns', 'delete', path.basename(sandbox.key)]);
    writeFileSync(sandbox.key, '');
    execFileSync('mount', ['--bind', '/proc/self/ns/net', sandbox.key]);
    try {
      const c = await restart(f);
      expect(c.restoreReport().warnings).toEqual([{ file: recordFile(f, 'sandboxes', sandbox.id), reason: expect.stringContaining("is the host's own") }]);
      expect(c.sandboxes()).toEqual([]);
      expect(isMountPoint(sandbox.key)).toBe(true);
      expect(hostHasLink('lo')).toBe(true);
    } finally {
      execFileSync('umount', [sandbox.key]);
      rmSync(sandbox.key);
    }
  });

  it('never restores two endpoints with one address: the second is dropped with a warning', async () => {
    const f = await env.make({ predefinedNetworks: false });
    const n = await f.controller.newNetwork('bridge', 'dup', { ipam: { config: [{ subnet: '10.200.0.0/24' }] } });
    const e = await n.createEndpoint('first');
    await f.controller.stop();
    const copy = { ...JSON.parse(readFileSync(recordFile(f, 'endpoints', e.id), 'utf8')), id: FAKE_ID, name: 'copy' };
    writeFileSync(recordFile(f, 'endpoints', FAKE_ID), JSON.stringify(copy));
    const c = await restart(f);
    const endpoints = c.networkByName('dup')!.endpoints();
    expect(endpoints).toHaveLength(1);
    expect(c.restoreReport().warnings).toEqual([{ file: expect.any(String), reason: expect.stringContaining('already allocated') }]);
    const dropped = c.restoreReport().warnings[0].file;
    expect(existsSync(dropped)).toBe(false);
    expect(path.basename(dropped, '.json')).not.toBe(endpoints[0].id);
  });
});
