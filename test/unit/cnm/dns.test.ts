// Sandboxes and their embedded DNS servers on a fake kernel: when a resolver is opened and closed,
// what it redirects, and that its answers follow joins and leaves at once.
import * as dnsPacket from 'dns-packet';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { NetworkController, Sandbox } from '../../../lib';
import { sockaddr } from '../../../lib/dns/sockaddr';
import { redirectTable } from '../../../lib/dns/redirect';
import { DNS_CHANNEL } from '../../../lib/native';
import { fakeWorld, recordBatches, type FakeWorld } from '../../helpers/fake-cnm';

const resolvConf = (world: FakeWorld, s: Sandbox) =>
  readFileSync(path.join(world.options.runDir!, s.controller.owner, 'sandboxes', s.id, 'resolv.conf'), 'utf8');

/** Asks a resolver (the first opened) as the pump would hand it a UDP query; returns what it sent. */
function ask(world: FakeWorld, name: string): dnsPacket.DecodedPacket | { forwardedTo: string } {
  const [id] = world.kernel.dns.attached.keys();
  const data = dnsPacket.encode({ type: 'query', id: 99, questions: [{ name, type: 'A', class: 'IN' }] });
  const before = world.kernel.dns.sent.length;
  world.kernel.dns.deliver({ id, channel: DNS_CHANNEL.udp, conn: 0, peer: sockaddr('127.0.0.1', 5353), data });
  const sent = world.kernel.dns.sent[before];
  if (sent.channel === DNS_CHANNEL.forward || sent.channel === DNS_CHANNEL.hostForward) return { forwardedTo: sent.peer.subarray(4, 8).join('.') };
  return dnsPacket.decode(sent.data);
}

/** The commands of the last nf_tables transaction in the sandbox's namespace. */
const addresses = (reply: ReturnType<typeof ask>) => ('answers' in reply ? reply.answers!.map((a) => (a as { data: string }).data) : reply);

describe('embedded DNS server on a fake kernel', () => {
  let world: FakeWorld;
  let controller: NetworkController;

  beforeEach(async () => {
    world = fakeWorld();
    controller = await world.start();
  });

  it('the default bridge keeps the host servers; a user-defined network opens the resolver and its redirect', async () => {
    const sandbox = await controller.newSandbox('c1');
    await (await controller.networkByName('bridge')!.createEndpoint('e0')).join(sandbox);
    expect(world.kernel.dns.attached.size).toBe(0);
    expect(resolvConf(world, sandbox)).toBe('nameserver 10.0.0.53\nsearch host.example\n');

    const user = await controller.newNetwork('bridge', 'user', { ipam: { config: [{ subnet: '10.9.0.0/24' }] } });
    await (await user.createEndpoint('e1', { dnsNames: ['web'] })).join(sandbox);
    // On the ports its namespace was made with sockets for, in the join's own batch.
    const ports = sandbox.resolverPorts;
    expect(world.kernel.log.find((op) => op.op === 'netnsCreate')).toMatchObject({ resolverSockets: ports });
    // The op that opens the sockets makes the redirect to them too: no nf_tables transaction of its own.
    expect(world.kernel.log.filter((op) => op.op === 'dnsSockets')).toEqual([
      { op: 'dnsSockets', netns: sandbox.key, ...ports, redirectTable: redirectTable(controller.owner) },
    ]);
    expect(world.kernel.log.filter((op) => op.op === 'nftTransaction' && op.netns === sandbox.key)).toEqual([]);
    expect(world.kernel.dns.attached.size).toBe(1);
    expect([...world.kernel.ns(sandbox.key).nftTables]).toEqual([`inet cnm-ts-${controller.owner}-dns`]);
    expect(resolvConf(world, sandbox)).toBe('nameserver 127.0.0.11\nsearch host.example\noptions ndots:0\n');
    // A second join opens nothing more.
    const other = await controller.newNetwork('bridge', 'other', { ipam: { config: [{ subnet: '10.9.1.0/24' }] } });
    await (await other.createEndpoint('e2')).join(sandbox);
    expect(world.kernel.dns.attached.size).toBe(1);
    await controller.stop({ removeAll: true });
    expect(world.kernel.dns.attached.size).toBe(0);
  });

  it('serves on the port the sockets got when one asked for was taken, with no second trip for the redirect', async () => {
    const sandbox = await controller.newSandbox('c1');
    world.kernel.takenPorts.add(sandbox.resolverPorts.tcpPort);
    const user = await controller.newNetwork('bridge', 'user', { ipam: { config: [{ subnet: '10.9.0.0/24' }] } });
    const endpoint = await user.createEndpoint('e1');
    const batches = recordBatches(world);
    await endpoint.join(sandbox);
    const [resolver] = world.kernel.dns.attached.values();
    expect(resolver.sockets).toMatchObject({ udpPort: sandbox.resolverPorts.udpPort, tcpPort: 40001 });
    expect(batches).toHaveLength(1);
    expect(batches[0]).toContain('dnsSockets');
    expect(batches[0]).not.toContain('nftTransaction');
    await controller.stop({ removeAll: true });
  });

  it('answers follow joins and leaves at once; unknown names go to the upstream', async () => {
    const user = await controller.newNetwork('bridge', 'user', { ipam: { config: [{ subnet: '10.9.0.0/24' }] } });
    const sandbox = await controller.newSandbox('c1');
    const web = await user.createEndpoint('web-ep', { dnsNames: ['web'], ipv4Address: '10.9.0.10' });
    await web.join(sandbox);
    expect(addresses(ask(world, 'web'))).toEqual(['10.9.0.10']);
    const other = await controller.newSandbox('c2');
    const named = await user.createEndpoint('plain', { ipv4Address: '10.9.0.11' });
    await named.join(other);
    // Without dnsNames, the endpoint's name.
    expect(addresses(ask(world, 'plain'))).toEqual(['10.9.0.11']);
    await named.leave(other);
    expect(ask(world, 'plain')).toEqual({ forwardedTo: '10.0.0.53' });
    // A sandbox joined to nothing (or to internal networks only) forwards nothing.
    await web.leave(sandbox);
    expect(ask(world, 'plain')).toMatchObject({ rcode: 'SERVFAIL' });
    await controller.stop({ removeAll: true });
  });

  it('hands the pump a repeatable UDP answer with its query, and makes the pump forget at every join and leave', async () => {
    const user = await controller.newNetwork('bridge', 'user', { ipam: { config: [{ subnet: '10.9.0.0/24' }] } });
    const sandbox = await controller.newSandbox('c1');
    const forgets = world.kernel.dns.forgets;
    const web = await user.createEndpoint('web-ep', { dnsNames: ['web'], ipv4Address: '10.9.0.10' });
    await web.join(sandbox);
    expect(world.kernel.dns.forgets).toBe(forgets + 1);
    const [id] = world.kernel.dns.attached.keys();
    const data = dnsPacket.encode({ type: 'query', id: 99, questions: [{ name: 'web', type: 'A', class: 'IN' }] });
    world.kernel.dns.deliver({ id, channel: DNS_CHANNEL.udp, conn: 0, peer: sockaddr('127.0.0.1', 5353), data });
    expect(world.kernel.dns.sent.at(-1)!.query).toEqual(data);
    // Over TCP the pump keeps nothing: each query comes to the resolver.
    world.kernel.dns.deliver({ id, channel: DNS_CHANNEL.tcp, conn: 1, peer: Buffer.alloc(0), data });
    expect(world.kernel.dns.sent.at(-1)!.query).toBeUndefined();
    await web.leave(sandbox);
    expect(world.kernel.dns.forgets).toBe(forgets + 2);
    await controller.stop({ removeAll: true });
  });

  it('a container-mode sandbox takes the resolv.conf of the sandbox it shares, unless it has DNS options of its own', async () => {
    const user = await controller.newNetwork('bridge', 'user', { ipam: { config: [{ subnet: '10.9.0.0/24' }] } });
    const owner = await controller.newSandbox('c1');
    const sharer = await controller.newSandbox('c2', { shareWith: owner });
    const own = await controller.newSandbox('c3', { shareWith: owner, dns: ['10.0.0.99'] });
    await (await user.createEndpoint('e1')).join(owner);
    expect(resolvConf(world, sharer)).toBe('nameserver 127.0.0.11\nsearch host.example\noptions ndots:0\n');
    expect(resolvConf(world, own)).toBe('nameserver 10.0.0.99\nsearch host.example\n');
    await owner.delete();
    expect(resolvConf(world, sharer)).toBe('nameserver 10.0.0.53\nsearch host.example\n');
    // The namespace stays for the sharers, without the redirect to the closed resolver.
    expect([...world.kernel.ns(owner.key).nftTables]).toEqual([]);
    await controller.stop({ removeAll: true });
  });

  it('a sandbox delete and a stop close the resolver; a restart opens it again', async () => {
    const user = await controller.newNetwork('bridge', 'user', { ipam: { config: [{ subnet: '10.9.0.0/24' }] } });
    const [s1, s2] = [await controller.newSandbox('c1'), await controller.newSandbox('c2')];
    await (await user.createEndpoint('e1')).join(s1);
    await (await user.createEndpoint('e2')).join(s2);
    expect(world.kernel.dns.attached.size).toBe(2);
    await s1.delete();
    expect(world.kernel.dns.attached.size).toBe(1);
    await controller.stop();
    expect(world.kernel.dns.attached.size).toBe(0);
    controller = await world.start();
    expect(world.kernel.dns.attached.size).toBe(1);
    expect(addresses(ask(world, 'e2'))).toEqual([controller.networkByName('user')!.endpointByName('e2')!.info().interface.address!.split('/')[0]]);
    await controller.stop({ removeAll: true });
    expect(world.kernel.snapshot()).toMatchObject({ dns: { loose: 0, resolvers: 0 } });
  });
});
