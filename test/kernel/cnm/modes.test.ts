// The four network modes proven by the kernel and by traffic: bridge (two sandboxes and the host
// talk over TCP), null (only lo, no routes), host (the host's own namespace) and container (the
// same namespace as another sandbox, kept alive while either uses it).
import { existsSync, readlinkSync, statSync } from 'node:fs';
import type { NetworkController } from '../../../lib';
import { netnsInfo } from '../../../lib/kernel';
import { bare, bridgePorts, nsAddrs, nsRoutes, tcpConnects, useControllers } from '../../helpers/cnm';
import { describeKernel, EchoServer, eventually, ipJson, snapshot, tcpRoundTrip, uniqueName } from '../../helpers/kernel';

/** The inode of a namespace as `stat -L` sees it (the same for every path to one namespace). */
const inodeOf = (path: string) => statSync(path).ino;

describeKernel('network modes', () => {
  const env = useControllers();
  let c: NetworkController;

  beforeAll(async () => {
    c = (await env.make({ defaultBridgeName: 'cnmmodes0' })).controller;
  });

  it('bridge: two sandboxes on the default bridge network reach each other, and the host reaches one', async () => {
    const network = c.networkByName('bridge')!;
    expect(network.type).toBe('bridge');
    const [sa, sb] = [await c.newSandbox(uniqueName('ctr')), await c.newSandbox(uniqueName('ctr'))];
    const [ea, eb] = [await network.createEndpoint('a'), await network.createEndpoint('b')];
    await ea.join(sa);
    await eb.join(sb);
    const a = bare(ea.info().interface.address);
    const b = bare(eb.info().interface.address);
    expect(a).not.toBe(b);
    const server = await EchoServer.start(a, 7201, sa.key);
    const serverB = await EchoServer.start(b, 7202, sb.key);
    try {
      expect(await tcpRoundTrip(a, 7201, sb.key)).toBe(`hello ${a}:7201`);
      expect(await tcpRoundTrip(b, 7202, sa.key)).toBe(`hello ${b}:7202`);
      expect(await tcpRoundTrip(a, 7201)).toBe(`hello ${a}:7201`);
    } finally {
      server.stop();
      serverB.stop();
    }
    // Not reachable any more once b left: the traffic really went over the veth.
    await eb.leave(sb);
    expect(tcpConnects(a, 7201, sb.key)).toBe(false);
    await sa.delete();
    await sb.delete();
    await ea.delete();
    await eb.delete();
  });

  it('null: a sandbox on the none network has only lo and no routes', async () => {
    const sandbox = await c.newSandbox(uniqueName('ctr'));
    const ep = await c.networkByName('none')!.createEndpoint('n');
    await ep.join(sandbox);
    expect(ep.info().sandboxId).toBe(sandbox.id);
    expect(ep.info().interface).toEqual({ macAddress: null, address: null, addressIPv6: null, name: null });
    const links = ipJson<{ ifname: string; operstate: string; flags: string[] }[]>(['link', 'show'], sandbox.key);
    expect(links.map((l) => l.ifname)).toEqual(['lo']);
    expect(links[0].flags).toContain('UP');
    expect(nsRoutes(sandbox.key)).toEqual([]);
    // IPv6: only lo's own ::1, nothing leaving the sandbox.
    expect(nsRoutes(sandbox.key, 6).filter((r) => r.dev !== 'lo')).toEqual([]);
    // Its own namespace, not the host's.
    expect((await netnsInfo(sandbox.key)).isHost).toBe(false);
    expect(sandbox.key).toMatch(/\/cnm-[0-9a-f]{8}-[0-9a-f]{12}$/);
    expect(snapshot().namespaces).toContain(sandbox.key.split('/').pop());
    await sandbox.delete();
    await ep.delete();
    expect(snapshot().namespaces).not.toContain(sandbox.key.split('/').pop());
  });

  it("host: the sandbox key is the host's own namespace and sees the host's links", async () => {
    const sandbox = await c.newSandbox(uniqueName('ctr'), { useDefaultSandbox: true });
    const ep = await c.networkByName('host')!.createEndpoint('h');
    await ep.join(sandbox);
    expect(sandbox.mode).toBe('host');
    expect(readlinkSync(sandbox.key)).toBe(readlinkSync('/proc/self/ns/net'));
    expect(inodeOf(sandbox.key)).toBe(inodeOf('/proc/self/ns/net'));
    const info = await netnsInfo(sandbox.key);
    expect(info).toMatchObject({ isNetns: true, isHost: true, inode: inodeOf('/proc/self/ns/net') });
    const names = (netns?: string) =>
      ipJson<{ ifname: string }[]>(['link', 'show'], netns)
        .map((l) => l.ifname)
        .sort();
    expect(names(sandbox.key)).toEqual(names());
    expect(names()).toContain('cnmmodes0');
    // Deleting it leaves the host's namespace alone.
    const before = snapshot();
    await sandbox.delete();
    await ep.delete();
    expect(snapshot()).toEqual(before);
    expect(existsSync('/proc/self/ns/net')).toBe(true);
  });

  it('container: a sandbox sharing another sees the same namespace; localhost works across them', async () => {
    const network = c.networkByName('bridge')!;
    const main = await c.newSandbox(uniqueName('ctr'));
    const ep = await network.createEndpoint('main');
    await ep.join(main);
    const sharer = await c.newSandbox(uniqueName('ctr'), { shareWith: main });
    expect(sharer.mode).toBe('container');
    expect(sharer.key).toBe(main.key);
    expect(inodeOf(sharer.key)).toBe(inodeOf(main.key));
    expect((await netnsInfo(sharer.key)).inode).toBe((await netnsInfo(main.key)).inode);
    // Exactly the interfaces and addresses of the one it shares (eth0 with main's address).
    const view = (key: string) => nsAddrs(key).map((l) => ({ ifname: l.ifname, mac: l.address, addrs: l.addr_info.map((a) => `${a.local}/${a.prefixlen}`) }));
    expect(view(sharer.key)).toEqual(view(main.key));
    expect(view(sharer.key).find((l) => l.ifname === 'eth0')?.addrs).toEqual([ep.info().interface.address]);
    expect(sharer.endpoints()).toEqual([]);

    // A server on 127.0.0.1 in one is reached via localhost from the other.
    const server = await EchoServer.start('127.0.0.1', 7203, main.key);
    try {
      expect(await tcpRoundTrip('127.0.0.1', 7203, sharer.key)).toBe('hello 127.0.0.1:7203');
    } finally {
      server.stop();
    }
    const server2 = await EchoServer.start('127.0.0.1', 7204, sharer.key);
    try {
      expect(await tcpRoundTrip('127.0.0.1', 7204, main.key)).toBe('hello 127.0.0.1:7204');
    } finally {
      server2.stop();
    }
    // The main sandbox's address, from the host, reaches a server the sharer started on it.
    const server3 = await EchoServer.start(bare(ep.info().interface.address), 7205, sharer.key);
    try {
      expect(await tcpRoundTrip(bare(ep.info().interface.address), 7205)).toBe(`hello ${bare(ep.info().interface.address)}:7205`);
    } finally {
      server3.stop();
    }
    await sharer.delete();
    await main.delete();
    await ep.delete();
  });

  it('container: deleting the shared-with sandbox first keeps the namespace until the sharer goes', async () => {
    // The kernel destroys the earlier tests' namespaces, and their veth pairs, in the background.
    await eventually(() => bridgePorts('cnmmodes0'), []);
    const main = await c.newSandbox(uniqueName('ctr'));
    const ep = await c.networkByName('bridge')!.createEndpoint('main2');
    await ep.join(main);
    const sharer = await c.newSandbox(uniqueName('ctr'), { shareWith: main });
    const name = main.key.split('/').pop()!;
    const inode = inodeOf(main.key);
    expect(bridgePorts('cnmmodes0')).toHaveLength(1);
    await main.delete();
    // main's endpoint left (its veth pair is gone), the namespace stays for the sharer.
    expect(ep.info().sandboxId).toBeNull();
    expect(bridgePorts('cnmmodes0')).toEqual([]);
    await ep.delete();
    expect(c.sandboxById(main.id)).toBeUndefined();
    expect(snapshot().namespaces).toContain(name);
    expect(inodeOf(sharer.key)).toBe(inode);
    expect(ipJson<{ ifname: string }[]>(['link', 'show'], sharer.key).map((l) => l.ifname)).toEqual(['lo']);
    const server = await EchoServer.start('127.0.0.1', 7206, sharer.key);
    try {
      expect(await tcpRoundTrip('127.0.0.1', 7206, sharer.key)).toBe('hello 127.0.0.1:7206');
    } finally {
      server.stop();
    }
    await sharer.delete();
    expect(snapshot().namespaces).not.toContain(name);
    expect(snapshot().mounts).not.toContain(sharer.key);
  });
});
