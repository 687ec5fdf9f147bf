// The sockets the addon keeps for a new namespace's next batch (native/kernel/kept-sockets.h):
// they must never make a batch act on another namespace, nor keep a deleted namespace alive; the
// DNS sockets kept with `resolverSockets` must work once taken and be closed when they are not.
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync } from 'node:fs';
import { basename } from 'node:path';
import { batch, linkAdd, linkGet, netnsCreate, netnsDelete, waitLinksGone, type DnsPorts, type DnsSockets } from '../../../lib/kernel';
import { NETNS_DIR, describeKernel, eventually, hostHasLink, rejection, trackKernelObjects, uniqueName } from '../../helpers/kernel';
import { nftRules } from '../../helpers/nft';

/** A new namespace with a veth pair whose other end is in the host, made in one batch as newSandbox does. */
async function namespaceWithVeth(each: ReturnType<typeof trackKernelObjects>['each'], resolverSockets?: DnsPorts): Promise<{ path: string; hostEnd: string }> {
  const path = each.netns(`${NETNS_DIR}/${uniqueName('ns')}`);
  const hostEnd = each.link(uniqueName('vk'));
  await batch([
    { op: 'netnsCreate', dir: NETNS_DIR, name: basename(path), resolverSockets },
    { op: 'linkSet', netns: path, name: 'lo', change: { up: true } },
  ]);
  await linkAdd({ kind: 'veth', name: hostEnd, peer: { name: 'eth0', netns: path } });
  return { path, hostEnd };
}

/** The sockets bound to 127.0.0.11 in the namespace, as `ss` sees them there: "udp:PORT", "tcp:PORT". */
function resolverSocketsIn(path: string): string[] {
  const out = execFileSync('nsenter', [`--net=${path}`, 'ss', '-Hlntu', 'src', '127.0.0.11'], { encoding: 'utf8' });
  return out
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => {
      const [proto, , , , local] = line.trim().split(/\s+/);
      return `${proto}:${local.split(':').pop()}`;
    })
    .sort();
}

/** Whether a TCP connection to 127.0.0.11:port from inside the namespace is made. */
function connectsIn(path: string, port: number): boolean {
  const code = `require('net').connect(${port}, '127.0.0.11', () => process.exit(0)).on('error', () => process.exit(1))`;
  return spawnSync('nsenter', [`--net=${path}`, process.execPath, '-e', code], { timeout: 5000 }).status === 0;
}

/** Where the table's rules send 127.0.0.11:53, per `nft -j` in the namespace: "udp:PORT", "tcp:PORT". */
function redirectsIn(path: string, table: string): string[] {
  type Match = { left?: { payload?: { protocol: string; field: string } }; right?: unknown };
  return nftRules('inet', table, path)
    .map((rule) => {
      const dport = rule.expr.map((e) => e.match as Match | undefined).find((m) => m?.left?.payload?.field === 'dport' && m.right === 53);
      const dnat = rule.expr.map((e) => e.dnat as { addr: string; port: number } | undefined).find(Boolean);
      return `${dport?.left?.payload?.protocol}:${dnat?.addr === '127.0.0.11' ? dnat.port : '?'}`;
    })
    .sort();
}

function close(sockets: DnsSockets): void {
  for (const fd of [sockets.udp, sockets.tcp, sockets.netns]) closeSync(fd);
}

describeKernel('sockets kept for a new namespace', () => {
  const { each } = trackKernelObjects();

  it('are not used once the path names another namespace', async () => {
    const name = uniqueName('ns');
    const path = each.netns(`${NETNS_DIR}/${name}`);
    await netnsCreate(NETNS_DIR, name);
    // Someone else replaces the namespace under the same name, with an lo of another MTU.
    execFileSync('ip', ['netns', 'del', name]);
    execFileSync('ip', ['netns', 'add', name]);
    execFileSync('ip', ['-n', name, 'link', 'set', 'lo', 'mtu', '1234']);
    expect((await linkGet('lo', { netns: path })).mtu).toBe(1234);
  });

  it('are none of them used by a batch that takes several once the path names another namespace', async () => {
    const ports = { udpPort: 41253, tcpPort: 42253 };
    const name = uniqueName('ns');
    const path = each.netns(`${NETNS_DIR}/${name}`);
    await batch([{ op: 'netnsCreate', dir: NETNS_DIR, name, resolverSockets: ports }]);
    execFileSync('ip', ['netns', 'del', name]);
    execFileSync('ip', ['netns', 'add', name]);
    const table = uniqueName('dns');
    // One batch taking the rtnetlink socket, then the DNS and nf_tables ones: all of the new namespace.
    const [, sockets] = (await batch([
      { op: 'linkSet', netns: path, name: 'lo', change: { up: true } },
      { op: 'dnsSockets', netns: path, ...ports, redirectTable: table },
    ])) as [unknown, DnsSockets];
    try {
      expect(resolverSocketsIn(path)).toEqual([`tcp:${sockets.tcpPort}`, `udp:${sockets.udpPort}`]);
      expect(redirectsIn(path, table)).toEqual([`tcp:${sockets.tcpPort}`, `udp:${sockets.udpPort}`]);
      expect(connectsIn(path, 53)).toBe(true);
    } finally {
      close(sockets);
    }
  });

  it('do not outlive a delete through the library: the namespace and its links go at once', async () => {
    const { path, hostEnd } = await namespaceWithVeth(each);
    await netnsDelete(path);
    // Well before the idle drop (1 s after the last batch) could be what freed it.
    await waitLinksGone([hostEnd], { timeoutMs: 800 });
    expect(hostHasLink(hostEnd)).toBe(false);
  });

  it('are closed once batches stop, so a namespace someone else deletes goes too', async () => {
    const { path, hostEnd } = await namespaceWithVeth(each);
    execFileSync('ip', ['netns', 'del', basename(path)]);
    await eventually(() => hostHasLink(hostEnd), false, 5000);
  });

  it('give a dnsSockets op asking for their ports the DNS sockets opened with the namespace, bound to 127.0.0.11 and working', async () => {
    const ports = { udpPort: 41053, tcpPort: 42053 };
    const { path } = await namespaceWithVeth(each, ports);
    // Opened while lo was still down, bound all the same, before any dnsSockets op.
    expect(resolverSocketsIn(path)).toEqual(['tcp:42053', 'udp:41053']);
    const [sockets] = (await batch([{ op: 'dnsSockets', netns: path, ...ports }])) as [DnsSockets];
    try {
      expect(sockets).toMatchObject(ports);
      // The same two sockets: none more.
      expect(resolverSocketsIn(path)).toEqual(['tcp:42053', 'udp:41053']);
      // The TCP socket listens: a connection from inside the namespace is made (the kernel completes
      // it from the backlog), where a port no socket is bound to refuses it.
      expect(connectsIn(path, 42053)).toBe(true);
      expect(connectsIn(path, 42054)).toBe(false);
    } finally {
      close(sockets);
    }
    expect(resolverSocketsIn(path)).toEqual([]);
  });

  it('are not given to a dnsSockets op asking for other ports; one that is taken gets another', async () => {
    const { path } = await namespaceWithVeth(each, { udpPort: 41053, tcpPort: 42053 });
    const asked = { udpPort: 43053, tcpPort: 44053 };
    const [first] = (await batch([{ op: 'dnsSockets', netns: path, ...asked }])) as [DnsSockets];
    try {
      expect(first).toMatchObject(asked);
      expect(resolverSocketsIn(path)).toEqual(['tcp:44053', 'udp:43053']);
      const [second] = (await batch([{ op: 'dnsSockets', netns: path, ...asked }])) as [DnsSockets];
      try {
        expect(second.udpPort).not.toBe(asked.udpPort);
        expect(second.tcpPort).not.toBe(asked.tcpPort);
        expect(resolverSocketsIn(path)).toEqual([`tcp:${second.tcpPort}`, 'tcp:44053', `udp:${second.udpPort}`, 'udp:43053'].sort());
      } finally {
        close(second);
      }
    } finally {
      close(first);
    }
  });

  it('send 127.0.0.11:53 to the ports the sockets got when a dnsSockets op names a redirect table: the kept ones, then others', async () => {
    const ports = { udpPort: 41153, tcpPort: 42153 };
    const { path } = await namespaceWithVeth(each, ports);
    const table = uniqueName('dns');
    expect(connectsIn(path, 53)).toBe(false);
    const [kept] = (await batch([{ op: 'dnsSockets', netns: path, ...ports, redirectTable: table }])) as [DnsSockets];
    try {
      expect(kept).toMatchObject(ports);
      expect(redirectsIn(path, table)).toEqual(['tcp:42153', 'udp:41153']);
      // Real traffic: a connection to port 53 from inside the namespace reaches the listening socket.
      expect(connectsIn(path, 53)).toBe(true);
      // The same ports again are taken now: the sockets get others, and the table's rules are replaced by ones for those.
      const [other] = (await batch([{ op: 'dnsSockets', netns: path, ...ports, redirectTable: table }])) as [DnsSockets];
      try {
        expect(other.udpPort).not.toBe(ports.udpPort);
        expect(other.tcpPort).not.toBe(ports.tcpPort);
        expect(redirectsIn(path, table)).toEqual([`tcp:${other.tcpPort}`, `udp:${other.udpPort}`]);
      } finally {
        close(other);
      }
    } finally {
      close(kept);
    }
  });

  it('close the DNS sockets no batch took once batches stop, and when the library deletes the namespace', async () => {
    const idle = await namespaceWithVeth(each, {});
    expect(resolverSocketsIn(idle.path)).toHaveLength(2);
    await eventually(() => resolverSocketsIn(idle.path).length, 0, 5000);
    const deleted = await namespaceWithVeth(each, {});
    await netnsDelete(deleted.path);
    await waitLinksGone([deleted.hostEnd], { timeoutMs: 800 });
  });

  it('close the DNS sockets a batch opened when the batch fails after them', async () => {
    const { path } = await namespaceWithVeth(each);
    const err = await rejection(
      batch([
        { op: 'dnsSockets', netns: path },
        { op: 'linkSet', netns: path, name: uniqueName('none'), change: { up: true } },
      ]),
    );
    expect(err).toMatchObject({ code: 'ENODEV' });
    expect(resolverSocketsIn(path)).toEqual([]);
  });
});
