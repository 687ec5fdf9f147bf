// The embedded DNS server: real clients (dig, glibc's getent) inside sandboxes ask 127.0.0.11:53
// and get the names of the networks their sandbox is joined to, over UDP and TCP.
import * as dnsPacket from 'dns-packet';
import { execFile, execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import * as path from 'node:path';
import type { Network, NetworkController, Sandbox } from '../../../lib';
import { bare, restart, useControllers, type CnmFixture } from '../../helpers/cnm';
import { Child, dig, digShort, digStatus, getentHosts } from '../../helpers/dns';
import { describeKernel, uniqueName } from '../../helpers/kernel';
import { timeLimit } from '../../helpers/timing';

/** A host resolv.conf without nameservers: names that are not local get SERVFAIL at once. */
const NO_UPSTREAMS = 'search host.example\n';

/** The ports the sockets on 127.0.0.11 listen on in the namespace (`ss`): [udp, tcp]. */
function resolverPorts(key: string): number[] {
  const lines = execFileSync('nsenter', [`--net=${key}`, 'ss', '-Hlntu', 'src', '127.0.0.11'], { encoding: 'utf8' })
    .trim()
    .split('\n');
  const port = (proto: string) =>
    Number(
      lines
        .find((l) => l.startsWith(proto))!
        .trim()
        .split(/\s+/)[4]
        .split(':')
        .pop(),
    );
  return [port('udp'), port('tcp')];
}

/** The ports the namespace's nf_tables rules send 127.0.0.11:53 to (`nft -j`), udp then tcp: every dnat rule's. */
function redirectedPorts(key: string): number[] {
  const { nftables } = JSON.parse(execFileSync('nsenter', [`--net=${key}`, 'nft', '-j', 'list', 'ruleset'], { encoding: 'utf8' })) as {
    nftables: { rule?: { expr: { dnat?: { port: number } }[] } }[];
  };
  return nftables.flatMap((item) => item.rule?.expr.flatMap((e) => (e.dnat ? [e.dnat.port] : [])) ?? []);
}

describeKernel('embedded DNS server', () => {
  const env = useControllers();
  let f: CnmFixture;
  let c: NetworkController;
  let net: Network;

  beforeAll(async () => {
    f = await env.make({ predefinedNetworks: false }, NO_UPSTREAMS);
    c = f.controller;
    net = await c.newNetwork('bridge', 'dnsnet', { ipam: { config: [{ subnet: '10.231.0.0/24' }] } });
  });

  /** A sandbox joined to `network` through an endpoint with these DNS names. */
  async function container(network: Network, name: string, dnsNames?: string[]): Promise<{ sandbox: Sandbox; address: string }> {
    const sandbox = await c.newSandbox(uniqueName(name));
    const ep = await network.createEndpoint(uniqueName(name), dnsNames ? { dnsNames } : {});
    await ep.join(sandbox);
    return { sandbox, address: bare(ep.info().interface.address) };
  }

  const resolvConfOf = (s: Sandbox) => path.join(f.runFolder, 'sandboxes', s.id, 'resolv.conf');

  it('answers A queries for the names of the network over UDP and TCP, case-insensitively, with TTL 600', async () => {
    const web = await container(net, 'web', ['web', 'www']);
    const client = await container(net, 'client');
    expect(await digShort(client.sandbox.key, ['web'])).toEqual([web.address]);
    expect(await digShort(client.sandbox.key, ['WwW'])).toEqual([web.address]);
    expect(await digShort(client.sandbox.key, ['+tcp', 'web'])).toEqual([web.address]);
    expect(await dig(client.sandbox.key, ['+noall', '+answer', 'web'])).toMatch(/^web\.\s+600\s+IN\s+A\s+10\.231\.0\.\d+$/m);
    // A name with no IPv6 address: NODATA, not an error.
    expect(await digStatus(client.sandbox.key, ['web', 'AAAA'])).toBe('NOERROR');
    expect(await digShort(client.sandbox.key, ['web', 'AAAA'])).toEqual([]);
    // Unknown, and nowhere to forward it: SERVFAIL.
    expect(await digStatus(client.sandbox.key, ['nosuchname'])).toBe('SERVFAIL');
    await Promise.all([web.sandbox.delete(), client.sandbox.delete()]);
  });

  it("glibc's resolver finds names through the sandbox's resolv.conf (nameserver 127.0.0.11)", async () => {
    const db = await container(net, 'db', ['db']);
    const app = await container(net, 'app');
    const resolv = readFileSync(resolvConfOf(app.sandbox), 'utf8');
    expect(resolv).toMatch(/^nameserver 127\.0\.0\.11$/m);
    expect(resolv).toMatch(/^options ndots:0$/m);
    expect(await getentHosts(app.sandbox.key, resolvConfOf(app.sandbox), 'db')).toEqual([db.address]);
    await Promise.all([db.sandbox.delete(), app.sandbox.delete()]);
  });

  it('answers PTR queries with NAME.NETWORK for the first name', async () => {
    const web = await container(net, 'ptr', ['ptrweb', 'alias1']);
    expect(await digShort(web.sandbox.key, ['-x', web.address])).toEqual(['ptrweb.dnsnet.']);
    await web.sandbox.delete();
  });

  it('gives every address of a shared name, in an order that rotates from query to query', async () => {
    const members = await Promise.all([1, 2, 3].map((i) => container(net, `svc${i}`, [`svc${i}`, 'svc'])));
    const client = await container(net, 'rot');
    const expected = members.map((m) => m.address).sort();
    const firsts = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const answer = await digShort(client.sandbox.key, ['svc'], true);
      expect([...answer].sort()).toEqual(expected);
      firsts.add(answer[0]);
    }
    expect(firsts.size).toBeGreaterThan(1);
    await Promise.all([...members, client].map((m) => m.sandbox.delete()));
  });

  it('a sandbox sees only the names of the networks it is joined to, and NAME.NETWORK', async () => {
    const other = await c.newNetwork('bridge', 'dnsother', { ipam: { config: [{ subnet: '10.231.1.0/24' }] } });
    const a = await container(net, 'only-a', ['only-a']);
    const b = await container(other, 'only-b', ['only-b']);
    expect(await digStatus(b.sandbox.key, ['only-a'])).toBe('SERVFAIL');
    expect(await digShort(b.sandbox.key, ['only-b'])).toEqual([b.address]);
    // Joined to both: both names, and each also as NAME.NETWORK.
    await (await other.createEndpoint(uniqueName('a-in-b'))).join(a.sandbox);
    expect(await digShort(a.sandbox.key, ['only-b'])).toEqual([b.address]);
    expect(await digShort(a.sandbox.key, ['only-b.dnsother'])).toEqual([b.address]);
    expect(await digStatus(a.sandbox.key, ['only-b.dnsnet'])).toBe('SERVFAIL');
    await Promise.all([a.sandbox.delete(), b.sandbox.delete()]);
    await Promise.all(other.endpoints().map((e) => e.delete()));
    await other.delete();
  });

  it('a leave, a join and a delete change the answers at once', async () => {
    const client = await container(net, 'watcher');
    const sandbox = await c.newSandbox(uniqueName('mover'));
    const ep = await net.createEndpoint(uniqueName('mover'), { dnsNames: ['mover'] });
    await ep.join(sandbox);
    expect(await digShort(client.sandbox.key, ['mover'])).toEqual([bare(ep.info().interface.address)]);
    await ep.leave(sandbox);
    expect(await digStatus(client.sandbox.key, ['mover'])).toBe('SERVFAIL');
    await ep.join(sandbox);
    expect(await digShort(client.sandbox.key, ['mover'])).toEqual([bare(ep.info().interface.address)]);
    await sandbox.delete();
    expect(await digStatus(client.sandbox.key, ['mover'])).toBe('SERVFAIL');
    await ep.delete();
    await client.sandbox.delete();
  });

  it("answers a repeated query on the addon's thread, also while the event loop is busy; a leave is seen by the next query", async () => {
    const client = await container(net, 'asker');
    const sandbox = await c.newSandbox(uniqueName('kept'));
    const ep = await net.createEndpoint(uniqueName('kept'), { dnsNames: ['kept'] });
    await ep.join(sandbox);
    const address = bare(ep.info().interface.address);
    // Without a cookie, dig's queries have the same bytes but for their id.
    const same = ['+nocookie', 'kept'];
    expect(await digShort(client.sandbox.key, same)).toEqual([address]);
    // The JS thread is held for 3 s, longer than dig waits (2 s): only the addon can answer.
    const kept = digShort(client.sandbox.key, same);
    const notKept = digStatus(client.sandbox.key, ['+cookie', 'kept']);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 3000);
    expect(await kept).toEqual([address]);
    expect(await notKept).toBe('timeout');
    await ep.leave(sandbox);
    expect(await digStatus(client.sandbox.key, same)).toBe('SERVFAIL');
    await ep.join(sandbox);
    expect(await digShort(client.sandbox.key, same)).toEqual([address]);
    await sandbox.delete();
    expect(await digStatus(client.sandbox.key, same)).toBe('SERVFAIL');
    await ep.delete();
    await client.sandbox.delete();
  });

  it('leaves port 53 of the sandbox to its own processes: a server bound to 0.0.0.0:53 and the resolver both work', async () => {
    const web = await container(net, 'own53', ['own53']);
    const code = `require('dgram').createSocket('udp4').bind(53, '0.0.0.0', () => console.log('bound'))`;
    const server = await Child.start(['nsenter', `--net=${web.sandbox.key}`, process.execPath, '-e', code], (out) => out.includes('bound'));
    try {
      expect(await digShort(web.sandbox.key, ['own53'])).toEqual([web.address]);
    } finally {
      server.stop();
    }
    await web.sandbox.delete();
  });

  it("a container-mode sandbox gets the resolv.conf, and so the embedded DNS server, of the sandbox it shares; its own after that one's delete", async () => {
    const db = await container(net, 'cmdb', ['cmdb']);
    const main = await c.newSandbox(uniqueName('cmmain'));
    const early = await c.newSandbox(uniqueName('cmearly'), { shareWith: main });
    expect(readFileSync(resolvConfOf(early), 'utf8')).not.toContain('127.0.0.11');
    // The first join of a user network opens main's resolver: the sharer made before follows.
    await (await net.createEndpoint(uniqueName('cmmain'))).join(main);
    const late = await c.newSandbox(uniqueName('cmlate'), { shareWith: main });
    for (const sharer of [early, late]) {
      expect(readFileSync(resolvConfOf(sharer), 'utf8')).toBe(readFileSync(resolvConfOf(main), 'utf8'));
      expect(await getentHosts(sharer.key, resolvConfOf(sharer), 'cmdb')).toEqual([db.address]);
    }
    await main.delete();
    // The host has no servers: Docker's fallback.
    expect(readFileSync(resolvConfOf(early), 'utf8')).toBe('nameserver 8.8.8.8\nnameserver 8.8.4.4\nsearch host.example\n');
    // Nothing of the closed resolver is left in the namespace the sharers keep.
    expect(execFileSync('nsenter', [`--net=${early.key}`, 'nft', 'list', 'tables'], { encoding: 'utf8' })).toBe('');
    await Promise.all([early.delete(), late.delete(), db.sandbox.delete()]);
  });

  it(
    "closes a client's idle TCP connection: 2 s without a first query, 8 s without another (Docker's timeouts)",
    async () => {
      const web = await container(net, 'idle', ['idle']);
      // Two connections from inside the sandbox: one says nothing, one asks once and then says nothing.
      const code = `
      const net = require('net');
      const started = Date.now(), out = {};
      const report = () => Object.keys(out).length === 2 && (console.log(JSON.stringify(out)), process.exit(0));
      const silent = net.connect(53, '127.0.0.11');
      silent.on('error', () => {}).on('close', () => { out.silent = Date.now() - started; report(); });
      let answered = 0;
      const asking = net.connect(53, '127.0.0.11', () => asking.write(Buffer.from(process.argv[1], 'hex')));
      asking.on('data', () => (answered = Date.now())).on('error', () => {});
      asking.on('close', () => { out.afterAnswer = answered ? Date.now() - answered : -1; report(); });
      setTimeout(() => (console.log(JSON.stringify({ ...out, gaveUp: true })), process.exit(0)), 12000);`;
      const query = dnsPacket.streamEncode({ type: 'query', id: 1, questions: [{ name: 'idle', type: 'A', class: 'IN' }] });
      const { stdout } = await promisify(execFile)('nsenter', [`--net=${web.sandbox.key}`, process.execPath, '-e', code, query.toString('hex')]);
      const closed = JSON.parse(stdout) as { silent: number; afterAnswer: number; gaveUp?: boolean };
      expect(closed.gaveUp).toBeUndefined();
      expect(closed.silent).toBeGreaterThanOrEqual(1900);
      expect(closed.silent).toBeLessThan(3500);
      expect(closed.afterAnswer).toBeGreaterThanOrEqual(7900);
      expect(closed.afterAnswer).toBeLessThan(9500);
      await web.sandbox.delete();
    },
    timeLimit(30000),
  );

  it('answers again after a restart, and stop() closes the sockets and ends the DNS thread', async () => {
    const web = await container(net, 'again', ['again']);
    const key = web.sandbox.key;
    expect(await digShort(key, ['again'])).toEqual([web.address]);
    const portsBefore = resolverPorts(key);
    c = await restart(f);
    net = c.networkByName('dnsnet')!;
    expect(await digShort(key, ['again'])).toEqual([web.address]);
    // New sockets, and the redirect's rules point at them alone (the old rules went).
    expect(resolverPorts(key)).not.toEqual(portsBefore);
    expect(redirectedPorts(key)).toEqual(resolverPorts(key));
    // This sandbox's resolver is the process's last one: its thread ends with it.
    const threads = () => readdirSync('/proc/self/task').length;
    const before = threads();
    await c.stop();
    expect(threads()).toBe(before - 1);
    expect(await digStatus(key, ['again'])).toBe('timeout');
    c = await restart(f);
    net = c.networkByName('dnsnet')!;
    expect(await digShort(key, ['again'])).toEqual([web.address]);
    await c.sandboxById(web.sandbox.id)!.delete();
  });
});
