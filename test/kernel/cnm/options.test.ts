// Bad options through the public API: INVALID_ARGUMENT up front, naming the option, with nothing
// made (no namespace, link, file or record); options are copies; and a sandbox whose options were
// accepted comes back after a restart (it used to be lost, its namespace leaked).
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { NetworkController, type Endpoint, type Network, type Sandbox } from '../../../lib';
import { failsCleanly, restart, useControllers, type CnmFixture } from '../../helpers/cnm';
import { describeKernel, rejection, uniqueName } from '../../helpers/kernel';

describeKernel('options checked at the API', () => {
  const env = useControllers();
  let f: CnmFixture;
  let c: NetworkController;
  let network: Network;
  let sandbox: Sandbox;
  let endpoint: Endpoint;

  beforeAll(async () => {
    f = await env.make({ predefinedNetworks: false });
    c = f.controller;
    network = await c.newNetwork('bridge', 'opts', { ipam: { config: [{ subnet: '10.108.0.0/24' }] } });
    sandbox = await c.newSandbox(uniqueName('ctr'));
    endpoint = await network.createEndpoint('idle');
  });

  const refusals: [string, () => Promise<unknown>, string][] = [
    ['sandbox labels { n: 1 }', () => c.newSandbox(uniqueName('c'), { labels: { n: 1 } as unknown as Record<string, string> }), 'labels.n'],
    ['a newline in dnsSearch', () => c.newSandbox(uniqueName('c'), { dnsSearch: ['example.com\nnameserver 6.6.6.6'] }), 'dnsSearch[0]'],
    ['a newline in dnsOptions', () => c.newSandbox(uniqueName('c'), { dnsOptions: ['ndots:1\nnameserver 6.6.6.6'] }), 'dnsOptions[0]'],
    ['a newline in an extra host name', () => c.newSandbox(uniqueName('c'), { extraHosts: ['x\n6.6.6.6 bank:1.2.3.4'] }), 'extraHosts[0]'],
    ['a whitespace-only container id', () => c.newSandbox('  '), 'container id'],
    ['sandbox options that are a number', () => c.newSandbox(uniqueName('c'), 5 as never), 'sandbox options'],
    ['shareWith that is not a sandbox', () => c.newSandbox(uniqueName('c'), { shareWith: {} as Sandbox }), 'shareWith'],
    ['a whitespace-only network name', () => c.newNetwork('bridge', '\t'), 'network name'],
    ['subnet 0.0.0.0/0', () => c.newNetwork('bridge', 'n0', { ipam: { config: [{ subnet: '0.0.0.0/0' }] } }), '0.0.0.0/0'],
    ['subnet 127.0.0.0/8', () => c.newNetwork('bridge', 'n1', { ipam: { config: [{ subnet: '127.0.0.0/8' }] } }), 'loopback'],
    ['subnet 224.0.0.0/4', () => c.newNetwork('bridge', 'n2', { ipam: { config: [{ subnet: '224.0.0.0/4' }] } }), 'multicast'],
    ['subnet ::/0', () => c.newNetwork('bridge', 'n3', { enableIPv6: true, ipam: { config: [{ subnet: '::/0' }] } }), '::/0'],
    ['network labels { n: 1 }', () => c.newNetwork('bridge', 'n4', { labels: { n: 1 } as unknown as Record<string, string> }), 'labels.n'],
    ['ipam.config that is a string', () => c.newNetwork('bridge', 'n5', { ipam: { config: 'x' as never } }), 'ipam.config'],
    ['a whitespace-only endpoint name', () => network.createEndpoint(' '), 'endpoint name'],
    ['the zero MAC', () => network.createEndpoint('e0', { macAddress: '00:00:00:00:00:00' }), 'macAddress'],
    ['a multicast MAC', () => network.createEndpoint('e1', { macAddress: '01:00:5e:00:00:01' }), 'macAddress'],
    ['the broadcast MAC', () => network.createEndpoint('e2', { macAddress: 'ff:ff:ff:ff:ff:ff' }), 'macAddress'],
    ['an IPv6 hostIP', () => network.createEndpoint('e3', { portMapping: [{ proto: 'tcp', port: 80, hostIP: '::1' }] }), 'hostIP'],
    ['exposedPorts that is not an array', () => network.createEndpoint('e4', { exposedPorts: 80 as never }), 'exposedPorts'],
    ['priority NaN', () => endpoint.join(sandbox, { priority: NaN }), 'NaN'],
    ['priority Infinity', () => endpoint.join(sandbox, { priority: Infinity }), 'Infinity'],
    ['priority "5"', () => endpoint.join(sandbox, { priority: '5' as never }), '"5"'],
    ['join options that are null', () => endpoint.join(sandbox, null as never), 'join options'],
    ['a join to something that is not a sandbox', () => endpoint.join({} as Sandbox), 'sandbox'],
    ['a leave from null', () => endpoint.leave(null as never), 'sandbox'],
    ['delete options that are null', () => endpoint.delete(null as never), 'delete options'],
    ['force "yes"', () => endpoint.delete({ force: 'yes' as never }), 'force'],
  ];

  it.each(refusals)('refuses %s with INVALID_ARGUMENT naming it, making nothing', async (_, call, mentions) => {
    const err = await failsCleanly(f, call, 'INVALID_ARGUMENT');
    expect(err.message).toContain(mentions);
  });

  it('refuses a controller option of the wrong type before making its state directory', async () => {
    const stateDir = path.join(f.root, 'never-made');
    const err = await rejection(NetworkController.create({ stateDir, liveRestore: 'no' as never }));
    expect(err).toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('liveRestore') });
    expect(existsSync(stateDir)).toBe(false);
  });

  it('keeps copies of the options: changing them after the call changes nothing, in memory or on disk', async () => {
    const options = { hostname: 'web', dnsSearch: ['example.com'], extraHosts: ['db:10.108.0.9'], labels: { tier: 'front' } };
    const s = await c.newSandbox(uniqueName('copy'), options);
    // The search line: the join points resolv.conf at the embedded DNS server, with the same search.
    const resolv = () => /^search .*$/m.exec(readFileSync(path.join(f.runFolder, 'sandboxes', s.id, 'resolv.conf'), 'utf8'))?.[0];
    const written = resolv();
    expect(written).toBe('search example.com');
    options.dnsSearch.push('evil.example');
    options.labels.tier = 'back';
    const portMapping = [{ proto: 'tcp' as const, port: 80, hostPort: 0 }];
    const e = await network.createEndpoint('copy', { portMapping });
    portMapping[0].port = 81;
    await e.join(s);
    expect(s.labels).toEqual({ tier: 'front' });
    s.labels.tier = 'changed';
    expect(s.labels).toEqual({ tier: 'front' });
    expect(resolv()).toBe(written);
    expect(e.info().portMapping).toEqual([expect.objectContaining({ port: 80 })]);
    e.info().exposedPorts!.push({ proto: 'tcp', port: 1 });
    expect(e.info().exposedPorts).toEqual([]);
  });

  it('a sandbox with labels and a join priority comes back after a restart', async () => {
    const s = await c.newSandbox(uniqueName('back'), { labels: { n: '1' }, dnsSearch: ['example.com'] });
    const e = await network.createEndpoint('back');
    await e.join(s, { priority: 5 });
    const again = await restart(f);
    c = again;
    expect(again.restoreReport().warnings).toEqual([]);
    const restored = again.sandboxById(s.id)!;
    expect(restored.labels).toEqual({ n: '1' });
    expect(restored.endpoints().map((x) => x.name)).toEqual(['back']);
    // The objects of the old controller are stale: the tests above are done with them.
    network = again.networkByName('opts')!;
  });
});
