// The netlink socket the addon keeps for a new namespace's next batch (native/kernel/kept-sockets.h):
// it must never make a batch act on another namespace, nor keep a deleted namespace alive.
import { execFileSync } from 'node:child_process';
import { basename } from 'node:path';
import { batch, linkAdd, linkGet, netnsCreate, netnsDelete, waitLinksGone } from '../../../lib/kernel';
import { NETNS_DIR, describeKernel, eventually, hostHasLink, trackKernelObjects, uniqueName } from '../../helpers/kernel';

/** A new namespace with a veth pair whose other end is in the host, made in one batch as newSandbox does. */
async function namespaceWithVeth(each: ReturnType<typeof trackKernelObjects>['each']): Promise<{ path: string; hostEnd: string }> {
  const path = each.netns(`${NETNS_DIR}/${uniqueName('ns')}`);
  const hostEnd = each.link(uniqueName('vk'));
  await batch([
    { op: 'netnsCreate', dir: NETNS_DIR, name: basename(path) },
    { op: 'linkSet', netns: path, name: 'lo', change: { up: true } },
  ]);
  await linkAdd({ kind: 'veth', name: hostEnd, peer: { name: 'eth0', netns: path } });
  return { path, hostEnd };
}

describeKernel('sockets kept for a new namespace', () => {
  const { each } = trackKernelObjects();

  it('are not used once the path names another namespace', async () => {
    const name = uniqueName('ns');
    const path = each.netns(`${NETNS_DIR}/${name}`);
    await netnsCreate(NETNS_DIR, name);
    // Someone else replaces the namespace under the same name, with an lo of another MTU.
    execFileSync('ip', ['netns', 'del', name]);
    execFileSync('ip', ['netns', 'add', name]);
    execFileSync('ip', ['-n', name, 'link', 'set', 'lo', 'mtu', '1234']);
    expect((await linkGet('lo', { netns: path })).mtu).toBe(1234);
  });

  it('do not outlive a delete through the library: the namespace and its links go at once', async () => {
    const { path, hostEnd } = await namespaceWithVeth(each);
    await netnsDelete(path);
    // Well before the idle drop (1 s after the last batch) could be what freed it.
    await waitLinksGone([hostEnd], { timeoutMs: 800 });
    expect(hostHasLink(hostEnd)).toBe(false);
  });

  it('are closed once batches stop, so a namespace someone else deletes goes too', async () => {
    const { path, hostEnd } = await namespaceWithVeth(each);
    execFileSync('ip', ['netns', 'del', basename(path)]);
    await eventually(() => hostHasLink(hostEnd), false, 5000);
  });
});
