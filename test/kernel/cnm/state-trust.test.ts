// The state directory is a trust boundary: records are input, not truth. Planted or tampered
// records, symlinks and FIFOs in the state, netns and /etc/netns folders, and a state directory
// that others can write must never make the controller delete, write or adopt anything it did not
// make. Every decoy here is a file or namespace the test made itself.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { NetworkController, type StateWarning } from '../../../lib';
import { failOperation } from '../../../lib/testing';
import { bridgePorts, expectCode, restart, useControllers, type CnmFixture } from '../../helpers/cnm';
import { describeKernel, hostHasLink, ip, isMountPoint, NETNS_DIR, uniqueName } from '../../helpers/kernel';

const newId = () => randomBytes(32).toString('hex');

/** A decoy folder with a hosts and a resolv.conf that must survive every test. */
function decoyFolder(f: CnmFixture): string {
  const decoy = mkdtempSync(path.join(f.root, 'decoy-'));
  writeFileSync(path.join(decoy, 'hosts'), 'decoy hosts\n');
  writeFileSync(path.join(decoy, 'resolv.conf'), 'decoy resolv\n');
  return decoy;
}

const decoyIntact = (decoy: string) => {
  expect(readdirSync(decoy).sort()).toEqual(['hosts', 'resolv.conf']);
  expect(readFileSync(path.join(decoy, 'hosts'), 'utf8')).toBe('decoy hosts\n');
};

/** Writes a sandbox record into the fixture's store, as a tampered state directory would hold it. */
function plantSandbox(f: CnmFixture, fields: Record<string, unknown>): string {
  const id = (fields.id as string | undefined) ?? newId();
  const record = {
    version: 1,
    kind: 'sandbox',
    id,
    containerId: `planted-${id.slice(0, 8)}`,
    mode: 'namespace',
    key: `${NETNS_DIR}/cnm-${f.controller.owner}-${id.slice(0, 12)}`,
    namespaceName: `cnm-${f.controller.owner}-${id.slice(0, 12)}`,
    owned: true,
    config: {},
    labels: {},
    hostServers: [],
    attachments: [],
    ...fields,
  };
  const folder = path.join(f.runFolder, 'store', 'sandboxes');
  mkdirSync(folder, { recursive: true });
  writeFileSync(path.join(folder, `${id}.json`), JSON.stringify(record));
  return id;
}

/** Restarts the fixture's controller and collects the state warnings of its start. */
async function restartWatching(f: CnmFixture, options: { liveRestore?: boolean } = {}): Promise<{ c: NetworkController; warnings: StateWarning[] }> {
  const warnings: StateWarning[] = [];
  const c = await restart(f, { ...options, listeners: { 'state:warning': (w: StateWarning) => warnings.push(w) } });
  return { c, warnings };
}

const warningFor = (warnings: StateWarning[], id: string) => warnings.find((w) => w.file.endsWith(`${id}.json`))?.reason;

describeKernel('the state directory as a trust boundary', () => {
  const env = useControllers();
  const children: ChildProcess[] = [];
  env.later(() => children.forEach((child) => child.kill('SIGKILL')));

  /** A namespace made by the test itself (`ip netns add`), not by the controller; removed after the file. */
  const foreignNamespace = () => {
    const name = uniqueName('foreign');
    ip(['netns', 'add', name]);
    env.later(() => ip(['netns', 'delete', name]));
    return name;
  };

  describe('record fields that become paths are checked against the shape cnm-ts makes', () => {
    it('never unlinks what a traversal key names', async () => {
      const f = await env.make({ predefinedNetworks: false });
      const decoy = decoyFolder(f);
      const id = plantSandbox(f, { key: `${NETNS_DIR}/../..${decoy}/hosts` });
      const { c, warnings } = await restartWatching(f);
      decoyIntact(decoy);
      expect(warningFor(warnings, id)).toMatch(/key .* is not .*: skipped, and what it names is left alone/);
      expect(c.sandboxById(id)).toBeUndefined();
      expect(c.restoreReport().removedSandboxes).toEqual([]);
    });

    it('never removes files in the folder a traversal namespace name leads to', async () => {
      const f = await env.make({ predefinedNetworks: false });
      const decoy = decoyFolder(f);
      const name = path.relative(f.etcNetnsDir, decoy);
      expect(name.startsWith('../')).toBe(true);
      const id = plantSandbox(f, { namespaceName: name, key: `${NETNS_DIR}/${name}` });
      const { c, warnings } = await restartWatching(f);
      decoyIntact(decoy);
      expect(warningFor(warnings, id)).toMatch(/namespace ".*" is not one this controller makes/);
      expect(c.restoreReport().removedSandboxes).toEqual([]);
    });

    it('skips a record whose interface name is not ethN', async () => {
      const f = await env.make({ predefinedNetworks: false });
      const id = plantSandbox(f, {
        attachments: [
          {
            endpointId: newId(),
            ifname: '../eth0',
            priority: 0,
            order: 0,
            info: { ifname: '../eth0', gateway: null, gatewayIPv6: null, staticRoutes: [] },
            published: null,
          },
        ],
      });
      const { warnings } = await restartWatching(f);
      expect(warningFor(warnings, id)).toMatch(/interface name "..\/eth0" is not ethN/);
    });
  });

  it('never deletes a link that a record names as the host end of its veth', async () => {
    const f = await env.make({ predefinedNetworks: false });
    const network = await f.controller.newNetwork('bridge', 'trust-veth', { ipam: { config: [{ subnet: '10.214.0.0/24' }] } });
    const sandbox = await f.controller.newSandbox('trust-veth');
    await (await network.createEndpoint('trust-veth-ep')).join(sandbox);
    await f.controller.stop();
    const decoy = uniqueName('dv');
    ip(['link', 'add', decoy, 'type', 'veth', 'peer', 'name', `${decoy}p`]);
    env.later(() => ip(['link', 'delete', decoy]));
    const file = path.join(f.runFolder, 'store', 'sandboxes', `${sandbox.id}.json`);
    const record = JSON.parse(readFileSync(file, 'utf8'));
    record.attachments[0].driver.hostIfname = decoy;
    writeFileSync(file, JSON.stringify(record));
    const { c } = await restartWatching(f);
    expect(hostHasLink(decoy)).toBe(true);
    expect(c.restoreReport().lostEndpoints).toHaveLength(1);
  });

  describe('only namespaces this controller made are adopted or removed', () => {
    it('leaves a namespace it did not make alone, also with liveRestore off', async () => {
      const f = await env.make({ predefinedNetworks: false });
      const name = foreignNamespace();
      const id = plantSandbox(f, { key: `${NETNS_DIR}/${name}`, namespaceName: name });
      const { c, warnings } = await restartWatching(f, { liveRestore: false });
      expect(isMountPoint(`${NETNS_DIR}/${name}`)).toBe(true);
      expect(c.sandboxById(id)).toBeUndefined();
      expect(warningFor(warnings, id)).toMatch(/is not one this controller makes/);
      expect(existsSync(path.join(f.runFolder, 'store', 'sandboxes', `${id}.json`))).toBe(true);
    });

    it('leaves a foreign namespace alone behind a symlink that has its own name', async () => {
      const f = await env.make({ predefinedNetworks: false });
      const foreign = foreignNamespace();
      const id = newId();
      const link = `${NETNS_DIR}/cnm-${f.controller.owner}-${id.slice(0, 12)}`;
      symlinkSync(`${NETNS_DIR}/${foreign}`, link);
      env.later(() => rmSync(link, { force: true }));
      plantSandbox(f, { id });
      const { c, warnings } = await restartWatching(f, { liveRestore: false });
      expect(isMountPoint(`${NETNS_DIR}/${foreign}`)).toBe(true);
      expect(lstatSync(link).isSymbolicLink()).toBe(true);
      expect(c.sandboxById(id)).toBeUndefined();
      expect(warningFor(warnings, id)).toMatch(/is a symlink, not a namespace file this controller made/);
    });

    it('does not adopt /proc/<pid>/ns/net of another process', async () => {
      const f = await env.make({ predefinedNetworks: false });
      const child = spawn('unshare', ['--net', 'sleep', '600'], { stdio: 'ignore' });
      children.push(child);
      const key = `/proc/${child.pid}/ns/net`;
      // Until unshare has run, the child is still in the test's namespace.
      await waitFor(() => execFileSync('readlink', [key], { encoding: 'utf8' }) !== execFileSync('readlink', ['/proc/self/ns/net'], { encoding: 'utf8' }));
      const id = plantSandbox(f, { key });
      const { c, warnings } = await restartWatching(f);
      expect(c.sandboxById(id)).toBeUndefined();
      expect(c.sandboxes()).toEqual([]);
      expect(warningFor(warnings, id)).toMatch(/key .* is not /);
    });
  });

  describe('no symlink below the state, netns and /etc/netns folders is followed', () => {
    it('never removes files through a sandbox folder that is a symlink', async () => {
      const f = await env.make({ predefinedNetworks: false });
      const decoy = decoyFolder(f);
      mkdirSync(path.join(f.runFolder, 'sandboxes'), { recursive: true });
      symlinkSync(decoy, path.join(f.runFolder, 'sandboxes', newId()));
      const { c } = await restartWatching(f);
      decoyIntact(decoy);
      expect(c.restoreReport().errors).toEqual([expect.objectContaining({ code: 'ELOOP' })]);
    });

    it('never removes files through an /etc/netns folder that is a symlink', async () => {
      const f = await env.make({ predefinedNetworks: false });
      const decoy = decoyFolder(f);
      mkdirSync(f.etcNetnsDir, { recursive: true });
      symlinkSync(decoy, path.join(f.etcNetnsDir, `cnm-${f.controller.owner}-${newId().slice(0, 12)}`));
      const { c } = await restartWatching(f);
      decoyIntact(decoy);
      expect(c.restoreReport().errors).toEqual([expect.objectContaining({ code: 'ELOOP' })]);
    });

    it('refuses a store folder that is a symlink: no record goes into it, none of its files is removed', async () => {
      const f = await env.make({ predefinedNetworks: false });
      await f.controller.stop();
      const decoy = decoyFolder(f);
      writeFileSync(path.join(decoy, 'x.tmp'), 'decoy temporary file');
      const store = path.join(f.runFolder, 'store', 'sandboxes');
      rmSync(store, { recursive: true, force: true });
      mkdirSync(path.dirname(store), { recursive: true });
      symlinkSync(decoy, store);
      const err = await expectCode(NetworkController.create(f.options), 'PERMISSION');
      expect(err.message).toContain(store);
      expect(readdirSync(decoy).sort()).toEqual(['hosts', 'resolv.conf', 'x.tmp']);
      unlinkSync(store);
      f.controller = await NetworkController.create(f.options);
    });
  });

  describe('only regular files are read as records', () => {
    it('skips a FIFO and a folder named like records without blocking', async () => {
      const f = await env.make({ predefinedNetworks: false });
      const folder = path.join(f.runFolder, 'store', 'sandboxes');
      mkdirSync(folder, { recursive: true });
      const fifo = newId();
      const dir = newId();
      execFileSync('mkfifo', [path.join(folder, `${fifo}.json`)]);
      mkdirSync(path.join(folder, `${dir}.json`));
      const started = restartWatching(f);
      const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 5000).unref());
      const outcome = await Promise.race([started, timeout]);
      if (outcome === 'timeout') {
        // Unblock the reader so that the test can end.
        writeFileSync(path.join(folder, `${fifo}.json`), '{}');
        await started;
      }
      expect(outcome).not.toBe('timeout');
      const { warnings } = await started;
      expect(warningFor(warnings, fifo)).toBe('not a regular file');
      expect(warningFor(warnings, dir)).toBe('not a regular file');
    });
  });

  describe('only ENOENT means gone', () => {
    it('keeps a sandbox whose namespace cannot be checked at start, with its namespace and veth', async () => {
      const f = await env.make({ predefinedNetworks: false });
      const network = await f.controller.newNetwork('bridge', 'trust-eio', { ipam: { config: [{ subnet: '10.213.0.0/24' }] } });
      const sandbox = await f.controller.newSandbox('trust-eio');
      await (await network.createEndpoint('trust-eio-ep')).join(sandbox);
      const bridge = `br-${network.id.slice(0, 12)}`;
      const veths = bridgePorts(bridge);
      expect(veths).toHaveLength(1);
      // The start's native operations: 1 takes the lock, 2 to 4 list the store's three folders, 5
      // to 7 read their records, 8 looks at the sandbox's namespace.
      await f.controller.stop();
      failOperation(8);
      const warnings: StateWarning[] = [];
      const c = await NetworkController.create({ ...f.options, listeners: { 'state:warning': (w: StateWarning) => warnings.push(w) } });
      f.controller = c;
      expect(isMountPoint(sandbox.key)).toBe(true);
      expect(bridgePorts(bridge)).toEqual(veths);
      expect(
        c
          .sandboxById(sandbox.id)
          ?.endpoints()
          .map((e) => e.name),
      ).toEqual(['trust-eio-ep']);
      expect(c.restoreReport().removedSandboxes).toEqual([]);
      expect(warningFor(warnings, sandbox.id)).toMatch(/could not be checked \(.*netnsInfo.*\): the sandbox is kept/);
    });
  });

  describe('the state directory itself', () => {
    /** A state directory the test makes, with a mode and owner; nothing may be created in it. */
    const refused = async (mode: number, uid: number | null, message: RegExp) => {
      const root = mkdtempSync(path.join(tmpdir(), 'cnm-trust-'));
      env.later(() => rmSync(root, { recursive: true, force: true }));
      const stateDir = path.join(root, 'state');
      mkdirSync(stateDir);
      chmodSync(stateDir, mode);
      if (uid !== null) chownSync(stateDir, uid, uid);
      const bridge = uniqueName('br');
      const err = await expectCode(NetworkController.create({ stateDir, etcNetnsDir: path.join(root, 'etc'), defaultBridgeName: bridge }), 'PERMISSION');
      expect(err.message).toMatch(message);
      expect(readdirSync(stateDir)).toEqual([]);
      expect(existsSync(path.join(root, 'etc'))).toBe(false);
      expect(hostHasLink(bridge)).toBe(false);
    };

    it('refuses a world-writable state directory, naming its mode', async () => {
      await refused(0o777, null, /has mode 0777: its group or others can write it/);
    });

    it('refuses a group-writable state directory, naming its mode', async () => {
      await refused(0o770, null, /has mode 0770/);
    });

    it('refuses a state directory owned by another user, naming the owner', async () => {
      await refused(0o700, 65534, /is owned by uid 65534, not by this process \(uid 0\)/);
    });

    it('refuses relative folders and a state directory that is a file with INVALID_ARGUMENT, making nothing', async () => {
      const root = mkdtempSync(path.join(tmpdir(), 'cnm-trust-'));
      env.later(() => rmSync(root, { recursive: true, force: true }));
      const cwd = process.cwd();
      process.chdir(root);
      try {
        const absolute = { stateDir: path.join(root, 'state'), etcNetnsDir: path.join(root, 'etc') };
        for (const bad of [{ stateDir: 'state-rel' }, { netnsDir: 'netns-rel' }, { etcNetnsDir: 'etc-rel' }]) {
          const err = await expectCode(NetworkController.create({ ...absolute, predefinedNetworks: false, ...bad }), 'INVALID_ARGUMENT');
          expect(err.message).toMatch(new RegExp(`${Object.keys(bad)[0]} must be an absolute path, got "${Object.values(bad)[0]}"`));
        }
        const file = path.join(root, 'state-file');
        writeFileSync(file, 'not a folder');
        const err = await expectCode(NetworkController.create({ ...absolute, stateDir: file, predefinedNetworks: false }), 'INVALID_ARGUMENT');
        expect(err.message).toContain(`state directory ${file} is not a folder`);
        expect(readFileSync(file, 'utf8')).toBe('not a folder');
        expect(readdirSync(root)).toEqual(['state-file']);
      } finally {
        process.chdir(cwd);
      }
    });
  });
});

/** Waits until `check` is true (a child process's setup), for at most 5 s. */
async function waitFor(check: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 50));
  expect(check()).toBe(true);
}
