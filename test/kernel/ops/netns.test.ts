// Named network namespaces: create, delete, describe; checked with `ip netns`, nsenter and mountinfo.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { netnsCreate, netnsDelete, netnsInfo, sysctlGet } from '../../../lib/kernel';
import {
  NETNS_DIR,
  describeKernel,
  expectBackTo,
  expectInvalidArgument,
  expectNetlinkError,
  ipLinks,
  ipJson,
  isMountPoint,
  snapshot,
  trackKernelObjects,
  uniqueName,
} from '../../helpers/kernel';

/** `ip netns list`: the names in the namespace directory. */
const ipNetnsList = (): string[] => ipJson<{ name: string }[]>(['netns', 'list']).map((n) => n.name);

/** Runs a command inside a namespace with nsenter and returns its trimmed output. */
const inNetns = (netns: string, ...argv: string[]): string => execFileSync('nsenter', [`--net=${netns}`, ...argv], { encoding: 'utf8' }).trim();

/** A regular file in /tmp that the test removes afterwards. */
function regularFile(made: { later(step: () => unknown): void }): string {
  const path = `/tmp/${uniqueName('cnmfile')}`;
  writeFileSync(path, 'not a namespace\n');
  made.later(() => execFileSync('rm', ['-f', path]));
  return path;
}

describeKernel('network namespaces', () => {
  const { each } = trackKernelObjects();

  describe('netnsCreate', () => {
    it('makes a mounted namespace file that ip netns and nsenter see, with lo only', async () => {
      const name = uniqueName('ns');
      const path = each.netns(`${NETNS_DIR}/${name}`);
      expect(await netnsCreate(NETNS_DIR, name)).toBe(path);

      expect(existsSync(path)).toBe(true);
      expect(isMountPoint(path)).toBe(true);
      expect(ipNetnsList()).toContain(name);
      expect(ipLinks(path).map((l) => l.ifname)).toEqual(['lo']);
      // nsenter lands in the namespace the file holds: the inode of the file is that of its netns.
      expect(inNetns(path, 'readlink', '/proc/self/ns/net')).toBe(`net:[${statSync(path).ino}]`);
      expect(inNetns(path, 'readlink', '/proc/self/ns/net')).not.toBe(execFileSync('readlink', ['/proc/self/ns/net'], { encoding: 'utf8' }).trim());
    });

    it('sets the given sysctls inside the new namespace and not in the host', async () => {
      const hostForward = readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim();
      const forward = hostForward === '1' ? '0' : '1';
      const path = each.netns(`${NETNS_DIR}/${uniqueName('ns')}`);
      await netnsCreate(NETNS_DIR, path.slice(NETNS_DIR.length + 1), {
        'net.ipv4.ip_forward': forward,
        'net.ipv6.conf.all.disable_ipv6': '1',
        'net/ipv4/conf/default/rp_filter': '2',
      });

      expect(inNetns(path, 'cat', '/proc/sys/net/ipv4/ip_forward')).toBe(forward);
      expect(inNetns(path, 'cat', '/proc/sys/net/ipv6/conf/all/disable_ipv6')).toBe('1');
      expect(inNetns(path, 'cat', '/proc/sys/net/ipv4/conf/default/rp_filter')).toBe('2');
      expect(await sysctlGet('net.ipv4.ip_forward', { netns: path })).toBe(forward);
      expect(readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim()).toBe(hostForward);
    });

    it('refuses a second namespace of one name with EEXIST and keeps the first', async () => {
      const path = await each.namespace();
      const name = path.slice(NETNS_DIR.length + 1);
      const { inode } = await netnsInfo(path);
      const before = snapshot();

      await expectNetlinkError(netnsCreate(NETNS_DIR, name), { code: 'EEXIST', syscall: 'open', object: path, index: 0 });

      await expectBackTo(before);
      expect(isMountPoint(path)).toBe(true);
      expect(await netnsInfo(path)).toMatchObject({ isNetns: true, inode });
      expect(statSync(path).ino).toBe(inode);
    });

    it('leaves nothing behind when a sysctl cannot be set', async () => {
      const before = snapshot();
      const name = uniqueName('ns');
      each.netns(`${NETNS_DIR}/${name}`);

      await expectNetlinkError(netnsCreate(NETNS_DIR, name, { 'net.ipv4.no_such_sysctl': '1' }), {
        code: 'ENOENT',
        syscall: 'open',
        object: '/proc/sys/net/ipv4/no_such_sysctl',
      });

      await expectBackTo(before);
      expect(existsSync(`${NETNS_DIR}/${name}`)).toBe(false);
      expect(ipNetnsList()).not.toContain(name);
    });

    it.each([
      ['a name with a slash', NETNS_DIR, 'a/b'],
      ['the name ".."', NETNS_DIR, '..'],
      ['an empty name', NETNS_DIR, ''],
      ['a relative directory', 'run/netns', 'x'],
    ])('refuses %s before touching the kernel', async (_, dir, name) => {
      const before = snapshot();
      await expectInvalidArgument(netnsCreate(dir, name));
      await expectBackTo(before);
    });
  });

  describe('netnsDelete', () => {
    it('unmounts and removes the namespace file', async () => {
      const name = uniqueName('ns');
      const path = `${NETNS_DIR}/${name}`;
      execFileSync('ip', ['netns', 'add', name]); // made independently of the library
      each.netns(path);
      expect(isMountPoint(path)).toBe(true);

      await netnsDelete(path);

      expect(existsSync(path)).toBe(false);
      expect(isMountPoint(path)).toBe(false);
      expect(ipNetnsList()).not.toContain(name);
    });

    it('deletes a namespace the library made', async () => {
      const path = await each.namespace();
      await netnsDelete(path);
      expect(existsSync(path)).toBe(false);
      expect(isMountPoint(path)).toBe(false);
    });

    it('refuses a path that does not exist with ENOENT', async () => {
      const path = `${NETNS_DIR}/${uniqueName('none')}`;
      const before = snapshot();
      await expectNetlinkError(netnsDelete(path), { code: 'ENOENT', syscall: 'open', object: path });
      await expectBackTo(before);
    });

    it('refuses a regular file with EINVAL and never removes it', async () => {
      const path = regularFile(each);
      const before = snapshot();
      await expectNetlinkError(netnsDelete(path), { code: 'EINVAL', syscall: 'open', object: path });
      expect(readFileSync(path, 'utf8')).toBe('not a namespace\n');
      await expectBackTo(before);
    });

    it('refuses /proc/self/ns/mnt (a symlink, to a namespace of another type) with ELOOP', async () => {
      await expectNetlinkError(netnsDelete('/proc/self/ns/mnt'), { code: 'ELOOP', syscall: 'open', object: '/proc/self/ns/mnt' });
      expect(existsSync('/proc/self/ns/mnt')).toBe(true);
    });

    it('refuses a symlink to a network namespace with ELOOP, and leaves that namespace mounted', async () => {
      const target = await each.namespace();
      const link = `${NETNS_DIR}/${uniqueName('link')}`;
      symlinkSync(target, link);
      try {
        await expectNetlinkError(netnsDelete(link), { code: 'ELOOP', syscall: 'open', object: link });
        expect(isMountPoint(target)).toBe(true);
      } finally {
        unlinkSync(link);
      }
    });

    it('refuses a relative path before touching the kernel', async () => {
      await expectInvalidArgument(netnsDelete('run/netns/x'), 'absolute path');
    });
  });

  describe('netnsInfo', () => {
    it('describes a created namespace: a netns, not the host, with the inode nsenter sees', async () => {
      const path = await each.namespace();
      const info = await netnsInfo(path);
      expect(info).toEqual({ isNetns: true, isHost: false, inode: statSync(path).ino, dev: statSync(path).dev });
      expect(inNetns(path, 'readlink', '/proc/self/ns/net')).toBe(`net:[${info.inode}]`);
    });

    it('describes /proc/self/ns/net as the host namespace', async () => {
      const info = await netnsInfo('/proc/self/ns/net');
      expect(info).toMatchObject({ isNetns: true, isHost: true, inode: statSync('/proc/self/ns/net').ino });
      expect(execFileSync('readlink', ['/proc/self/ns/net'], { encoding: 'utf8' }).trim()).toBe(`net:[${info.inode}]`);
    });

    it('says a regular file and a mount namespace are not network namespaces', async () => {
      const file = regularFile(each);
      expect(await netnsInfo(file)).toMatchObject({ isNetns: false, isHost: false });
      expect(await netnsInfo('/proc/self/ns/mnt')).toMatchObject({ isNetns: false, isHost: false });
      expect(existsSync(file)).toBe(true);
    });

    it('refuses a path that does not exist with ENOENT', async () => {
      const path = `${NETNS_DIR}/${uniqueName('none')}`;
      await expectNetlinkError(netnsInfo(path), { code: 'ENOENT', syscall: 'open', object: path });
    });
  });
});
