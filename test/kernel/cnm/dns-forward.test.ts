// The embedded DNS server forwards the names it does not know: to a real upstream server
// (dnsmasq) in an "outside" namespace of the test world, through the sandbox's own network
// (bridge, masquerade), or to a loopback server of the host, from the host's namespace; over the
// client's transport, each query from a port of its own, to IPv4 and IPv6 servers. A sandbox only
// on internal networks never gets answers from outside (CVE-2024-29018). An nf_tables table in the
// outside namespace counts what arrives there (TCP connections, UDP queries' source ports).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { Network, NetworkController, Sandbox } from '../../../lib';
import { useControllers, type CnmFixture } from '../../helpers/cnm';
import { Child, dig, digShort, digStatus } from '../../helpers/dns';
import { timeLimit } from '../../helpers/timing';
import { describeKernel, eventually, ip, uniqueName } from '../../helpers/kernel';

const OUTSIDE = { host: '10.232.0.1', server: '10.232.0.2', host6: 'fd00:232::1', server6: 'fd00:232::2' };
/** TXT records of big.test: about 2 KB, more than a UDP answer carries (dig offers 1232 bytes). */
const BIG = Array.from({ length: 8 }, (_, i) => `${i}`.repeat(250));

/**
 * dnsmasq answering NAME.external.test (and loop.test) with a fixed address and big.test with
 * BIG, logging every query.
 */
async function dnsmasq(netnsArgs: string[], listen: string[], log: string): Promise<Child> {
  const argv = [
    ...netnsArgs,
    'dnsmasq',
    '--keep-in-foreground',
    '--conf-file=/dev/null',
    '--no-resolv',
    '--no-hosts',
    '--bind-interfaces',
    ...listen.map((address) => `--listen-address=${address}`),
    '--address=/external.test/198.51.100.7',
    '--address=/loop.test/198.51.100.8',
    ...BIG.map((text) => `--txt-record=big.test,${text}`),
    '--log-queries',
    `--log-facility=${log}`,
    `--pid-file=${log}.pid`,
    '--user=root',
  ];
  // Ready once its log says it started.
  return Child.start(argv, () => readSafe(log).includes('started'));
}

/** `nft ARGS` in the namespace at `netns`. */
const nft = (netns: string, args: string[]): string => execFileSync('nsenter', [`--net=${netns}`, 'nft', ...args], { encoding: 'utf8' });

/** Counts, in a namespace, the TCP connections to port 53 and the source ports of UDP queries to port 53. */
class Arrivals {
  constructor(private readonly netns: string) {
    nft(netns, ['add table inet probe']);
    nft(netns, ['add counter inet probe tcp53']);
    nft(netns, ['add set inet probe sports { type inet_service; flags dynamic; }']);
    nft(netns, ['add chain inet probe in { type filter hook input priority 0; }']);
    nft(netns, ['add rule inet probe in tcp dport 53 tcp flags & (syn | ack) == syn counter name tcp53']);
    nft(netns, ['add rule inet probe in udp dport 53 add @sports { udp sport }']);
  }

  /** TCP connections made to port 53 so far. */
  tcpConnections(): number {
    const out = JSON.parse(nft(this.netns, ['-j', 'list', 'counter', 'inet', 'probe', 'tcp53'])) as { nftables: { counter?: { packets: number } }[] };
    return out.nftables.find((o) => o.counter)!.counter!.packets;
  }

  /** The source ports UDP queries came from since the last call. */
  takeSourcePorts(): number[] {
    const out = JSON.parse(nft(this.netns, ['-j', 'list', 'set', 'inet', 'probe', 'sports'])) as { nftables: { set?: { elem?: number[] } }[] };
    nft(this.netns, ['flush', 'set', 'inet', 'probe', 'sports']);
    return out.nftables.find((o) => o.set)!.set!.elem ?? [];
  }
}

const readSafe = (file: string) => {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
};

describeKernel('embedded DNS server: forwarding', () => {
  const env = useControllers();
  let f: CnmFixture;
  let c: NetworkController;
  const outside = uniqueName('dnsout');
  const veth = uniqueName('vdo').slice(0, 12);
  const folder = mkdtempSync(path.join(tmpdir(), 'cnm-dnsmasq-'));
  const servers: Child[] = [];
  const outsideLog = path.join(folder, 'outside.log');
  const loopLog = path.join(folder, 'loop.log');
  let arrivals: Arrivals;

  beforeAll(async () => {
    // Whatever happens below, the outside world and the servers go after the last test.
    env.later(() => rmSync(folder, { recursive: true, force: true }));
    env.later(() => ip(['netns', 'del', outside]));
    env.later(() => servers.forEach((s) => s.stop()));
    ip(['netns', 'add', outside]);
    ip(['link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', outside]);
    ip(['addr', 'add', `${OUTSIDE.host}/24`, 'dev', veth]);
    ip(['addr', 'add', `${OUTSIDE.host6}/64`, 'dev', veth, 'nodad']);
    ip(['link', 'set', veth, 'up']);
    ip(['addr', 'add', `${OUTSIDE.server}/24`, 'dev', 'eth0'], `/run/netns/${outside}`);
    ip(['addr', 'add', `${OUTSIDE.server6}/64`, 'dev', 'eth0', 'nodad'], `/run/netns/${outside}`);
    ip(['link', 'set', 'eth0', 'up'], `/run/netns/${outside}`);
    ip(['link', 'set', 'lo', 'up'], `/run/netns/${outside}`);
    arrivals = new Arrivals(`/run/netns/${outside}`);
    servers.push(await dnsmasq(['nsenter', `--net=/run/netns/${outside}`], [OUTSIDE.server, OUTSIDE.server6], outsideLog));
    ip(['link', 'set', 'lo', 'up']);
    servers.push(await dnsmasq([], ['127.0.0.1'], loopLog));
    f = await env.make({ predefinedNetworks: false }, `nameserver ${OUTSIDE.server}\n`);
    c = f.controller;
  });

  async function joined(network: Network, options: { dns?: string[] } = {}): Promise<Sandbox> {
    const sandbox = await c.newSandbox(uniqueName('fwd'), options);
    await (await network.createEndpoint(uniqueName('fwd'))).join(sandbox);
    return sandbox;
  }

  it("forwards unknown names to the host's upstream server, through the sandbox's network", async () => {
    const net = await c.newNetwork('bridge', 'fwdnet', { ipam: { config: [{ subnet: '10.231.2.0/24' }] } });
    const sandbox = await joined(net);
    expect(await digShort(sandbox.key, ['www.external.test'])).toEqual(['198.51.100.7']);
    // It left like the sandbox's own traffic: masqueraded to the host's address on the outside link.
    expect(readSafe(outsideLog)).toMatch(new RegExp(`query\\[A\\] www\\.external\\.test from ${OUTSIDE.host.replace(/\./g, '\\.')}`));
    await sandbox.delete();
  });

  it("a client's TCP query goes upstream over TCP, a UDP one over UDP", async () => {
    const sandbox = await joined(c.networkByName('fwdnet')!);
    const connections = arrivals.tcpConnections();
    expect(await digShort(sandbox.key, ['+tcp', 'tcp.external.test'])).toEqual(['198.51.100.7']);
    expect(arrivals.tcpConnections()).toBe(connections + 1);
    expect(await digShort(sandbox.key, ['udp.external.test'])).toEqual(['198.51.100.7']);
    expect(arrivals.tcpConnections()).toBe(connections + 1);
    await sandbox.delete();
  });

  it('each forwarded query leaves from a source port of its own', async () => {
    const sandbox = await joined(c.networkByName('fwdnet')!);
    arrivals.takeSourcePorts();
    for (let i = 0; i < 6; i++) expect(await digShort(sandbox.key, [`port${i}.external.test`])).toEqual(['198.51.100.7']);
    // Six random ports of ~28,000: all distinct but for a rare coincidence; one socket would give one.
    expect(new Set(arrivals.takeSourcePorts()).size).toBeGreaterThanOrEqual(5);
    await sandbox.delete();
  });

  it('a server that refuses (no DNS server on its address) fails at once, over UDP and TCP, and the next one answers', async () => {
    const silent = '10.232.0.3'; // the outside namespace's, where nothing listens on port 53
    ip(['addr', 'add', `${silent}/24`, 'dev', 'eth0'], `/run/netns/${outside}`);
    const sandbox = await joined(c.networkByName('fwdnet')!, { dns: [silent, OUTSIDE.server] });
    for (const transport of ['+notcp', '+tcp']) {
      const started = Date.now();
      expect(await digShort(sandbox.key, [transport, `next${transport.slice(1)}.external.test`])).toEqual(['198.51.100.7']);
      expect(Date.now() - started).toBeLessThan(1000);
    }
    await sandbox.delete();
  });

  it(
    "a server that never answers is given up after 4 s (Docker's timeout), and the next one answers",
    async () => {
      const blackhole = '10.232.0.4'; // the outside namespace drops what comes to it
      ip(['addr', 'add', `${blackhole}/24`, 'dev', 'eth0'], `/run/netns/${outside}`);
      nft(`/run/netns/${outside}`, ['insert', 'rule', 'inet', 'probe', 'in', 'ip', 'daddr', blackhole, 'drop']);
      const sandbox = await joined(c.networkByName('fwdnet')!, { dns: [blackhole, OUTSIDE.server] });
      const started = Date.now();
      expect(await dig(sandbox.key, ['+short', '+time=8', 'late.external.test'])).toBe('198.51.100.7\n');
      expect(Date.now() - started).toBeGreaterThanOrEqual(3900);
      expect(Date.now() - started).toBeLessThan(5500);
      await sandbox.delete();
    },
    timeLimit(20000),
  );

  it("an upstream's truncated UDP answer reaches the client flagged, which gets all of it over TCP through the resolver", async () => {
    const sandbox = await joined(c.networkByName('fwdnet')!);
    const udp = await dig(sandbox.key, ['+ignore', 'big.test', 'TXT']);
    expect(/flags:([a-z ]*);/.exec(udp)?.[1].split(' ')).toContain('tc');
    const connections = arrivals.tcpConnections();
    const texts = await digShort(sandbox.key, ['big.test', 'TXT']);
    expect(texts).toEqual(BIG.map((t) => `"${t}"`).sort());
    expect(arrivals.tcpConnections()).toBe(connections + 1);
    await sandbox.delete();
  });

  it("an IPv6 server of the host's resolv.conf is asked from the host's namespace", async () => {
    const host = (await env.make({ predefinedNetworks: false }, `nameserver ${OUTSIDE.server6}\n`)).controller;
    const net = await host.newNetwork('bridge', 'fwdv6host', { ipam: { config: [{ subnet: '10.231.6.0/24' }] } });
    const sandbox = await host.newSandbox(uniqueName('fwd'));
    await (await net.createEndpoint(uniqueName('fwd'))).join(sandbox);
    expect(await digShort(sandbox.key, ['six.external.test'])).toEqual(['198.51.100.7']);
    expect(await digShort(sandbox.key, ['+tcp', 'sixtcp.external.test'])).toEqual(['198.51.100.7']);
    expect(readSafe(outsideLog)).toMatch(/query\[A\] six\.external\.test from fd00:232::1/);
    await sandbox.delete();
  });

  it("an IPv6 server of the sandbox's dns option is asked from the sandbox, over its IPv6 network", async () => {
    // The test's host forwards IPv6, and the outside world routes the network's IPv6 subnet back
    // through it; no masquerade, so that the server sees the sandbox's own address.
    writeFileSync('/proc/sys/net/ipv6/conf/all/forwarding', '1');
    ip(['-6', 'route', 'add', 'fd00:231:7::/64', 'via', OUTSIDE.host6], `/run/netns/${outside}`);
    const net6 = await c.newNetwork('bridge', 'fwdv6', {
      enableIPv6: true,
      driverOptions: { 'com.docker.network.bridge.enable_ip_masquerade': 'false' },
      ipam: { config: [{ subnet: '10.231.7.0/24' }, { subnet: 'fd00:231:7::/64' }] },
    });
    const sandbox = await joined(net6, { dns: [OUTSIDE.server6] });
    // Its address works once duplicate address detection is over.
    await eventually(() => ip(['-6', 'addr'], sandbox.key).includes('tentative'), false);
    expect(await digShort(sandbox.key, ['six6.external.test'])).toEqual(['198.51.100.7']);
    expect(await digShort(sandbox.key, ['+tcp', 'six6tcp.external.test'])).toEqual(['198.51.100.7']);
    expect(readSafe(outsideLog)).toMatch(/query\[A\] six6\.external\.test from fd00:231:7::/);
    await sandbox.delete();
  });

  it("a loopback server of the host (in the host's resolv.conf) is asked from the host's namespace", async () => {
    const host = (await env.make({ predefinedNetworks: false }, 'nameserver 127.0.0.1\n')).controller;
    const net = await host.newNetwork('bridge', 'fwdloop', { ipam: { config: [{ subnet: '10.231.4.0/24' }] } });
    const sandbox = await host.newSandbox(uniqueName('fwd'));
    await (await net.createEndpoint(uniqueName('fwd'))).join(sandbox);
    expect(await digShort(sandbox.key, ['loop.test'])).toEqual(['198.51.100.8']);
    expect(readSafe(loopLog)).toMatch(/query\[A\] loop\.test from 127\.0\.0\.1/);
    await sandbox.delete();
  });

  it('a sandbox only on internal networks gets SERVFAIL at once, and nothing reaches the upstream', async () => {
    const internal = await c.newNetwork('bridge', 'fwdinternal', { internal: true, ipam: { config: [{ subnet: '10.231.3.0/24' }] } });
    const sandbox = await joined(internal);
    const started = Date.now();
    expect(await digStatus(sandbox.key, ['secret.external.test'])).toBe('SERVFAIL');
    expect(Date.now() - started).toBeLessThan(1500);
    expect(readSafe(outsideLog)).not.toContain('secret.external.test');
    // Joined to a network with a way out as well: it may forward.
    await (await c.networkByName('fwdnet')!.createEndpoint(uniqueName('out'))).join(sandbox);
    expect(await digShort(sandbox.key, ['open.external.test'])).toEqual(['198.51.100.7']);
    await sandbox.delete();
  });

  it('cuts a long answer over UDP and flags it truncated; the client gets all of it over TCP', async () => {
    const net = await c.newNetwork('bridge', 'bignet', { ipam: { config: [{ subnet: '10.231.4.0/24' }] } });
    const alias = 'a-rather-long-service-name-shared-by-many-endpoints';
    const members = await Promise.all(
      Array.from({ length: 12 }, async () => {
        const sandbox = await c.newSandbox(uniqueName('big'));
        await (await net.createEndpoint(uniqueName('big'), { dnsNames: [uniqueName('m'), alias] })).join(sandbox);
        return sandbox;
      }),
    );
    const key = members[0].key;
    const udp = await dig(key, ['+noedns', '+ignore', alias]);
    expect(udp).toMatch(/flags: qr tc rd ra;/);
    const kept = Number(/ANSWER: (\d+)/.exec(udp)![1]);
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThan(12);
    // Without +ignore, dig asks again over TCP and gets every address.
    expect(await digShort(key, ['+noedns', alias])).toHaveLength(12);
    await Promise.all(members.map((s) => s.delete()));
  });
});
