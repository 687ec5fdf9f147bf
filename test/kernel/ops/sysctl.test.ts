// Kernel parameters in the test's namespace and in a created one; checked by reading /proc/sys
// directly and through nsenter.
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { sysctlGet, sysctlSet } from '../../../lib/kernel';
import { loadBinding } from '../../../lib/native';
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
