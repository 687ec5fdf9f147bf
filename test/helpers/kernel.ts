// Helpers for kernel tests: an independent view of the kernel through iproute2, leak checks, and
// real TCP traffic between namespaces the test made. Kernel tests run only inside the private
// namespace that test/run.js sets up (CNM_KERNEL_TESTS=1).
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import * as net from 'node:net';
import { basename } from 'node:path';
import { CnmError } from '../../lib';
import { NetlinkError, linkDelete, netnsCreate, netnsDelete } from '../../lib/kernel';

/** The namespace directory: a tmpfs inside the test's private mount namespace. */
export const NETNS_DIR = '/run/netns';

export const kernelTestsEnabled = process.env.CNM_KERNEL_TESTS === '1';

/** `describe` for tests that need the real kernel; skipped (and counted as skipped) elsewhere. */
export const describeKernel: jest.Describe = kernelTestsEnabled ? describe : describe.skip;

let counter = 0;
/** A fresh interface or namespace name, at most 15 bytes. */
export function uniqueName(prefix: string): string {
  counter += 1;
  return `${prefix}${(process.pid % 1000).toString(36)}${counter.toString(36)}`.slice(0, 15);
}

/** Runs `ip -j ARGS`, in a namespace (by path) if given, and parses its JSON. */
export function ipJson<T = Record<string, unknown>[]>(args: string[], netns?: string): T {
  const out = netns
    ? execFileSync('nsenter', [`--net=${netns}`, 'ip', '-j', ...args], { encoding: 'utf8' })
    : execFileSync('ip', ['-j', ...args], { encoding: 'utf8' });
  return JSON.parse(out || '[]') as T;
}

/** Runs `ip ARGS` for setup or teardown done independently of the library. */
export function ip(args: string[], netns?: string): string {
  return netns ? execFileSync('nsenter', [`--net=${netns}`, 'ip', ...args], { encoding: 'utf8' }) : execFileSync('ip', args, { encoding: 'utf8' });
}

/** True if the host has a link of that name (per `ip`). */
export function hostHasLink(name: string): boolean {
  return ipJson<{ ifname: string }[]>(['link', 'show']).some((l) => l.ifname === name);
}

export interface KernelSnapshot {
  links: string[];
  namespaces: string[];
  mounts: string[];
  /** nf_tables tables, as "family name". */
  tables: string[];
}

/** The nf_tables tables of the test's host namespace, as "family name" (per `nft`). */
function nftTables(): string[] {
  const out = JSON.parse(execFileSync('nft', ['-j', 'list', 'tables'], { encoding: 'utf8' })) as { nftables: { table?: { family: string; name: string } }[] };
  return out.nftables.flatMap((item) => (item.table ? [`${item.table.family} ${item.table.name}`] : [])).sort();
}

/** The host's links, nf_tables tables, the namespace files and the mounts under the namespace directory. */
export function snapshot(): KernelSnapshot {
  const links = ipJson<{ ifname: string }[]>(['link', 'show'])
    .map((l) => l.ifname)
    .sort();
  const namespaces = readdirSync(NETNS_DIR).sort();
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((line) => line.split(' ')[4]?.startsWith(`${NETNS_DIR}/`))
    .map((line) => line.split(' ')[4])
    .sort();
  return { links, namespaces, mounts, tables: nftTables() };
}

/**
 * Waits until the kernel is back to `before`. Namespaces are destroyed by the kernel in the
 * background, taking their veth pairs with them, so links may take a moment to go.
 */
export async function expectBackTo(before: KernelSnapshot, timeoutMs = 15000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let now = snapshot();
  while (JSON.stringify(now) !== JSON.stringify(before) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    now = snapshot();
  }
  expect(now).toEqual(before);
}

/** Waits until `read()` returns `expected` (the kernel finishes some work in the background), then asserts it. */
export async function eventually<T>(read: () => T | Promise<T>, expected: T, timeoutMs = 10000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let value = await read();
  while (JSON.stringify(value) !== JSON.stringify(expected) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    value = await read();
  }
  expect(value).toEqual(expected);
}

/** A TCP echo server running inside a namespace (or the test's own, without one). */
export class EchoServer {
  private constructor(private readonly child: ChildProcess) {}

  static async start(host: string, port: number, netns?: string): Promise<EchoServer> {
    const code = `require('net').createServer((s) => s.pipe(s)).listen(${port}, ${JSON.stringify(host)}, () => console.log('ready'))`;
    const argv = netns ? ['nsenter', `--net=${netns}`, process.execPath, '-e', code] : [process.execPath, '-e', code];
    const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      child.once('exit', (status) => reject(new Error(`echo server exited with ${status}`)));
      child.stdout!.once('data', () => resolve());
    });
    return new EchoServer(child);
  }

  stop(): void {
    this.child.kill('SIGKILL');
  }
}

/** Connects from a namespace (or the test's own) and returns what the echo server sent back. */
export async function tcpRoundTrip(host: string, port: number, netns?: string): Promise<string> {
  const message = `hello ${host}:${port}`;
  if (!netns) {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port, timeout: 5000 }, () => socket.end(message));
      let data = '';
      socket.on('data', (d) => (data += d));
      socket.on('end', () => resolve(data));
      socket.on('timeout', () => socket.destroy(new Error(`timeout connecting to ${host}:${port}`)));
      socket.on('error', reject);
    });
  }
  const code =
    `const s = require('net').connect({ host: ${JSON.stringify(host)}, port: ${port}, timeout: 5000 }, () => s.end(${JSON.stringify(message)}));` +
    `let d = ''; s.on('data', (x) => (d += x)); s.on('end', () => process.stdout.write(d));` +
    `s.on('timeout', () => { console.error('timeout'); process.exit(2); });`;
  return execFileSync('nsenter', [`--net=${netns}`, process.execPath, '-e', code], { encoding: 'utf8' });
}

/**
 * Real TCP: an echo server in `server.netns` on its address is reached from `clientNetns` and from
 * the test's own namespace (the host).
 */
export async function expectTcpFromPeerAndHost(server: { address: string; netns: string }, clientNetns: string, port: number): Promise<void> {
  const echo = await EchoServer.start(server.address, port, server.netns);
  try {
    expect(await tcpRoundTrip(server.address, port, clientNetns)).toBe(`hello ${server.address}:${port}`);
    expect(await tcpRoundTrip(server.address, port)).toBe(`hello ${server.address}:${port}`);
  } finally {
    echo.stop();
  }
}

/** Each thread of a process whose network namespace differs from `reference` (a /proc ns link). */
export function threadsOutside(pid: number | 'self', reference: string): string[] {
  const tasks = readdirSync(`/proc/${pid}/task`);
  return tasks.filter((tid) => {
    try {
      return readlinkSync(`/proc/${pid}/task/${tid}/ns/net`) !== reference;
    } catch {
      return false; // the thread ended while we looked
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Typed views of `ip -j`, cleanup of what a test made, leak checks, and error assertions.

/** One link as `ip -d -s -j link show` prints it (the fields the tests read). */
export interface IpLink {
  ifindex: number;
  ifname: string;
  flags: string[];
  mtu: number;
  address: string;
  operstate: string;
  master?: string;
  link?: string;
  link_index?: number;
  inet6_addr_gen_mode?: string;
  linkinfo?: { info_kind: string; info_data?: Record<string, unknown> };
  stats64?: { rx: { bytes: number; packets: number }; tx: { bytes: number; packets: number } };
}

/** Every link of the test's namespace (or of `netns`), with details and counters. */
export function ipLinks(netns?: string): IpLink[] {
  return ipJson<IpLink[]>(['-d', '-s', 'link', 'show'], netns);
}

/** One link by name, or undefined (`ip link show dev X` fails for a missing link). */
export function ipLink(name: string, netns?: string): IpLink | undefined {
  return ipLinks(netns).find((l) => l.ifname === name);
}

/** One address as `ip -j addr show` prints it. */
export interface IpAddr {
  family: 'inet' | 'inet6';
  local: string;
  prefixlen: number;
  broadcast?: string;
  scope: string;
}

/** The addresses of one link per `ip -j addr show dev NAME`. */
export function ipAddrs(name: string, netns?: string): IpAddr[] {
  const [link] = ipJson<{ addr_info: IpAddr[] }[]>(['addr', 'show', 'dev', name], netns);
  return link?.addr_info ?? [];
}

/** Whether `path` is a mount point in the test's mount namespace. */
export function isMountPoint(path: string): boolean {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .some((line) => line.split(' ')[4] === path);
}

/** Kernel errors that mean "already gone" when cleaning up. */
const GONE = new Set(['ENODEV', 'ENOENT', 'ESRCH', 'EADDRNOTAVAIL']);

/**
 * What a test made, undone newest first by `cleanup()` (in afterEach / afterAll, so it runs also
 * when the test failed). Objects that are already gone are skipped; any other error is rethrown.
 */
export class Made {
  private readonly undo: (() => unknown)[] = [];

  /** Remembers a link (in the test's namespace, or in `netns`); returns its name. */
  link(name: string, netns?: string): string {
    this.undo.push(() => linkDelete(name, netns ? { netns } : {}));
    return name;
  }

  /** Creates a namespace through the library and remembers it; returns its path. */
  async namespace(sysctls?: Record<string, string>): Promise<string> {
    const path = this.netns(`${NETNS_DIR}/${uniqueName('ns')}`);
    await netnsCreate(NETNS_DIR, basename(path), sysctls);
    return path;
  }

  /** Remembers a namespace path made some other way; returns it. */
  netns(path: string): string {
    this.undo.push(() => netnsDelete(path));
    return path;
  }

  /** Remembers any other undo step (removing a file, restoring a sysctl). */
  later(step: () => unknown): void {
    this.undo.push(step);
  }

  async cleanup(): Promise<void> {
    let first: unknown;
    for (let step = this.undo.pop(); step; step = this.undo.pop()) {
      try {
        await step();
      } catch (err) {
        if (!GONE.has((err as { code?: string }).code ?? '')) first ??= err;
      }
    }
    if (first) throw first;
  }
}

/**
 * For one test file (call it inside describeKernel): snapshots the kernel before the first test,
 * undoes what each test made (`each`) after it and what the file made (`all`) after the last
 * test, then checks that links, nf_tables tables, namespace files and mounts are back to the snapshot.
 */
export function trackKernelObjects(): { each: Made; all: Made } {
  const each = new Made();
  const all = new Made();
  let before: KernelSnapshot;
  beforeAll(() => {
    before = snapshot();
  });
  afterEach(() => each.cleanup());
  afterAll(async () => {
    await all.cleanup();
    await expectBackTo(before);
  });
  return { each, all };
}

/** The error a promise rejects with; fails if it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection, but the promise resolved');
}

/** Expects a NetlinkError with this code and syscall whose `object` mentions `object`. */
export async function expectNetlinkError(
  promise: Promise<unknown>,
  expected: { code: string; syscall: string; object?: string; index?: number },
): Promise<NetlinkError> {
  const err = await rejection(promise);
  expect(err).toBeInstanceOf(NetlinkError);
  const { object, ...fields } = expected;
  expect(err).toMatchObject(fields);
  if (object !== undefined) expect((err as NetlinkError).object).toContain(object);
  return err as NetlinkError;
}

/** Expects a CnmError INVALID_ARGUMENT (refused by validation, before the kernel). */
export async function expectInvalidArgument(promise: Promise<unknown>, mentions?: string): Promise<void> {
  const err = await rejection(promise);
  expect(err).toBeInstanceOf(CnmError);
  expect(err).toMatchObject({ code: 'INVALID_ARGUMENT' });
  if (mentions !== undefined) expect(err.message).toContain(mentions);
}

/** Whether another process can bind address:port with `protocol` (Node's own bind, SO_REUSEADDR on for TCP). */
export function othersCanBind(protocol: 'tcp' | 'udp', address: string, port: number): boolean {
  const code =
    protocol === 'tcp'
      ? `require('net').createServer().on('error', () => process.exit(1)).listen(${port}, '${address}', () => process.exit(0))`
      : `require('dgram').createSocket('udp4').on('error', () => process.exit(1)).bind(${port}, '${address}', () => process.exit(0))`;
  return spawnSync(process.execPath, ['-e', code]).status === 0;
}
