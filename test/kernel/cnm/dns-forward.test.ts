// The embedded DNS server forwards the names it does not know: to a real upstream server
// (dnsmasq) in an "outside" namespace of the test world, through the sandbox's own network
// (bridge, masquerade), or to a loopback server of the host, from the host's namespace. A sandbox
// only on internal networks never gets answers from outside (CVE-2024-29018).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { Network, NetworkController, Sandbox } from '../../../lib';
import { useControllers, type CnmFixture } from '../../helpers/cnm';
import { Child, dig, digShort, digStatus } from '../../helpers/dns';
import { describeKernel, ip, uniqueName } from '../../helpers/kernel';

const OUTSIDE = { host: '10.232.0.1', server: '10.232.0.2' };

/** dnsmasq answering NAME.external.test (and loop.test) with a fixed address, logging every query. */
async function dnsmasq(netnsArgs: string[], listen: string, log: string): Promise<Child> {
  const argv = [
    ...netnsArgs,
    'dnsmasq',
    '--keep-in-foreground',
    '--conf-file=/dev/null',
    '--no-resolv',
    '--no-hosts',
    '--bind-interfaces',
    `--listen-address=${listen}`,
    '--address=/external.test/198.51.100.7',
    '--address=/loop.test/198.51.100.8',
    '--log-queries',
    `--log-facility=${log}`,
    `--pid-file=${log}.pid`,
    '--user=root',
  ];
  // Ready once its log says it started.
  return Child.start(argv, () => readSafe(log).includes('started'));
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

  beforeAll(async () => {
    // Whatever happens below, the outside world and the servers go after the last test.
    env.later(() => rmSync(folder, { recursive: true, force: true }));
    env.later(() => ip(['netns', 'del', outside]));
    env.later(() => servers.forEach((s) => s.stop()));
    ip(['netns', 'add', outside]);
    ip(['link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', outside]);
    ip(['addr', 'add', `${OUTSIDE.host}/24`, 'dev', veth]);
    ip(['link', 'set', veth, 'up']);
    ip(['addr', 'add', `${OUTSIDE.server}/24`, 'dev', 'eth0'], `/run/netns/${outside}`);
    ip(['link', 'set', 'eth0', 'up'], `/run/netns/${outside}`);
    ip(['link', 'set', 'lo', 'up'], `/run/netns/${outside}`);
    servers.push(await dnsmasq(['nsenter', `--net=/run/netns/${outside}`], OUTSIDE.server, outsideLog));
    ip(['link', 'set', 'lo', 'up']);
    servers.push(await dnsmasq([], '127.0.0.1', loopLog));
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
    expect(await digShort(sandbox.key, ['+tcp', 'tcp.external.test'])).toEqual(['198.51.100.7']);
    // It left like the sandbox's own traffic: masqueraded to the host's address on the outside link.
    expect(readSafe(outsideLog)).toMatch(new RegExp(`query\\[A\\] www\\.external\\.test from ${OUTSIDE.host.replace(/\./g, '\\.')}`));
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
