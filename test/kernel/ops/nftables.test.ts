// nf_tables over NETLINK_NETFILTER: transactions, read-back, conntrack delete. Checked against
// `nft -j` (an independent view) and real TCP traffic through a router namespace.
import {
  NetlinkError,
  conntrackDelete,
  linkAdd,
  nftExpr as x,
  nftListChains,
  nftListElements,
  nftListRules,
  nftListSets,
  nftListTables,
  nftPrefixElement,
  nftTransaction,
  nftValue as v,
  type InNamespace,
  type NftCommand,
  type NftFamily,
} from '../../../lib/kernel';
import { loadBinding } from '../../../lib/native';
import { EchoServer, describeKernel, expectInvalidArgument, expectNetlinkError, ip, trackKernelObjects, uniqueName } from '../../helpers/kernel';
import { PeerAddressServer, conntrackEntries, nft, nftJson, nftRules, nftRuleset, ofKind, tcpAttempt } from '../../helpers/nft';

describeKernel('nftables', () => {
  const { each, all } = trackKernelObjects();

  /** A table of this test's own in the test's namespace (or `netns`), deleted after the test. */
  function ownTable(family: NftFamily = 'inet', where: InNamespace = {}): { family: NftFamily; table: string } {
    const table = uniqueName('cnm');
    each.later(() => nftTransaction([{ cmd: 'deleteTable', family, table, ifExists: true }], where));
    return { family, table };
  }

  afterAll(() => {
    // Nothing the tests made is left in the test's namespace.
    expect(nftRuleset()).toEqual([]);
  });

  it('creates a table with base chains, rules, a set and a map, as nft shows them', async () => {
    const T = ownTable();
    const commands: NftCommand[] = [
      { cmd: 'addTable', ...T },
      { cmd: 'addChain', ...T, chain: 'postrouting', type: 'nat', hook: 'postrouting', priority: 100, policy: 'accept' },
      { cmd: 'addChain', ...T, chain: 'prerouting', type: 'nat', hook: 'prerouting', priority: -100, policy: 'accept' },
      { cmd: 'addChain', ...T, chain: 'forward', type: 'filter', hook: 'forward', priority: 0, policy: 'drop' },
      { cmd: 'addChain', ...T, chain: 'isolation' },
      { cmd: 'addSet', ...T, set: 'published', key: ['ipv4_addr', 'inet_proto', 'inet_service'] },
      { cmd: 'addSet', ...T, set: 'open', key: ['ipv4_addr', 'inet_service'] },
      { cmd: 'addSet', ...T, set: 'ports', key: ['ipv4_addr', 'inet_service'], data: ['ipv4_addr', 'inet_service'] },
      { cmd: 'addElements', ...T, set: 'published', elements: [{ key: [v.ipv4('172.30.0.2'), v.protocol('tcp'), v.port(80)] }] },
      { cmd: 'addElements', ...T, set: 'ports', elements: [{ key: [v.ipv4('10.0.0.1'), v.port(8080)], data: [v.ipv4('172.30.0.2'), v.port(80)] }] },
      {
        cmd: 'addRule',
        ...T,
        chain: 'postrouting',
        comment: 'masq br-x',
        exprs: [...x.saddr('172.30.0.0/16'), ...x.oifname('br-x', { negate: true }), x.counter(), x.masquerade()],
      },
      { cmd: 'addRule', ...T, chain: 'prerouting', comment: 'dnat', exprs: x.dnatByMap('ports', 'tcp') },
      { cmd: 'addRule', ...T, chain: 'forward', exprs: [...x.ctState(['established', 'related']), x.accept()] },
      { cmd: 'addRule', ...T, chain: 'forward', comment: 'icc', exprs: [...x.iifname('br-x'), ...x.oifname('br-x'), x.drop()] },
      { cmd: 'addRule', ...T, chain: 'forward', exprs: [...x.oifname('br-x'), ...x.daddrPortIn('open', 'tcp'), x.accept()] },
      { cmd: 'addRule', ...T, chain: 'forward', exprs: [...x.iifname('br-*'), x.jump('isolation')] },
    ];
    await nftTransaction(commands);

    const listing = nftJson(['-a', 'list', 'table', T.family, T.table]);
    expect(ofKind(listing, 'chain')).toEqual([
      { family: 'inet', table: T.table, name: 'postrouting', handle: expect.any(Number), type: 'nat', hook: 'postrouting', prio: 100, policy: 'accept' },
      { family: 'inet', table: T.table, name: 'prerouting', handle: expect.any(Number), type: 'nat', hook: 'prerouting', prio: -100, policy: 'accept' },
      { family: 'inet', table: T.table, name: 'forward', handle: expect.any(Number), type: 'filter', hook: 'forward', prio: 0, policy: 'drop' },
      { family: 'inet', table: T.table, name: 'isolation', handle: expect.any(Number) },
    ]);
    const rules = nftRules(T.family, T.table);
    expect(rules.map((r) => [r.chain, r.comment, r.expr])).toEqual([
      [
        'postrouting',
        'masq br-x',
        [
          { match: { op: '==', left: { payload: { protocol: 'ip', field: 'saddr' } }, right: { prefix: { addr: '172.30.0.0', len: 16 } } } },
          { match: { op: '!=', left: { meta: { key: 'oifname' } }, right: 'br-x' } },
          { counter: { packets: 0, bytes: 0 } },
          { masquerade: null },
        ],
      ],
      [
        'prerouting',
        'dnat',
        [
          {
            dnat: {
              family: 'ip',
              addr: {
                map: { key: { concat: [{ payload: { protocol: 'ip', field: 'daddr' } }, { payload: { protocol: 'tcp', field: 'dport' } }] }, data: '@ports' },
              },
            },
          },
        ],
      ],
      ['forward', undefined, [{ match: { op: 'in', left: { ct: { key: 'state' } }, right: ['established', 'related'] } }, { accept: null }]],
      [
        'forward',
        'icc',
        [
          { match: { op: '==', left: { meta: { key: 'iifname' } }, right: 'br-x' } },
          { match: { op: '==', left: { meta: { key: 'oifname' } }, right: 'br-x' } },
          { drop: null },
        ],
      ],
      [
        'forward',
        undefined,
        [
          { match: { op: '==', left: { meta: { key: 'oifname' } }, right: 'br-x' } },
          {
            match: {
              op: '==',
              left: { concat: [{ payload: { protocol: 'ip', field: 'daddr' } }, { payload: { protocol: 'tcp', field: 'dport' } }] },
              right: '@open',
            },
          },
          { accept: null },
        ],
      ],
      ['forward', undefined, [{ match: { op: '==', left: { meta: { key: 'iifname' } }, right: 'br-*' } }, { jump: { target: 'isolation' } }]],
    ]);
    expect(ofKind(listing, 'set')).toEqual([
      expect.objectContaining({ name: 'published', type: ['ipv4_addr', 'inet_proto', 'inet_service'], elem: [{ concat: ['172.30.0.2', 'tcp', 80] }] }),
      expect.objectContaining({ name: 'open', type: ['ipv4_addr', 'inet_service'] }),
    ]);
    expect(ofKind(listing, 'map')).toEqual([
      expect.objectContaining({
        name: 'ports',
        type: ['ipv4_addr', 'inet_service'],
        map: 'ipv4_addr . inet_service',
        elem: [[{ concat: ['10.0.0.1', 8080] }, { concat: ['172.30.0.2', 80] }]],
      }),
    ]);

    // The library's read-back agrees with nft, handles included.
    expect(await nftListTables({ family: 'inet' })).toEqual([expect.objectContaining({ family: 'inet', name: T.table })]);
    const chains = await nftListChains(T.family, T.table);
    expect(chains.map((c) => [c.name, c.type, c.hook, c.priority, c.policy, c.handle])).toEqual(
      ofKind<{ name: string; type?: string; hook?: string; prio?: number; policy?: string; handle: number }>(listing, 'chain').map((c) => [
        c.name,
        c.type,
        c.hook,
        c.prio,
        c.policy,
        c.handle,
      ]),
    );
    const listed = await nftListRules(T.family, T.table);
    expect(listed.map((r) => [r.chain, r.handle, r.comment ?? undefined])).toEqual(rules.map((r) => [r.chain, r.handle, r.comment]));
    expect(listed[0].exprs).toEqual(['meta', 'cmp', 'payload', 'bitwise', 'cmp', 'meta', 'cmp', 'counter', 'masq']);
    expect((await nftListRules(T.family, T.table, { chain: 'forward' })).map((r) => r.exprs.length)).toEqual([4, 5, 10, 3]);
    const sets = await nftListSets(T.family, T.table);
    expect(sets.map((s) => [s.name, s.map, s.keyLen, s.dataLen])).toEqual([
      ['published', false, 12, 0],
      ['open', false, 8, 0],
      ['ports', true, 8, 8],
    ]);
  });

  it('appends, inserts, positions and deletes rules by handle; flushes chains and tables', async () => {
    const T = ownTable('ip');
    await nftTransaction([
      { cmd: 'addTable', ...T },
      { cmd: 'addChain', ...T, chain: 'c' },
      { cmd: 'addRule', ...T, chain: 'c', comment: 'first', exprs: [x.counter()] },
      { cmd: 'addRule', ...T, chain: 'c', comment: 'last', exprs: [x.accept()] },
      { cmd: 'addRule', ...T, chain: 'c', comment: 'top', insert: true, exprs: [x.drop()] },
    ]);
    const handleOf = async (tag: string) => (await nftListRules(T.family, T.table, { chain: 'c' })).find((r) => r.comment === tag)!.handle;
    await nftTransaction([{ cmd: 'addRule', ...T, chain: 'c', comment: 'after first', position: await handleOf('first'), exprs: [x.counter()] }]);
    expect(nftRules(T.family, T.table).map((r) => r.comment)).toEqual(['top', 'first', 'after first', 'last']);

    await nftTransaction([{ cmd: 'deleteRule', ...T, chain: 'c', handle: await handleOf('first') }]);
    expect(nftRules(T.family, T.table).map((r) => r.comment)).toEqual(['top', 'after first', 'last']);
    await expectNetlinkError(nftTransaction([{ cmd: 'deleteRule', ...T, chain: 'c', handle: 99999 }]), { code: 'ENOENT', syscall: 'NFT_MSG_DELRULE' });
    await nftTransaction([{ cmd: 'deleteRule', ...T, chain: 'c', handle: 99999, ifExists: true }]);

    await nftTransaction([
      { cmd: 'addChain', ...T, chain: 'd' },
      { cmd: 'addRule', ...T, chain: 'd', exprs: [x.accept()] },
      { cmd: 'flushChain', ...T, chain: 'c' },
    ]);
    expect(nftRules(T.family, T.table).map((r) => r.chain)).toEqual(['d']);
    await nftTransaction([{ cmd: 'flushTable', ...T }]);
    expect(nftRules(T.family, T.table)).toEqual([]);
    expect(ofKind(nftJson(['list', 'table', 'ip', T.table]), 'chain').map((c) => (c as { name: string }).name)).toEqual(['c', 'd']);
    await nftTransaction([
      { cmd: 'deleteChain', ...T, chain: 'd' },
      { cmd: 'deleteChain', ...T, chain: 'gone', ifExists: true },
    ]);
    expect(ofKind(nftJson(['list', 'table', 'ip', T.table]), 'chain').map((c) => (c as { name: string }).name)).toEqual(['c']);
  });

  it('leaves nothing when a transaction fails in the middle, and names the failed command', async () => {
    const T = ownTable();
    await nftTransaction([
      { cmd: 'addTable', ...T },
      { cmd: 'addChain', ...T, chain: 'keep' },
    ]);
    const before = nftRuleset();

    const jump = await expectNetlinkError(
      nftTransaction([
        { cmd: 'addChain', ...T, chain: 'new' },
        { cmd: 'addSet', ...T, set: 's', key: 'ipv4_addr' },
        { cmd: 'addRule', ...T, chain: 'new', exprs: [x.accept()] },
        { cmd: 'addRule', ...T, chain: 'new', exprs: [x.jump('missing')] },
        { cmd: 'addTable', family: 'ip', table: T.table },
      ]),
      { code: 'ENOENT', syscall: 'NFT_MSG_NEWRULE', object: `rule in chain inet ${T.table} new`, index: 0 },
    );
    expect(jump.command).toBe(3);
    expect(jump.message).toContain('[command 3]');
    if (jump.extack !== undefined) expect(typeof jump.extack).toBe('string');
    expect(nftRuleset()).toEqual(before);

    const exclusive = await expectNetlinkError(
      nftTransaction([
        { cmd: 'addChain', ...T, chain: 'other' },
        { cmd: 'addTable', ...T, exclusive: true },
      ]),
      { code: 'EEXIST', syscall: 'NFT_MSG_NEWTABLE', object: `table inet ${T.table}` },
    );
    expect(exclusive.command).toBe(1);
    expect(nftRuleset()).toEqual(before);
    await nftTransaction([{ cmd: 'addTable', ...T }]); // not exclusive: an existing table is fine
    expect(nftRuleset()).toEqual(before);
  });

  it('adds, lists and deletes set and map elements, intervals and verdict maps included', async () => {
    const T = ownTable();
    await nftTransaction([
      { cmd: 'addTable', ...T },
      { cmd: 'addChain', ...T, chain: 'target' },
      { cmd: 'addSet', ...T, set: 'ports', key: 'inet_service' },
      { cmd: 'addSet', ...T, set: 'nets', key: 'ipv4_addr', flags: ['interval'] },
      { cmd: 'addSet', ...T, set: 'portmap', key: ['ipv4_addr', 'inet_service'], data: ['ipv4_addr', 'inet_service'] },
      { cmd: 'addSet', ...T, set: 'jumps', key: 'ifname', data: 'verdict' },
      { cmd: 'addElements', ...T, set: 'ports', elements: [{ key: v.port(80) }, { key: '01bb' }, { key: v.port(8080) }] },
      { cmd: 'addElements', ...T, set: 'nets', elements: [nftPrefixElement('10.0.0.0/8'), nftPrefixElement('192.168.1.7/32')] },
      {
        cmd: 'addElements',
        ...T,
        set: 'portmap',
        elements: [
          { key: [v.ipv4('10.0.0.1'), v.port(8080)], data: [v.ipv4('172.30.0.2'), v.port(80)] },
          { key: [v.ipv4('10.0.0.1'), v.port(8443)], data: [v.ipv4('172.30.0.3'), v.port(443)] },
        ],
      },
      {
        cmd: 'addElements',
        ...T,
        set: 'jumps',
        elements: [
          { key: v.ifname('br-a'), verdict: 'jump', chain: 'target' },
          { key: v.ifname('br-b'), verdict: 'drop' },
        ],
      },
    ]);
    const elems = (set: string) => {
      const kind = set === 'portmap' || set === 'jumps' ? 'map' : 'set';
      return ofKind<{ elem?: unknown[] }>(nftJson(['list', kind, 'inet', T.table, set]), kind)[0].elem ?? [];
    };
    expect(elems('ports')).toEqual(expect.arrayContaining([80, 443, 8080]));
    expect(elems('nets')).toEqual([{ prefix: { addr: '10.0.0.0', len: 8 } }, '192.168.1.7']);
    expect(elems('portmap')).toEqual(
      expect.arrayContaining([
        [{ concat: ['10.0.0.1', 8080] }, { concat: ['172.30.0.2', 80] }],
        [{ concat: ['10.0.0.1', 8443] }, { concat: ['172.30.0.3', 443] }],
      ]),
    );
    expect(elems('jumps')).toEqual(
      expect.arrayContaining([
        ['br-a', { jump: { target: 'target' } }],
        ['br-b', { drop: null }],
      ]),
    );
    expect((await nftListElements(T.family, T.table, 'ports')).map((e) => e.key).sort()).toEqual(['0050', '01bb', '1f90']);
    expect(await nftListElements(T.family, T.table, 'portmap')).toEqual(
      expect.arrayContaining([expect.objectContaining({ key: '0a0000011f900000', data: 'ac1e00020050' + '0000' })]),
    );
    expect(await nftListElements(T.family, T.table, 'jumps')).toEqual(expect.arrayContaining([expect.objectContaining({ verdict: 'jump', chain: 'target' })]));

    await nftTransaction([
      { cmd: 'deleteElements', ...T, set: 'ports', elements: [{ key: v.port(443) }] },
      { cmd: 'deleteElements', ...T, set: 'nets', elements: [nftPrefixElement('10.0.0.0/8')] },
      { cmd: 'deleteElements', ...T, set: 'portmap', elements: [{ key: [v.ipv4('10.0.0.1'), v.port(8080)] }] },
    ]);
    expect(elems('ports')).toEqual(expect.arrayContaining([80, 8080]));
    expect(elems('ports')).toHaveLength(2);
    expect(elems('nets')).toEqual(['192.168.1.7']);
    expect(elems('portmap')).toEqual([[{ concat: ['10.0.0.1', 8443] }, { concat: ['172.30.0.3', 443] }]]);
    await expectNetlinkError(nftTransaction([{ cmd: 'deleteElements', ...T, set: 'ports', elements: [{ key: v.port(443) }] }]), {
      code: 'ENOENT',
      syscall: 'NFT_MSG_DELSETELEM',
    });

    await nftTransaction([
      { cmd: 'flushSet', ...T, set: 'ports' },
      { cmd: 'deleteSet', ...T, set: 'nets' },
      { cmd: 'deleteSet', ...T, set: 'gone', ifExists: true },
    ]);
    expect(elems('ports')).toEqual([]);
    expect(await nftListElements(T.family, T.table, 'ports')).toEqual([]);
    expect((await nftListSets(T.family, T.table)).map((s) => s.name).sort()).toEqual(['jumps', 'portmap', 'ports']);
  });

  it('deletes its own table completely and never touches tables of others', async () => {
    nft(['add', 'table', 'inet', 'other']);
    nft(['add', 'chain', 'inet', 'other', 'keep', '{ type filter hook input priority 0; }']);
    each.later(() => nft(['delete', 'table', 'inet', 'other']));
    const others = nftRuleset();

    const T = ownTable();
    await nftTransaction([
      { cmd: 'addTable', ...T },
      { cmd: 'addChain', ...T, chain: 'forward', type: 'filter', hook: 'forward', priority: 0 },
      { cmd: 'addSet', ...T, set: 's', key: 'ipv4_addr' },
      { cmd: 'addRule', ...T, chain: 'forward', exprs: [...x.daddr('10.0.0.1'), x.drop()] },
    ]);
    expect(nftRuleset()).not.toEqual(others);
    await nftTransaction([{ cmd: 'deleteTable', ...T }]);
    expect(nftRuleset()).toEqual(others);
    expect((await nftListTables()).map((t) => `${t.family} ${t.name}`)).toEqual(['inet other']);

    const missing = await expectNetlinkError(nftTransaction([{ cmd: 'deleteTable', ...T }]), { code: 'ENOENT', syscall: 'NFT_MSG_DELTABLE' });
    expect(missing.command).toBe(0);
    await nftTransaction([{ cmd: 'deleteTable', ...T, ifExists: true }]);
    expect(nftRuleset()).toEqual(others);
  });

  it('acts inside a namespace and leaves the caller’s own rule set alone', async () => {
    const ns = await each.namespace();
    const T = ownTable('inet', { netns: ns });
    await nftTransaction(
      [
        { cmd: 'addTable', ...T },
        { cmd: 'addChain', ...T, chain: 'c' },
      ],
      { netns: ns },
    );
    expect(ofKind(nftRuleset(ns), 'table')).toEqual([expect.objectContaining({ family: 'inet', name: T.table })]);
    expect(nftRuleset()).toEqual([]);
    expect(await nftListTables({ netns: ns })).toEqual([expect.objectContaining({ name: T.table })]);
    expect(await nftListTables()).toEqual([]);
  });

  describe('real traffic through a router namespace', () => {
    // client (10.61.1.2) --- (10.61.1.1) router (10.61.2.1) --- (10.61.2.2) server
    let client: string, router: string, server: string;
    const R = () => ({ netns: router });

    beforeAll(async () => {
      client = await all.namespace();
      router = await all.namespace({ 'net.ipv4.ip_forward': '1' });
      server = await all.namespace();
      await linkAdd({ kind: 'veth', name: 'c0', netns: client, up: true, peer: { name: 'r1', netns: router } });
      await linkAdd({ kind: 'veth', name: 'r2', netns: router, up: true, peer: { name: 's0', netns: server } });
      ip(['addr', 'add', '10.61.1.2/24', 'dev', 'c0'], client);
      ip(['route', 'add', 'default', 'via', '10.61.1.1'], client);
      ip(['addr', 'add', '10.61.1.1/24', 'dev', 'r1'], router);
      ip(['link', 'set', 'r1', 'up'], router);
      ip(['addr', 'add', '10.61.2.1/24', 'dev', 'r2'], router);
      ip(['addr', 'add', '10.61.2.2/24', 'dev', 's0'], server);
      ip(['link', 'set', 's0', 'up'], server);
      ip(['route', 'add', 'default', 'via', '10.61.2.1'], server);
    });

    it('drops forwarded TCP to one port and lets another through', async () => {
      const T = ownTable('inet', R());
      const [open, blocked] = [await EchoServer.start('10.61.2.2', 7000, server), await EchoServer.start('10.61.2.2', 7001, server)];
      try {
        expect(tcpAttempt('10.61.2.2', 7001, client)).toBe('hello');
        await nftTransaction(
          [
            { cmd: 'addTable', ...T },
            { cmd: 'addChain', ...T, chain: 'forward', type: 'filter', hook: 'forward', priority: 0, policy: 'accept' },
            { cmd: 'addRule', ...T, chain: 'forward', exprs: [...x.dport('tcp', 7001), x.counter(), x.drop()] },
          ],
          R(),
        );
        expect(tcpAttempt('10.61.2.2', 7000, client)).toBe('hello');
        expect(tcpAttempt('10.61.2.2', 7001, client)).toBe('timeout');
        const [rule] = nftRules(T.family, T.table, router);
        expect(rule.expr).toContainEqual({ counter: { packets: expect.any(Number), bytes: expect.any(Number) } });
        expect((rule.expr.find((e) => 'counter' in e) as { counter: { packets: number } }).counter.packets).toBeGreaterThan(0);
      } finally {
        open.stop();
        blocked.stop();
      }
    });

    it('masquerades traffic out of one interface: the server sees the router', async () => {
      const T = ownTable('inet', R());
      const who = await PeerAddressServer.start('10.61.2.2', 7002, server);
      try {
        expect(tcpAttempt('10.61.2.2', 7002, client)).toBe('10.61.1.2');
        await nftTransaction(
          [
            { cmd: 'addTable', ...T },
            { cmd: 'addChain', ...T, chain: 'postrouting', type: 'nat', hook: 'postrouting', priority: 100, policy: 'accept' },
            { cmd: 'addRule', ...T, chain: 'postrouting', exprs: [...x.saddr('10.61.1.0/24'), ...x.oifname('r2'), x.masquerade()] },
          ],
          R(),
        );
        expect(tcpAttempt('10.61.2.2', 7002, client)).toBe('10.61.2.1');
        expect(nftRules(T.family, T.table, router)[0].expr).toContainEqual({ masquerade: null });
      } finally {
        who.stop();
      }
    });

    it('forwards a published port through a DNAT map, and deletes its conntrack entries', async () => {
      const T = ownTable('inet', R());
      const echo = await EchoServer.start('10.61.2.2', 7003, server);
      try {
        await nftTransaction(
          [
            { cmd: 'addTable', ...T },
            { cmd: 'addChain', ...T, chain: 'prerouting', type: 'nat', hook: 'prerouting', priority: -100, policy: 'accept' },
            { cmd: 'addSet', ...T, set: 'ports', key: ['ipv4_addr', 'inet_service'], data: ['ipv4_addr', 'inet_service'] },
            { cmd: 'addRule', ...T, chain: 'prerouting', comment: 'published ports', exprs: x.dnatByMap('ports', 'tcp') },
            {
              cmd: 'addElements',
              ...T,
              set: 'ports',
              elements: [8080, 8081].map((port) => ({ key: [v.ipv4('10.61.1.1'), v.port(port)], data: [v.ipv4('10.61.2.2'), v.port(7003)] })),
            },
          ],
          R(),
        );
        expect(tcpAttempt('10.61.1.1', 8080, client)).toBe('hello');
        expect(tcpAttempt('10.61.1.1', 8081, client)).toBe('hello');

        const flows = (port: number) => conntrackEntries(router).filter((l) => /\btcp\b/.test(l) && l.includes('dst=10.61.1.1') && l.includes(`dport=${port}`));
        expect(flows(8080)).toHaveLength(1);
        expect(flows(8080)[0]).toContain('src=10.61.2.2'); // the reply comes from the inner host
        expect(await conntrackDelete({ family: 4, protocol: 'tcp', destination: '10.61.1.1', port: 8082 }, R())).toBe(0);
        // Several filters: one sweep of the table deletes what matches any of them.
        const filter = (port: number) => ({ family: 4 as const, protocol: 'tcp' as const, destination: '10.61.1.1', port });
        expect(await conntrackDelete([filter(8080), filter(8081), filter(8082)], R())).toBe(2);
        expect([...flows(8080), ...flows(8081)]).toEqual([]);

        // Unpublished: the router itself has nothing on 8080 and refuses.
        await nftTransaction(
          [{ cmd: 'deleteElements', ...T, set: 'ports', elements: [8080, 8081].map((port) => ({ key: [v.ipv4('10.61.1.1'), v.port(port)] })) }],
          R(),
        );
        expect(tcpAttempt('10.61.1.1', 8080, client)).toBe('refused');
      } finally {
        echo.stop();
      }
    });
  });

  describe('refuses bad input before the kernel is touched', () => {
    const T = { family: 'inet' as const, table: 'cnm-bad' };
    const bad = (value: unknown) => value as never;
    const cases: [string, NftCommand, string][] = [
      ['a family', { cmd: 'addTable', family: bad('arp'), table: 't' }, 'nf_tables family'],
      ['an empty table name', { cmd: 'addTable', family: 'inet', table: '' }, 'table name'],
      ['a table name of 256 bytes', { cmd: 'deleteTable', family: 'inet', table: 'x'.repeat(256) }, 'table name'],
      ['a table name with NUL', { cmd: 'flushTable', family: 'inet', table: 'a\0b' }, 'table name'],
      ['a command', { cmd: bad('renameTable'), family: 'inet', table: 't' }, 'unknown nf_tables command'],
      ['a hook', { cmd: 'addChain', ...T, chain: 'c', type: 'filter', hook: bad('ingress') }, 'hook'],
      ['a chain type', { cmd: 'addChain', ...T, chain: 'c', type: bad('mangle'), hook: 'forward' }, 'type'],
      ['a priority', { cmd: 'addChain', ...T, chain: 'c', type: 'filter', hook: 'forward', priority: 2 ** 31 }, 'priority'],
      ['a policy', { cmd: 'addChain', ...T, chain: 'c', type: 'filter', hook: 'forward', policy: bad('reject') }, 'policy'],
      ['a policy without a hook', { cmd: 'addChain', ...T, chain: 'c', policy: 'drop' }, 'need a hook'],
      ['a chain name', { cmd: 'deleteChain', ...T, chain: '' }, 'chain name'],
      ['a flushed chain name', { cmd: 'flushChain', ...T, chain: bad(7) }, 'chain name'],
      ['rule expressions', { cmd: 'addRule', ...T, chain: 'c', exprs: bad('accept') }, 'exprs must be an array'],
      ['an expression', { cmd: 'addRule', ...T, chain: 'c', exprs: [bad({ expr: 'log' })] }, 'unknown expression'],
      ['a register', { cmd: 'addRule', ...T, chain: 'c', exprs: [{ expr: 'meta', key: 'l4proto', dreg: 16 }] }, 'register'],
      ['a register too high for a name', { cmd: 'addRule', ...T, chain: 'c', exprs: [{ expr: 'meta', key: 'iifname', dreg: 13 }] }, 'cannot hold 16 bytes'],
      ['a meta key', { cmd: 'addRule', ...T, chain: 'c', exprs: [{ expr: 'meta', key: bad('cgroup'), dreg: 0 }] }, 'key'],
      ['cmp data', { cmd: 'addRule', ...T, chain: 'c', exprs: [{ expr: 'cmp', op: 'eq', sreg: 0, data: 'abc' }] }, 'data'],
      ['a cmp op', { cmd: 'addRule', ...T, chain: 'c', exprs: [{ expr: 'cmp', op: bad('like'), sreg: 0, data: '00' }] }, 'op'],
      ['a bitwise mask and xor', { cmd: 'addRule', ...T, chain: 'c', exprs: [{ expr: 'bitwise', sreg: 0, dreg: 0, mask: 'ff00', xor: '00' }] }, 'one length'],
      ['a payload base', { cmd: 'addRule', ...T, chain: 'c', exprs: [{ expr: 'payload', base: bad('inner'), offset: 0, len: 4, dreg: 0 }] }, 'base'],
      ['a verdict', { cmd: 'addRule', ...T, chain: 'c', exprs: [{ expr: 'immediate', verdict: bad('queue') }] }, 'verdict'],
      ['a jump without a chain', { cmd: 'addRule', ...T, chain: 'c', exprs: [bad({ expr: 'immediate', verdict: 'jump' })] }, 'jump chain'],
      ['a lookup set name', { cmd: 'addRule', ...T, chain: 'c', exprs: [{ expr: 'lookup', set: '', sreg: 0 }] }, 'set name'],
      ['a ct direction', { cmd: 'addRule', ...T, chain: 'c', exprs: [{ expr: 'ct', key: 'dst', dreg: 0, direction: bad('both') }] }, 'direction'],
      ['a nat family', { cmd: 'addRule', ...T, chain: 'c', exprs: [{ expr: 'nat', type: 'dnat', family: bad('inet'), addr: 0 }] }, 'family'],
      ['a masquerade flag', { cmd: 'addRule', ...T, chain: 'c', exprs: [{ expr: 'masq', flags: [bad('sticky')] }] }, 'flag'],
      ['a comment', { cmd: 'addRule', ...T, chain: 'c', exprs: [], comment: 'x'.repeat(128) }, 'comment'],
      ['a rule position', { cmd: 'addRule', ...T, chain: 'c', exprs: [], position: 0 }, 'position'],
      ['a rule handle', { cmd: 'deleteRule', ...T, chain: 'c', handle: bad('1') }, 'handle'],
      ['a set key type', { cmd: 'addSet', ...T, set: 's', key: bad('string') }, 'key type'],
      ['a map value type', { cmd: 'addSet', ...T, set: 's', key: 'ipv4_addr', data: bad(['verdict', 'mark']) }, 'data type'],
      ['a set flag', { cmd: 'addSet', ...T, set: 's', key: 'ipv4_addr', flags: [bad('dynamic')] }, 'flag'],
      ['a set name', { cmd: 'deleteSet', ...T, set: 'a\0' }, 'set name'],
      ['a flushed set name', { cmd: 'flushSet', ...T, set: '' }, 'set name'],
      ['no elements', { cmd: 'addElements', ...T, set: 's', elements: [] }, 'non-empty array'],
      ['an element key', { cmd: 'deleteElements', ...T, set: 's', elements: [{ key: 'zz' }] }, 'key'],
      [
        'an element with data and a verdict',
        { cmd: 'addElements', ...T, set: 's', elements: [{ key: '00', data: '00', verdict: 'drop' }] },
        'both data and a verdict',
      ],
    ];

    it.each(cases)('refuses %s', async (_, command, mentions) => {
      const before = nftRuleset();
      await expectInvalidArgument(nftTransaction([{ cmd: 'addTable', ...T }, command]), mentions);
      expect(nftRuleset()).toEqual(before);
    });

    it('refuses bad read-back and conntrack arguments', async () => {
      await expectInvalidArgument(nftListTables({ family: bad('netdev') }), 'family');
      await expectInvalidArgument(nftListChains('inet', ''), 'table name');
      await expectInvalidArgument(nftListRules('inet', 't', { chain: '' }), 'chain name');
      await expectInvalidArgument(nftListSets(bad('ip4'), 't'), 'family');
      await expectInvalidArgument(nftListElements('inet', 't', ''), 'set name');
      await expectInvalidArgument(conntrackDelete({ family: 4, protocol: 'tcp' }), 'destination address or port');
      await expectInvalidArgument(conntrackDelete({ family: 4, protocol: bad('icmp'), port: 1 }), 'protocol');
      await expectInvalidArgument(conntrackDelete({ family: 4, protocol: 'udp', destination: 'fd00::1' }), 'not an IPv4 address');
      await expectInvalidArgument(conntrackDelete({ family: bad(5), protocol: 'udp', port: 53 }), 'family');
      await expectInvalidArgument(conntrackDelete({ family: 6, protocol: 'udp', port: 70000 }), 'port');
    });

    it('checks names again in the addon, past the TypeScript checks', async () => {
      const before = nftRuleset();
      const err = await loadBinding()
        .execute([{ op: 'nftTransaction', commands: [{ cmd: 'addTable', family: 'inet', table: 'a\0b' }] }])
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NetlinkError);
      expect(err).toMatchObject({ code: 'EINVAL', command: 0 });
      const typeErr = await Promise.resolve()
        .then(() =>
          loadBinding().execute([
            {
              op: 'nftTransaction',
              commands: [{ cmd: 'addRule', family: 'inet', table: 't', chain: 'c', exprs: [{ expr: 'cmp', op: 'eq', sreg: 0, data: 'xyz' }] }],
            },
          ]),
        )
        .catch((e: unknown) => e);
      expect((typeErr as Error).name).toBe('TypeError'); // from the addon's realm, not jest's
      expect((typeErr as Error).message).toContain('commands[0].exprs[0].data');
      expect(nftRuleset()).toEqual(before);
    });
  });
});
