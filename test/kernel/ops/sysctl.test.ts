// Kernel parameters in the test's namespace and in a created one; checked by reading /proc/sys
// directly and through nsenter. The addon opens them through procfs instances of its own, each
// serving 32 opens, or through /proc where the kernel refuses one (in a user namespace).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sysctlGet, sysctlSet } from '../../../lib/kernel';
import { loadBinding } from '../../../lib/native';
import { candidatePaths } from '../../../lib/native/loader';
import { NETNS_DIR, describeKernel, expectInvalidArgument, expectNetlinkError, ip, rejection, trackKernelObjects, uniqueName } from '../../helpers/kernel';

const FORWARD = '/proc/sys/net/ipv4/ip_forward';
/** ip_forward of the test's own namespace, read directly. */
const hostForward = (): string => readFileSync(FORWARD, 'utf8').trim();
/** ip_forward of a namespace, read by `cat` inside it. */
const nsForward = (netns: string): string => execFileSync('nsenter', [`--net=${netns}`, 'cat', FORWARD], { encoding: 'utf8' }).trim();
const flip = (value: string): string => (value === '1' ? '0' : '1');

describeKernel('sysctl', () => {
  const { each, all } = trackKernelObjects();
  let ns: string;
  let original: string;

  beforeAll(async () => {
    original = hostForward();
    all.later(() => writeFileSync(FORWARD, original));
    ns = await all.namespace();
  });
  afterEach(() => writeFileSync(FORWARD, original));

  it('reads and writes a key in the test namespace', async () => {
    expect(await sysctlGet('net.ipv4.ip_forward')).toBe(original);
    await sysctlSet('net.ipv4.ip_forward', flip(original));
    expect(hostForward()).toBe(flip(original));
    expect(await sysctlGet('net.ipv4.ip_forward')).toBe(flip(original));
  });

  it('reads and writes a key in a namespace, separately from the test namespace', async () => {
    const inNs = nsForward(ns);
    expect(await sysctlGet('net.ipv4.ip_forward', { netns: ns })).toBe(inNs);

    await sysctlSet('net.ipv4.ip_forward', flip(inNs), { netns: ns });
    expect(nsForward(ns)).toBe(flip(inNs));
    expect(hostForward()).toBe(original);

    await sysctlSet('net.ipv4.ip_forward', flip(original));
    expect(hostForward()).toBe(flip(original));
    expect(nsForward(ns)).toBe(flip(inNs));
    expect(await sysctlGet('net.ipv4.ip_forward', { netns: ns })).toBe(flip(inNs));
    await sysctlSet('net.ipv4.ip_forward', inNs, { netns: ns });
    expect(nsForward(ns)).toBe(inNs);
  });

  it('reads a multi-value key and one per interface, in the slash form for a name with a dot', async () => {
    const range = execFileSync('nsenter', [`--net=${ns}`, 'cat', '/proc/sys/net/ipv4/ip_local_port_range'], { encoding: 'utf8' }).trim();
    expect(await sysctlGet('net.ipv4.ip_local_port_range', { netns: ns })).toBe(range);

    const dotted = `${uniqueName('br')}.9`.slice(-15);
    ip(['link', 'add', dotted, 'type', 'bridge'], ns);
    const key = `net/ipv6/conf/${dotted}/disable_ipv6`;
    await sysctlSet(key, '1', { netns: ns });
    expect(execFileSync('nsenter', [`--net=${ns}`, 'cat', `/proc/sys/${key}`], { encoding: 'utf8' }).trim()).toBe('1');
    expect(await sysctlGet(key, { netns: ns })).toBe('1');
    await sysctlSet(key, '0', { netns: ns });
    expect(await sysctlGet(key, { netns: ns })).toBe('0');
  });

  it('gives each namespace its own value, across more namespaces than one procfs instance serves', async () => {
    const hostTtl = readFileSync('/proc/sys/net/ipv4/ip_default_ttl', 'utf8').trim();
    const namespaces: string[] = [];
    for (let i = 0; i < 40; i++) namespaces.push(await each.namespace({ 'net.ipv4.ip_default_ttl': String(100 + i) }));
    await sysctlSet('net.ipv4.ip_default_ttl', '7', { netns: namespaces[3] });

    const read = (netns: string) => execFileSync('nsenter', [`--net=${netns}`, 'cat', '/proc/sys/net/ipv4/ip_default_ttl'], { encoding: 'utf8' }).trim();
    expect(namespaces.map(read)).toEqual(namespaces.map((_, i) => (i === 3 ? '7' : String(100 + i))));
    expect(await sysctlGet('net.ipv4.ip_default_ttl', { netns: namespaces[39] })).toBe('139');
    expect(await sysctlGet('net.ipv4.ip_default_ttl')).toBe(hostTtl);
    expect(readFileSync('/proc/sys/net/ipv4/ip_default_ttl', 'utf8').trim()).toBe(hostTtl);
  });

  it('sets sysctls through /proc where the kernel refuses a procfs instance (in a user namespace)', () => {
    // A user namespace that does not own the PID namespace may not mount procfs; the child's
    // namespaces (network, mount, the tmpfs and the namespace made in it) go when it exits.
    const addon = candidatePaths().find((p) => existsSync(p))!;
    const dir = mkdtempSync(join(tmpdir(), 'cnm-userns-'));
    each.later(() => rmSync(dir, { recursive: true, force: true }));
    const script = `require(${JSON.stringify(addon)}).execute([
      { op: 'netnsCreate', dir: process.argv[1], name: 'u', sysctls: { 'net.ipv4.ip_default_ttl': '77' } },
      { op: 'sysctlSet', netns: process.argv[1] + '/u', key: 'net.ipv4.ip_forward', value: '1' },
      { op: 'sysctlGet', netns: process.argv[1] + '/u', key: 'net.ipv4.ip_default_ttl' },
    ]).then((r) => console.log(r[2]), (e) => { console.error(e.message); process.exit(1); });`;
    const shell = `mount -t tmpfs cnm-userns "$1" && "$2" -e "$3" "$1" && nsenter --net="$1/u" cat /proc/sys/net/ipv4/ip_default_ttl /proc/sys/net/ipv4/ip_forward`;
    const out = execFileSync('unshare', ['--user', '--map-root-user', '--net', '--mount', 'sh', '-c', shell, 'sh', dir, process.execPath, script], {
      encoding: 'utf8',
      timeout: 10_000,
    });
    expect(out.trim().split('\n')).toEqual(['77', '77', '1']);
  });

  it('refuses a key that does not exist with ENOENT', async () => {
    await expectNetlinkError(sysctlGet('net.ipv4.no_such_key'), { code: 'ENOENT', syscall: 'open', object: '/proc/sys/net/ipv4/no_such_key' });
    await expectNetlinkError(sysctlSet('net.ipv4.no_such_key', '1', { netns: ns }), { code: 'ENOENT', syscall: 'open' });
  });

  it('refuses a value the kernel does not take with EINVAL, keeping the old one', async () => {
    await expectNetlinkError(sysctlSet('net.ipv4.ip_forward', 'yes'), { code: 'EINVAL', syscall: 'write', object: FORWARD });
    expect(hostForward()).toBe(original);
  });

  it.each(['../../etc/passwd', 'net/../../etc/passwd', 'net..ipv4.ip_forward', '/net/ipv4/ip_forward', ''])(
    'refuses the key %j before the kernel',
    async (key) => {
      await expectInvalidArgument(sysctlGet(key), 'sysctl key');
      await expectInvalidArgument(sysctlSet(key, '1', { netns: ns }), 'sysctl key');
      expect(hostForward()).toBe(original);
    },
  );

  it('refuses a key that escapes /proc/sys in the addon too (EINVAL)', async () => {
    const err = await rejection(loadBinding().execute([{ op: 'sysctlGet', key: 'net/../../../etc/hostname' }]));
    expect(err).toMatchObject({ name: 'NetlinkError', code: 'EINVAL', syscall: 'open' });
  });

  it('refuses a namespace that does not exist (ENOENT) or is a regular file (EINVAL)', async () => {
    const missing = `${NETNS_DIR}/${uniqueName('none')}`;
    const file = `/tmp/${uniqueName('cnmfile')}`;
    writeFileSync(file, 'x');
    each.later(() => rmSync(file, { force: true }));
    await expectNetlinkError(sysctlGet('net.ipv4.ip_forward', { netns: missing }), { code: 'ENOENT', syscall: 'open', object: missing });
    await expectNetlinkError(sysctlSet('net.ipv4.ip_forward', flip(original), { netns: file }), { code: 'EINVAL', syscall: 'open', object: file });
    expect(hostForward()).toBe(original);
    expect(readFileSync(file, 'utf8')).toBe('x');
  });
});
