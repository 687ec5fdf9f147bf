// Batches: several operations in one trip to a worker thread, in order, stopping at the first
// failure; checked with `ip -j`.
import { existsSync } from 'node:fs';
import { batch, NetlinkError, type LinkInfo, type NativeOp } from '../../../lib/kernel';
import {
  NETNS_DIR,
  describeKernel,
  expectBackTo,
  expectInvalidArgument,
  expectNetlinkError,
  hostHasLink,
  ipAddrs,
  ipJson,
  ipLink,
  ipLinks,
  snapshot,
  trackKernelObjects,
  uniqueName,
} from '../../helpers/kernel';

describeKernel('batch', () => {
  const { each } = trackKernelObjects();

  it('runs an empty batch', async () => {
    expect(await batch([])).toEqual([]);
  });

  it('sets up a namespace in one batch and returns one result per operation', async () => {
    const name = uniqueName('ns');
    const ns = each.netns(`${NETNS_DIR}/${name}`);
    const [br, host, peer] = [each.link(uniqueName('br')), each.link(uniqueName('veth')), uniqueName('eth')];
    const ops: NativeOp[] = [
      { op: 'netnsCreate', dir: NETNS_DIR, name },
      { op: 'linkAdd', link: { kind: 'bridge', name: br, up: true } },
      { op: 'linkAdd', link: { kind: 'veth', name: host, master: br, peer: { name: peer, netns: ns } } },
      { op: 'linkSet', name: host, change: { up: true } },
      { op: 'linkSet', netns: ns, name: peer, change: { up: true } },
      { op: 'addressAdd', netns: ns, name: peer, address: '10.70.0.2/24' },
      { op: 'routeAdd', netns: ns, route: { destination: 'default', gateway: '10.70.0.1' } },
      { op: 'linkGet', netns: ns, name: peer },
      { op: 'addressList', netns: ns, name: peer, family: 4 },
      { op: 'sysctlGet', netns: ns, key: 'net.ipv4.conf.all.forwarding' },
    ];
    const results = await batch(ops);

    expect(results).toHaveLength(ops.length);
    expect(results[0]).toBe(ns);
    expect(results.slice(1, 7)).toEqual([undefined, undefined, undefined, undefined, undefined, undefined]);
    const peerOracle = ipLink(peer, ns)!;
    expect(results[7]).toMatchObject<Partial<LinkInfo>>({ name: peer, index: peerOracle.ifindex, kind: 'veth', up: true });
    expect(results[8]).toEqual([expect.objectContaining({ ifname: peer, address: '10.70.0.2', prefixLength: 24 })]);
    expect(results[9]).toMatch(/^[01]$/);

    expect(ipLink(host)).toMatchObject({ master: br });
    expect(ipLink(host)!.flags).toContain('UP');
    expect(peerOracle.flags).toContain('UP');
    expect(
      ipAddrs(peer, ns)
        .filter((a) => a.family === 'inet')
        .map((a) => `${a.local}/${a.prefixlen}`),
    ).toEqual(['10.70.0.2/24']);
    expect(ipJson(['route', 'show', 'default'], ns)).toEqual([expect.objectContaining({ gateway: '10.70.0.1', dev: peer })]);
  });

  it('stops at a failing operation in the middle: index names it, the ones before took effect', async () => {
    const [first, second, third] = [each.link(uniqueName('br')), each.link(uniqueName('br')), each.link(uniqueName('br'))];
    const err = await expectNetlinkError(
      batch([
        { op: 'linkAdd', link: { kind: 'bridge', name: first } },
        { op: 'linkAdd', link: { kind: 'bridge', name: second } },
        { op: 'linkAdd', link: { kind: 'bridge', name: first } },
        { op: 'linkAdd', link: { kind: 'bridge', name: third } },
      ]),
      { code: 'EEXIST', syscall: 'RTM_NEWLINK', object: first, index: 2 },
    );
    expect(err).toBeInstanceOf(NetlinkError);
    expect(ipLink(first)?.linkinfo?.info_kind).toBe('bridge');
    expect(ipLink(second)?.linkinfo?.info_kind).toBe('bridge');
    expect(hostHasLink(third)).toBe(false);
  });

  it('reports the index of a failure in a namespace op after a namespace it made', async () => {
    const name = uniqueName('ns');
    const ns = each.netns(`${NETNS_DIR}/${name}`);
    const missing = uniqueName('none');
    await expectNetlinkError(
      batch([
        { op: 'netnsCreate', dir: NETNS_DIR, name },
        { op: 'linkSet', netns: ns, name: 'lo', change: { up: true } },
        { op: 'addressAdd', netns: ns, name: missing, address: '10.71.0.1/24' },
      ]),
      { code: 'ENODEV', syscall: 'RTM_GETLINK', object: missing, index: 2 },
    );
    expect(existsSync(ns)).toBe(true); // the batch does not undo: that is the caller's choice
    expect(ipLinks(ns)).toEqual([expect.objectContaining({ ifname: 'lo', flags: expect.arrayContaining(['UP']) })]);
  });

  it('forgets a namespace it deleted: a later op on it fails with ENOENT', async () => {
    const name = uniqueName('ns');
    const ns = each.netns(`${NETNS_DIR}/${name}`);
    const before = snapshot();
    await expectNetlinkError(
      batch([
        { op: 'netnsCreate', dir: NETNS_DIR, name },
        { op: 'linkList', netns: ns },
        { op: 'netnsDelete', path: ns },
        { op: 'linkList', netns: ns },
      ]),
      { code: 'ENOENT', syscall: 'open', object: ns, index: 3 },
    );
    await expectBackTo(before);
  });

  it('looks names up again after a link changed within the batch', async () => {
    const [a, b, renamed] = [each.link(uniqueName('va')), uniqueName('vb'), each.link(uniqueName('rn'))];
    await batch([
      { op: 'linkAdd', link: { kind: 'veth', name: a, peer: { name: b } } },
      { op: 'addressAdd', name: a, address: '10.72.0.1/24' },
      { op: 'linkDelete', name: a },
      { op: 'linkAdd', link: { kind: 'veth', name: a, peer: { name: b } } },
      { op: 'addressAdd', name: a, address: '10.72.0.2/24' },
      { op: 'linkSet', name: b, change: { newName: renamed } },
      { op: 'linkAdd', link: { kind: 'bridge', name: b } },
      { op: 'addressAdd', name: b, address: '10.72.0.3/24' },
      { op: 'addressAdd', name: renamed, address: '10.72.0.4/24' },
    ]);
    each.link(b);
    expect(ipAddrs(a).map((x) => x.local)).toEqual(['10.72.0.2']);
    expect(ipAddrs(b).map((x) => x.local)).toEqual(['10.72.0.3']);
    expect(ipLink(b)?.linkinfo?.info_kind).toBe('bridge');
    expect(ipAddrs(renamed).map((x) => x.local)).toEqual(['10.72.0.4']);
    expect(ipLink(renamed)?.linkinfo?.info_kind).toBe('veth');
  });

  it('validates every operation before running any', async () => {
    const ok = each.link(uniqueName('br'));
    const before = snapshot();
    await expectInvalidArgument(
      batch([
        { op: 'linkAdd', link: { kind: 'bridge', name: ok } },
        { op: 'addressAdd', name: ok, address: '10.73.0.1/24' },
        { op: 'routeAdd', route: { destination: '10.73.0.1/24', dev: ok } },
      ]),
      'host bits',
    );
    await expectBackTo(before);
    expect(hostHasLink(ok)).toBe(false);
  });
});
