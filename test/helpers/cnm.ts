// Helpers for the CNM kernel tests: controllers on temporary state / etc-netns directories and a
// temporary host resolv.conf, torn down (and leak-checked) after the file even when a test failed;
// error-code assertions; an independent view of what a failed call could have left behind.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { CnmError, NetworkController, type CnmErrorCode, type ControllerOptions } from '../../lib';
import { expectBackTo, ipJson, rejection, snapshot, type KernelSnapshot } from './kernel';

/** What the host's resolv.conf holds in the tests: one usable and one loopback nameserver. */
export const HOST_RESOLV_CONF = 'nameserver 10.0.0.53\nnameserver 127.0.0.53\nsearch host.example\n';

export interface CnmFixture {
  controller: NetworkController;
  root: string;
  stateDir: string;
  /** The controller's run folder (`<runDir>/<mark>`): sandbox records and folders. */
  runFolder: string;
  etcNetnsDir: string;
  hostResolvConf: string;
  /** What the controller was made with, for restart(). */
  options: ControllerOptions;
}

/** A controller whose state, /etc/netns and host resolv.conf live in a fresh temporary folder. */
export async function makeController(options: ControllerOptions = {}, resolvConf = HOST_RESOLV_CONF): Promise<CnmFixture> {
  const root = mkdtempSync(path.join(tmpdir(), 'cnm-kt-'));
  const stateDir = path.join(root, 'state');
  const runDir = path.join(root, 'run');
  const etcNetnsDir = path.join(root, 'etc-netns');
  const hostResolvConf = path.join(root, 'resolv.conf');
  writeFileSync(hostResolvConf, resolvConf);
  const all = { stateDir, runDir, etcNetnsDir, hostResolvConf, ...options };
  try {
    const controller = await NetworkController.create(all);
    const runFolder = path.join(all.runDir, controller.owner);
    return { controller, root, stateDir, runFolder, etcNetnsDir, hostResolvConf, options: all };
  } catch (err) {
    rmSync(root, { recursive: true, force: true });
    throw err;
  }
}

/**
 * For one test file (call it inside describeKernel): snapshots the kernel before the first test;
 * after the last, stops every controller made through `make` with removeAll, removes their
 * folders, runs the extra cleanup steps, and checks that links, namespaces and mounts are back.
 */
export function useControllers(): {
  make(options?: ControllerOptions, resolvConf?: string): Promise<CnmFixture>;
  later(step: () => unknown): void;
  fixtures(): CnmFixture[];
} {
  const fixtures: CnmFixture[] = [];
  const steps: (() => unknown)[] = [];
  let before: KernelSnapshot;
  beforeAll(() => {
    before = snapshot();
  });
  afterAll(async () => {
    const errors: unknown[] = [];
    for (const f of fixtures.reverse()) {
      await removeEverything(f).catch((e: unknown) => errors.push(e));
      rmSync(f.root, { recursive: true, force: true });
    }
    for (const step of steps.reverse()) {
      try {
        await step();
      } catch (e) {
        errors.push(e);
      }
    }
    await expectBackTo(before);
    if (errors.length > 0) throw new AggregateError(errors, 'cleanup failed');
  });
  return {
    async make(options?: ControllerOptions, resolvConf?: string) {
      const f = await makeController(options, resolvConf);
      fixtures.push(f);
      return f;
    },
    later(step: () => unknown) {
      steps.push(step);
    },
    fixtures() {
      return [...fixtures];
    },
  };
}

/**
 * Removes every object of the fixture's state directory: stop({ removeAll }), by a new controller
 * on the directory if a test left the fixture's controller stopped (a stopped one does nothing).
 */
async function removeEverything(f: CnmFixture): Promise<void> {
  const stopped = (() => {
    try {
      f.controller.networks();
      return false;
    } catch (err) {
      if ((err as CnmError).code === 'STOPPED') return true;
      throw err;
    }
  })();
  if (stopped) f.controller = await NetworkController.create(f.options);
  await f.controller.stop({ removeAll: true });
}

/**
 * Stops the fixture's controller (leaving everything in place, as a daemon that exits does) and
 * starts a new one on the same directories, which becomes the fixture's controller.
 */
export async function restart(f: CnmFixture, options: ControllerOptions = {}): Promise<NetworkController> {
  await f.controller.stop();
  f.controller = await NetworkController.create({ ...f.options, ...options });
  return f.controller;
}

/** Expects a CnmError with this code; returns it. */
export async function expectCode(promise: Promise<unknown> | (() => Promise<unknown>), code: CnmErrorCode): Promise<CnmError> {
  const err = await rejection(typeof promise === 'function' ? Promise.resolve().then(promise) : promise);
  expect(err).toBeInstanceOf(CnmError);
  expect({ code: (err as CnmError).code, message: err.message }).toEqual({ code, message: expect.any(String) });
  return err as CnmError;
}

/** Every file under `dir` (relative path -> content), or {} if it does not exist. */
export function fileTree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (at: string) => {
    let entries: string[];
    try {
      entries = readdirSync(at);
    } catch {
      return;
    }
    for (const entry of entries.sort()) {
      const full = path.join(at, entry);
      if (statSync(full).isDirectory()) {
        out[`${path.relative(dir, full)}/`] = '';
        walk(full);
      } else {
        out[path.relative(dir, full)] = readFileSync(full, 'utf8');
      }
    }
  };
  walk(dir);
  return out;
}

/** Every address of the test's namespace, "ifname address/len" (`ip -j addr`). */
export function hostAddresses(): string[] {
  const links = ipJson<{ ifname: string; addr_info: { local: string; prefixlen: number }[] }[]>(['addr', 'show']);
  return links.flatMap((l) => l.addr_info.map((a) => `${l.ifname} ${a.local}/${a.prefixlen}`)).sort();
}

/** Links, namespaces, mounts, addresses and the controller's files: what a failed call must not change. */
export function world(f: CnmFixture): {
  kernel: KernelSnapshot;
  addresses: string[];
  state: Record<string, string>;
  run: Record<string, string>;
  etc: Record<string, string>;
  objects: string[];
} {
  const c = f.controller;
  const objects = [
    ...c.networks().flatMap((n) => [`network ${n.name}`, ...n.endpoints().map((e) => `endpoint ${n.name}/${e.name} ${e.info().sandboxId ?? '-'}`)]),
    ...c.sandboxes().map(
      (s) =>
        `sandbox ${s.containerId} ${s
          .endpoints()
          .map((e) => e.name)
          .join(',')}`,
    ),
    // Inside each sandbox (not the host's): its interfaces and addresses.
    ...c
      .sandboxes()
      .filter((s) => s.mode !== 'host')
      .flatMap((s) => nsAddrs(s.key).map((l) => `in ${s.containerId}: ${l.ifname} ${l.addr_info.map((a) => a.local).join(' ')}`)),
  ].sort();
  // The kernel gives a bridge its IPv6 link-local address when a port first brings its carrier up
  // (a join that then fails included), and keeps it; cnm-ts itself adds no link-local address.
  const addresses = hostAddresses().filter((a) => !a.includes(' fe80:'));
  return { kernel: snapshot(), addresses, state: fileTree(f.stateDir), run: fileTree(f.runFolder), etc: fileTree(f.etcNetnsDir), objects };
}

/** Expects the call to fail with `code` and to change nothing that world() sees. */
export async function failsCleanly(f: CnmFixture, call: () => Promise<unknown>, code: CnmErrorCode): Promise<CnmError> {
  const before = world(f);
  const err = await expectCode(call, code);
  expectSameWorld(world(f), before);
  return err;
}

/**
 * Expects `after` to equal `before`, except for veth host ends that vanished: the kernel destroys
 * the namespaces of sandboxes deleted earlier in the background, taking their veth pairs with
 * them. Nothing may appear.
 */
export function expectSameWorld(after: ReturnType<typeof world>, before: ReturnType<typeof world>): void {
  const gone = before.kernel.links.filter((l) => /^veth/.test(l) && !after.kernel.links.includes(l));
  expect(after).toEqual({ ...before, kernel: { ...before.kernel, links: before.kernel.links.filter((l) => !gone.includes(l)) } });
}

/** `ip -j link` / `ip -j addr` views of one interface inside a namespace. */
export interface NsAddr {
  ifname: string;
  mtu: number;
  address: string;
  operstate: string;
  link_type: string;
  addr_info: { family: 'inet' | 'inet6'; local: string; prefixlen: number; scope: string }[];
}

/** Every interface of a namespace with its addresses (`ip -j addr show` there). */
export function nsAddrs(netns: string): NsAddr[] {
  return ipJson<NsAddr[]>(['addr', 'show'], netns);
}

/** The IPv4 (or with `-6` IPv6) routes of a namespace (`ip -j route show`). */
export function nsRoutes(netns: string, family: 4 | 6 = 4): { dst: string; gateway?: string; dev: string; protocol?: string }[] {
  return ipJson(family === 6 ? ['-6', 'route', 'show'] : ['route', 'show'], netns);
}

/** Names of the links whose master is `bridge` (`ip -j link show master BRIDGE`). */
export function bridgePorts(bridge: string): string[] {
  return ipJson<{ ifname: string }[]>(['link', 'show', 'master', bridge])
    .map((l) => l.ifname)
    .sort();
}

/** Names of the links of kind bridge in the test's namespace (`ip -j link show type bridge`). */
export function hostBridges(): string[] {
  return ipJson<{ ifname: string }[]>(['link', 'show', 'type', 'bridge'])
    .map((l) => l.ifname)
    .sort();
}

/** An address without its prefix length. */
export const bare = (cidr: string | null | undefined): string => (cidr ?? '').split('/')[0];

/** Whether a TCP connection from inside `netns` to host:port succeeds within 2 s (quietly). */
export function tcpConnects(host: string, port: number, netns: string): boolean {
  const code =
    `const s = require('net').connect({ host: ${JSON.stringify(host)}, port: ${port}, timeout: 2000 }, () => process.exit(0));` +
    `s.on('error', () => process.exit(1)); s.on('timeout', () => process.exit(1));`;
  return spawnSync('nsenter', [`--net=${netns}`, process.execPath, '-e', code], { stdio: 'ignore' }).status === 0;
}
