// A sandbox's hosts and resolv.conf, in its state folder and under <etcNetnsDir>/<namespace name>/,
// rewritten by refresh() (which joins the endpoints again) and removed with the sandbox.
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { Network, NetworkController, Sandbox } from '../../../lib';
import { bare, fileTree, nsAddrs, nsRoutes, useControllers, type CnmFixture } from '../../helpers/cnm';
import { describeKernel, uniqueName } from '../../helpers/kernel';

describeKernel('sandbox files', () => {
  const env = useControllers();
  let f: CnmFixture;
  let c: NetworkController;
  let network: Network;

  beforeAll(async () => {
    f = await env.make({ predefinedNetworks: false });
    c = f.controller;
    network = await c.newNetwork('bridge', 'files', { ipam: { config: [{ subnet: '10.107.0.0/24' }] } });
  });

  const folders = (s: Sandbox) => [path.join(f.runFolder, 'sandboxes', s.id), path.join(f.etcNetnsDir, path.basename(s.key))];
  const read = (folder: string, file: string) => readFileSync(path.join(folder, file), 'utf8');
  /** The non-comment lines of a file. */
  const lines = (text: string) => text.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#'));

  it('writes hosts and resolv.conf in both folders from the given options', async () => {
    const sandbox = await c.newSandbox(uniqueName('ctr'), {
      hostname: 'web',
      domainname: 'example.org',
      dns: ['10.107.0.53', '2001:db8::53'],
      dnsSearch: ['example.org', 'corp.example'],
      dnsOptions: ['ndots:2', 'timeout:1'],
      extraHosts: ['db:10.107.0.200', 'v6host:2001:db8::7'],
    });
    const ep = await network.createEndpoint('web', { ipv4Address: '10.107.0.10' });
    await ep.join(sandbox);
    expect(path.basename(sandbox.key)).toMatch(/^cnm-[0-9a-f]{8}-[0-9a-f]{12}$/);
    for (const folder of folders(sandbox)) {
      expect(fileTree(folder)).toEqual({ hosts: expect.any(String), 'resolv.conf': expect.any(String) });
      const hosts = lines(read(folder, 'hosts')).map((l) => l.split(/\s+/));
      expect(hosts).toContainEqual(['127.0.0.1', 'localhost']);
      expect(hosts).toContainEqual(expect.arrayContaining(['::1', 'localhost']));
      expect(hosts).toContainEqual(['10.107.0.10', 'web.example.org', 'web']);
      expect(hosts).toContainEqual(['10.107.0.200', 'db']);
      expect(hosts).toContainEqual(['2001:db8::7', 'v6host']);
      // Joined to a user-defined network: the embedded DNS server, which forwards to the given servers.
      expect(lines(read(folder, 'resolv.conf'))).toEqual(['nameserver 127.0.0.11', 'search example.org corp.example', 'options ndots:2 timeout:1']);
    }
    await sandbox.delete();
    await ep.delete();
    for (const folder of folders(sandbox)) expect(existsSync(folder)).toBe(false);
  });

  it("without dns, uses the host's non-loopback nameservers only, and its search domains", async () => {
    const sandbox = await c.newSandbox(uniqueName('ctr'));
    for (const folder of folders(sandbox)) {
      const resolv = lines(read(folder, 'resolv.conf'));
      expect(resolv).toEqual(['nameserver 10.0.0.53', 'search host.example']);
      expect(lines(read(folder, 'hosts')).map((l) => l.split(/\s+/))).toContainEqual(['127.0.0.1', 'localhost']);
    }
    await sandbox.delete();
    for (const folder of folders(sandbox)) expect(existsSync(folder)).toBe(false);
  });

  it("writes the hostname under each of the sandbox's addresses, and drops an address when its endpoint leaves", async () => {
    const other = await c.newNetwork('bridge', 'files2', { ipam: { config: [{ subnet: '10.107.1.0/24' }] } });
    const sandbox = await c.newSandbox(uniqueName('ctr'), { hostname: 'multi' });
    const [e1, e2] = [await network.createEndpoint('m1'), await other.createEndpoint('m2')];
    await e1.join(sandbox);
    await e2.join(sandbox);
    const named = (folder: string) =>
      lines(read(folder, 'hosts'))
        .map((l) => l.split(/\s+/))
        .filter((parts) => parts.includes('multi'))
        .map((parts) => parts[0])
        .sort();
    const [a1, a2] = [bare(e1.info().interface.address), bare(e2.info().interface.address)];
    for (const folder of folders(sandbox)) expect(named(folder)).toEqual([a1, a2].sort());
    await e2.leave(sandbox);
    for (const folder of folders(sandbox)) expect(named(folder)).toEqual([a1]);
    await sandbox.delete();
    await e1.delete();
    await e2.delete();
    await other.delete();
  });

  it('refresh() rewrites both files and joins the endpoints again with the same addresses', async () => {
    const sandbox = await c.newSandbox(uniqueName('ctr'), { hostname: 'before', dns: ['10.107.0.1'] });
    const ep = await network.createEndpoint('refresh');
    await ep.join(sandbox);
    const address = ep.info().interface.address!;
    const mac = ep.info().interface.macAddress;
    const connects: string[] = [];
    const onConnect = (e: { name: string }) => connects.push(e.name);
    c.on('network:connect', onConnect);
    try {
      await sandbox.refresh({ hostname: 'after', dns: ['10.107.0.2'], dnsSearch: ['new.example'], extraHosts: ['x:10.107.0.99'] });
    } finally {
      c.off('network:connect', onConnect);
    }
    expect(connects).toEqual(['refresh']); // joined again
    for (const folder of folders(sandbox)) {
      const hosts = lines(read(folder, 'hosts')).map((l) => l.split(/\s+/));
      expect(hosts).toContainEqual([bare(address), 'after']);
      expect(hosts.flat()).not.toContain('before');
      expect(hosts).toContainEqual(['10.107.0.99', 'x']);
      expect(lines(read(folder, 'resolv.conf'))).toEqual(['nameserver 127.0.0.11', 'search new.example', 'options ndots:0']);
    }
    // The same address (and MAC) on eth0 per ip, and the default route back.
    expect(ep.info().interface.address).toBe(address);
    const eth0 = nsAddrs(sandbox.key).find((l) => l.ifname === 'eth0')!;
    expect(eth0.addr_info.map((a) => `${a.local}/${a.prefixlen}`)).toEqual([address]);
    expect(eth0.address).toBe(mac);
    expect(nsRoutes(sandbox.key)).toContainEqual(expect.objectContaining({ dst: 'default', gateway: '10.107.0.1', dev: 'eth0' }));
    expect(ep.info().sandboxId).toBe(sandbox.id);

    // Refused options change nothing.
    const before = folders(sandbox).map(fileTree);
    await expect(sandbox.refresh({ dns: ['not-an-ip'] })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(sandbox.refresh({ extraHosts: ['no-colon'] })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(folders(sandbox).map(fileTree)).toEqual(before);
    expect(ep.info().sandboxId).toBe(sandbox.id);

    await sandbox.delete();
    await ep.delete();
    for (const folder of folders(sandbox)) expect(existsSync(folder)).toBe(false);
  });

  it('refuses bad DNS options before writing anything (INVALID_ARGUMENT)', async () => {
    const before = [fileTree(f.stateDir), fileTree(f.runFolder), fileTree(f.etcNetnsDir)];
    for (const options of [{ dns: ['8.8.8'] }, { extraHosts: ['name-only'] }, { extraHosts: ['h:not-ip'] }, { hostname: 'bad/name' }]) {
      await expect(c.newSandbox(uniqueName('ctr'), options)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    }
    expect([fileTree(f.stateDir), fileTree(f.runFolder), fileTree(f.etcNetnsDir)]).toEqual(before);
  });

  it("keeps a container-mode sandbox's files in its own state folder, and the shared etc folder until both go", async () => {
    const main = await c.newSandbox(uniqueName('ctr'), { dns: ['10.107.0.7'] });
    const sharer = await c.newSandbox(uniqueName('ctr'), { shareWith: main, dns: ['10.107.0.8'] });
    const sharerState = path.join(f.runFolder, 'sandboxes', sharer.id);
    const etc = path.join(f.etcNetnsDir, path.basename(main.key));
    expect(lines(read(sharerState, 'resolv.conf'))).toEqual(['nameserver 10.107.0.8', 'search host.example']);
    expect(lines(read(etc, 'resolv.conf'))).toEqual(['nameserver 10.107.0.7', 'search host.example']);
    await main.delete();
    expect(existsSync(path.join(f.runFolder, 'sandboxes', main.id))).toBe(false);
    expect(existsSync(etc)).toBe(true);
    await sharer.delete();
    expect(existsSync(sharerState)).toBe(false);
    expect(existsSync(etc)).toBe(false);
  });
});
