// Real DNS clients inside sandboxes for the kernel tests: dig (dnsutils) and glibc's resolver
// (getent) run in the sandbox's namespace. Asynchronous on purpose: the resolver answers on this
// process's event loop, which a spawnSync would block.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** `dig @127.0.0.11 ARGS` from inside the namespace at `netns`; the full output. */
export async function dig(netns: string, args: string[]): Promise<string> {
  const { stdout } = await run('nsenter', [`--net=${netns}`, 'dig', '@127.0.0.11', '+time=2', '+tries=1', ...args]).catch((err: { stdout?: string }) => ({
    stdout: err.stdout ?? '',
  }));
  return stdout;
}

/** The answers of `dig +short` (sorted unless `ordered`). */
export async function digShort(netns: string, args: string[], ordered = false): Promise<string[]> {
  const lines = (await dig(netns, ['+short', ...args])).split('\n').filter((l) => l !== '' && !l.startsWith(';'));
  return ordered ? lines : lines.sort();
}

/** The status dig reports (NOERROR, NXDOMAIN, SERVFAIL), or 'timeout'. */
export async function digStatus(netns: string, args: string[]): Promise<string> {
  return /status: (\w+)/.exec(await dig(netns, args))?.[1] ?? 'timeout';
}

/**
 * `getent hosts NAME` in the namespace, with the sandbox's resolv.conf in place of /etc/resolv.conf
 * (in a mount namespace of its own, as a container would have it); the addresses found.
 */
export async function getentHosts(netns: string, resolvConf: string, name: string): Promise<string[]> {
  const script = `mount --bind "$1" /etc/resolv.conf && exec getent ahostsv4 "$2"`;
  const { stdout } = await run('nsenter', [`--net=${netns}`, 'unshare', '--mount', 'sh', '-c', script, 'sh', resolvConf, name]).catch(
    (err: { stdout?: string }) => ({ stdout: err.stdout ?? '' }),
  );
  return [
    ...new Set(
      stdout
        .split('\n')
        .filter((l) => l.includes('STREAM'))
        .map((l) => l.split(/\s+/)[0]),
    ),
  ].sort();
}

/** A process of the test's own: killed by stop(). */
export class Child {
  private constructor(readonly process: ChildProcess) {}

  /** Starts `argv` and waits (10 s at most) until `ready` holds for its output (stdout and stderr). */
  static async start(argv: string[], ready: (output: string) => boolean): Promise<Child> {
    const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let exited: number | null | undefined;
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (status) => (exited = status));
    for (let waited = 0; !ready(output); waited += 50) {
      if (exited !== undefined || waited > 10000) {
        child.kill('SIGKILL');
        throw new Error(`${argv.join(' ')} ${exited !== undefined ? `exited with ${exited}` : 'not ready'}: ${output}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return new Child(child);
  }

  stop(): void {
    this.process.kill('SIGKILL');
  }
}
