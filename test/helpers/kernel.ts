// Helpers for kernel tests: an independent view of the kernel through iproute2, leak checks, and
// real TCP traffic between namespaces the test made. Kernel tests run only inside the private
// namespace that test/run.js sets up (CNM_KERNEL_TESTS=1).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import * as net from 'node:net';

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
  return netns
    ? execFileSync('nsenter', [`--net=${netns}`, 'ip', ...args], { encoding: 'utf8' })
    : execFileSync('ip', args, { encoding: 'utf8' });
}

/** True if the host has a link of that name (per `ip`). */
export function hostHasLink(name: string): boolean {
  return ipJson<{ ifname: string }[]>(['link', 'show']).some((l) => l.ifname === name);
}

export interface KernelSnapshot {
  links: string[];
  namespaces: string[];
  mounts: string[];
}

/** The host's links, the namespace files and the mounts under the namespace directory. */
export function snapshot(): KernelSnapshot {
  const links = ipJson<{ ifname: string }[]>(['link', 'show']).map((l) => l.ifname).sort();
  const namespaces = readdirSync(NETNS_DIR).sort();
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((line) => line.split(' ')[4]?.startsWith(`${NETNS_DIR}/`))
    .map((line) => line.split(' ')[4])
    .sort();
  return { links, namespaces, mounts };
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
