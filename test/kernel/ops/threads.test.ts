// No JS thread ever changes namespace: after thousands of namespace-scoped operations, concurrent
// and failing ones among them, the main thread and every libuv pool thread are still in the
// namespace the process started in.
import { spawn } from 'node:child_process';
import { readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { linkGet, linkList, netnsCreate, netnsDelete, sysctlGet, sysctlSet } from '../../../lib/kernel';
import { describeKernel, ipJson, NETNS_DIR, threadsOutside, uniqueName } from '../../helpers/kernel';

describeKernel('threads stay in the host namespace', () => {
  const home = readlinkSync('/proc/self/ns/net');
  const made: string[] = [];

  afterAll(async () => {
    await Promise.allSettled(made.map((path) => netnsDelete(path)));
  });

  it('detects a thread that is in another namespace (the check can fail)', async () => {
    const child = spawn('unshare', ['--net', 'sleep', '30'], { stdio: 'ignore' });
    try {
      await new Promise((r) => setTimeout(r, 200));
      // unshare execs sleep in the new namespace: its one thread is outside ours.
      expect(threadsOutside(child.pid!, home)).toHaveLength(1);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('keeps every thread home through thousands of namespace operations', async () => {
    const namespaces = await Promise.all(Array.from({ length: 8 }, () => netnsCreate(NETNS_DIR, uniqueName('thr'))));
    made.push(...namespaces);
    let failures = 0;
    const rounds = 60;
    for (let round = 0; round < rounds; round++) {
      const work = namespaces.flatMap((netns) => [
        linkList({ netns }),
        sysctlGet('net.ipv4.ip_forward', { netns }),
        sysctlSet('net.ipv4.conf.all.forwarding', String(round % 2), { netns }),
        linkGet('missing0', { netns }).catch(() => (failures += 1)),
        sysctlGet('net.ipv4.no_such_key', { netns }).catch(() => (failures += 1)),
      ]);
      await Promise.all(work);
      const extra = await netnsCreate(NETNS_DIR, uniqueName('thx'));
      await netnsDelete(extra);
    }
    expect(failures).toBe(rounds * namespaces.length * 2);
    // The pool has started its threads; none of them, nor the main thread, left home.
    expect(readdirSync('/proc/self/task').length).toBeGreaterThan(4);
    expect(threadsOutside('self', home)).toEqual([]);
  });

  it('still runs host operations in the host afterwards, on every pool thread', async () => {
    const hostLinks = ipJson<{ ifname: string }[]>(['link', 'show'])
      .map((l) => l.ifname)
      .sort();
    const answers = await Promise.all(Array.from({ length: 32 }, () => linkList()));
    for (const links of answers) expect(links.map((l) => l.name).sort()).toEqual(hostLinks);
    // Forwarding on in the host (the test's own namespace) and off in every namespace made above:
    // a pool thread left in one of them would read '0'.
    writeFileSync('/proc/sys/net/ipv4/conf/all/forwarding', '1');
    const values = await Promise.all(Array.from({ length: 32 }, () => sysctlGet('net.ipv4.conf.all.forwarding')));
    expect(new Set(values)).toEqual(new Set(['1']));
  });
});
