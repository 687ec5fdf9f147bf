// The host's resolv.conf as a sandbox sees it: the parsing rules, systemd-resolved's upstream file,
// the cache, and what a sandbox's file gets on a controller (fake kernel). No root.
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { parseResolvConf, readHostResolvConf } from '../../lib/resolv-conf';
import { fakeWorld } from '../helpers/fake-cnm';

/** systemd-resolved's /etc/resolv.conf (its stub-resolv.conf) and the file that lists its upstream servers. */
const STUB =
  '# This is /run/systemd/resolve/stub-resolv.conf managed by man:systemd-resolved(8).\nnameserver 127.0.0.53\noptions edns0 trust-ad\nsearch corp.example\n';
const UPSTREAM = '# This is /run/systemd/resolve/resolv.conf\nnameserver 10.77.0.53\nnameserver fd77::53\nsearch corp.example lab.example\n';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'cnm-resolv-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Writes the files (name -> content) in the test's folder; returns their paths. */
function files(contents: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(contents).map(([name, content]) => {
      writeFileSync(path.join(dir, name), content);
      return [name, path.join(dir, name)];
    }),
  );
}

describe('parseResolvConf', () => {
  it.each<[string, string, object]>([
    [
      'nameservers in order, IPv6 with a zone kept, words after the address ignored',
      'nameserver 10.0.0.1\nnameserver fe80::1%eth0 extra\nnameserver fd00::53',
      { nameservers: ['10.0.0.1', 'fe80::1%eth0', 'fd00::53'] },
    ],
    [
      'a nameserver that is not an address, or none, skipped',
      'nameserver dns.example\nnameserver\nnameserver 10.0.0.256\nnameserver 10.0.0.2',
      { nameservers: ['10.0.0.2'] },
    ],
    [
      '# and ; comment lines',
      '# nameserver 10.0.0.1\n; nameserver 10.0.0.2\n  # search a.example\nnameserver 10.0.0.3',
      { nameservers: ['10.0.0.3'], search: [] },
    ],
    [
      'a comment after the values, with or without a space',
      'nameserver 10.0.0.1# one\nnameserver 10.0.0.2 ; two\nsearch a.example #b.example\noptions rotate;ndots:9',
      { nameservers: ['10.0.0.1', '10.0.0.2'], search: ['a.example'], options: ['rotate'] },
    ],
    [
      'leading blanks, tabs and CRLF line ends',
      '  nameserver\t10.0.0.1\r\n\tsearch  a.example\tb.example \r\n',
      { nameservers: ['10.0.0.1'], search: ['a.example', 'b.example'] },
    ],
    ['the last search line wins', 'search a.example b.example\nsearch c.example', { search: ['c.example'] }],
    ['a domain line after search replaces it, with its first word only', 'search a.example\ndomain b.example c.example', { search: ['b.example'] }],
    ['a search line after domain replaces it', 'domain b.example\nsearch c.example d.example', { search: ['c.example', 'd.example'] }],
    ['a search line without values changes nothing', 'search a.example\nsearch', { search: ['a.example'] }],
    ['search domains that are not DNS names dropped', 'search a.example bad/name -lead.example ok_1.example.', { search: ['a.example', 'ok_1.example.'] }],
    ['options lines add up', 'options ndots:2\noptions edns0 timeout:1', { options: ['ndots:2', 'edns0', 'timeout:1'] }],
    ['option words with control characters dropped', 'options rotate bad\u0001word edns0', { options: ['rotate', 'edns0'] }],
    [
      'unknown keywords and keywords in another case ignored',
      'sortlist 10.0.0.0/255.0.0.0\nNameserver 10.0.0.9\nlookup file bind\nnameserver 10.0.0.1',
      { nameservers: ['10.0.0.1'] },
    ],
    ['an empty file', '', { nameservers: [], search: [], options: [] }],
  ])('%s', (_rule, text, expected) => {
    expect(parseResolvConf(text)).toMatchObject(expected);
  });
});

describe('readHostResolvConf', () => {
  it("reads systemd-resolved's upstream servers, search domains and options when the host lists only its stub", async () => {
    const f = files({ host: STUB, upstream: UPSTREAM });
    expect(await readHostResolvConf(f.host, f.upstream)).toEqual({
      nameservers: ['10.77.0.53', 'fd77::53'],
      search: ['corp.example', 'lab.example'],
      options: [],
    });
  });

  it('counts the stub beside other loopback servers, in any spelling', async () => {
    const f = files({ host: 'nameserver ::1\nnameserver 127.0.0.53\nnameserver ::ffff:127.0.0.1\n', upstream: UPSTREAM });
    expect((await readHostResolvConf(f.host, f.upstream)).nameservers).toEqual(['10.77.0.53', 'fd77::53']);
  });

  it.each([
    ['a non-loopback server beside the stub', 'nameserver 127.0.0.53\nnameserver 10.0.0.1\n'],
    ['loopback servers without the stub (dnsmasq, unbound)', 'nameserver 127.0.0.1\nnameserver ::1\n'],
    ['no server at all', 'search corp.example\n'],
  ])("keeps the host's file with %s", async (_what, host) => {
    const f = files({ host, upstream: UPSTREAM });
    expect(await readHostResolvConf(f.host, f.upstream)).toEqual(parseResolvConf(host));
  });

  it.each([
    ['missing', null],
    ['without a nameserver', 'search other.example\n'],
  ])("keeps the stub's file when the upstream file is %s", async (_what, upstream) => {
    const f = files(upstream === null ? { host: STUB } : { host: STUB, upstream });
    expect(await readHostResolvConf(f.host, path.join(dir, 'upstream'))).toEqual({
      nameservers: ['127.0.0.53'],
      search: ['corp.example'],
      options: ['edns0', 'trust-ad'],
    });
  });

  it('reads a missing or unreadable host file as empty', async () => {
    const empty = { nameservers: [], search: [], options: [] };
    expect(await readHostResolvConf(path.join(dir, 'absent'), path.join(dir, 'absent2'))).toEqual(empty);
    expect(await readHostResolvConf(dir, path.join(dir, 'absent2'))).toEqual(empty); // a folder
  });

  it('gives a frozen result, and the same one while neither file changed', async () => {
    const f = files({ host: STUB, upstream: UPSTREAM });
    const first = await readHostResolvConf(f.host, f.upstream);
    expect(Object.isFrozen(first) && Object.isFrozen(first.nameservers) && Object.isFrozen(first.search)).toBe(true);
    expect(await readHostResolvConf(f.host, f.upstream)).toBe(first);
  });

  it('reads again when either file changes (time or size)', async () => {
    const f = files({ host: STUB, upstream: UPSTREAM });
    const first = await readHostResolvConf(f.host, f.upstream);
    writeFileSync(f.upstream, 'nameserver 10.77.0.99\n');
    expect((await readHostResolvConf(f.host, f.upstream)).nameservers).toEqual(['10.77.0.99']);
    // Same size, another modification time.
    writeFileSync(f.upstream, 'nameserver 10.77.0.98\n');
    utimesSync(f.upstream, new Date(2000, 0, 1), new Date(2000, 0, 1));
    expect((await readHostResolvConf(f.host, f.upstream)).nameservers).toEqual(['10.77.0.98']);
    writeFileSync(f.host, 'nameserver 10.0.0.1\n');
    const last = await readHostResolvConf(f.host, f.upstream);
    expect(last.nameservers).toEqual(['10.0.0.1']);
    expect(last).not.toBe(first);
  });

  it("looks at the systemd file only while the host's file points to its stub", async () => {
    const f = files({ host: 'nameserver 10.0.0.1\n', upstream: UPSTREAM });
    const first = await readHostResolvConf(f.host, f.upstream);
    writeFileSync(f.upstream, 'nameserver 10.77.0.99\n');
    expect(await readHostResolvConf(f.host, f.upstream)).toBe(first);
    writeFileSync(f.host, STUB);
    expect((await readHostResolvConf(f.host, f.upstream)).nameservers).toEqual(['10.77.0.99']);
  });

  it('shares one read among the calls made while it is under way', async () => {
    const f = files({ host: STUB, upstream: UPSTREAM });
    const calls = [readHostResolvConf(f.host, f.upstream), readHostResolvConf(f.host, f.upstream), readHostResolvConf(f.host, f.upstream)];
    expect(calls[1]).toBe(calls[0]);
    const results = await Promise.all(calls);
    expect(results[2]).toBe(results[0]);
  });
});

describe("a controller's sandboxes on a systemd-resolved host (fake kernel)", () => {
  const resolvOf = (world: ReturnType<typeof fakeWorld>, id: string) => {
    const found = Object.entries(world.files()).filter(([name]) => name.endsWith(`${id}/resolv.conf`));
    expect(found).toHaveLength(1);
    return found[0][1];
  };

  it("get the real upstream servers and the host's search domains, and keep them over a restart", async () => {
    const world = fakeWorld();
    writeFileSync(world.options.hostResolvConf!, STUB);
    const systemdResolvConf = files({ upstream: UPSTREAM }).upstream;
    const controller = await world.start({ systemdResolvConf });
    const sandbox = await controller.newSandbox('c1');
    const own = await controller.newSandbox('c2', { dns: ['192.0.2.53'], dnsOptions: ['timeout:1'] });
    expect(resolvOf(world, sandbox.id)).toBe('nameserver 10.77.0.53\nnameserver fd77::53\nsearch corp.example lab.example\n');
    expect(resolvOf(world, own.id)).toBe('nameserver 192.0.2.53\nsearch corp.example lab.example\noptions timeout:1\n');

    // The host's configuration when the sandbox was made comes back from its record.
    await controller.stop();
    writeFileSync(systemdResolvConf, 'nameserver 10.77.0.99\nsearch other.example\noptions rotate\n');
    const next = await world.start({ systemdResolvConf });
    await next
      .sandboxes()
      .find((s) => s.id === sandbox.id)!
      .refresh({});
    expect(resolvOf(world, sandbox.id)).toBe('nameserver 10.77.0.53\nnameserver fd77::53\nsearch corp.example lab.example\n');
    // A new sandbox reads the host's again.
    const later = await next.newSandbox('c3');
    expect(resolvOf(world, later.id)).toBe('nameserver 10.77.0.99\nsearch other.example\noptions rotate\n');
    await next.stop({ removeAll: true });
  });

  it("without the upstream file, get Docker's fallback servers and the stub's search domains and options", async () => {
    const world = fakeWorld();
    writeFileSync(world.options.hostResolvConf!, STUB);
    const controller = await world.start({ systemdResolvConf: path.join(dir, 'absent') });
    const sandbox = await controller.newSandbox('c1');
    expect(resolvOf(world, sandbox.id)).toBe('nameserver 8.8.8.8\nnameserver 8.8.4.4\nsearch corp.example\noptions edns0 trust-ad\n');
    // A host-mode sandbox is the host's namespace: its stub works there.
    const host = await controller.newSandbox('c2', { useDefaultSandbox: true });
    expect(resolvOf(world, host.id)).toBe('nameserver 127.0.0.53\nsearch corp.example\noptions edns0 trust-ad\n');
    await controller.stop({ removeAll: true });
  });

  it('reserve the upstream servers, not the stub, against the predefined pools', async () => {
    const world = fakeWorld([]);
    writeFileSync(world.options.hostResolvConf!, STUB);
    // 172.17.0.53 is in the first predefined pool (172.17.0.0/16): a network made without a subnet skips it.
    const systemdResolvConf = files({ upstream: 'nameserver 172.17.0.53\n' }).upstream;
    const controller = await world.start({ systemdResolvConf, predefinedNetworks: false });
    const network = await controller.newNetwork('bridge', 'n1');
    expect(network.info().ipam.allocated[0].pool).not.toBe('172.17.0.0/16');
    await controller.stop({ removeAll: true });
  });
});
