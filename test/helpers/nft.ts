// Helpers for nf_tables tests: `nft -j` as the independent view of the kernel's rule set, and
// small TCP tools for traffic through a router namespace. `nft` is a test oracle only: the
// library never runs it.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';

/** Runs `nft -j ARGS` (in a namespace, by path, if given) and returns its `nftables` array. */
export function nftJson(args: string[], netns?: string): Record<string, unknown>[] {
  const argv = ['-j', ...args];
  const out = netns ? execFileSync('nsenter', [`--net=${netns}`, 'nft', ...argv], { encoding: 'utf8' }) : execFileSync('nft', argv, { encoding: 'utf8' });
  return (JSON.parse(out || '{"nftables":[]}') as { nftables: Record<string, unknown>[] }).nftables;
}

/** Runs `nft ARGS` for setup made independently of the library. */
export function nft(args: string[], netns?: string): string {
  return netns ? execFileSync('nsenter', [`--net=${netns}`, 'nft', ...args], { encoding: 'utf8' }) : execFileSync('nft', args, { encoding: 'utf8' });
}

/** The whole rule set as `nft -j list ruleset` prints it, without the metainfo header. */
export function nftRuleset(netns?: string): Record<string, unknown>[] {
  return nftJson(['list', 'ruleset'], netns).filter((o) => !('metainfo' in o));
}

/** The objects of one kind ('chain', 'rule', 'set', 'map', 'table') of a ruleset listing. */
export function ofKind<T = Record<string, unknown>>(listing: Record<string, unknown>[], kind: string): T[] {
  return listing.filter((o) => kind in o).map((o) => o[kind] as T);
}

export interface NftJsonRule {
  family: string;
  table: string;
  chain: string;
  handle: number;
  comment?: string;
  expr: Record<string, unknown>[];
}

/** The rules of one table (or chain) per `nft -j -a list table`. */
export function nftRules(family: string, table: string, netns?: string, chain?: string): NftJsonRule[] {
  const rules = ofKind<NftJsonRule>(nftJson(['-a', 'list', 'table', family, table], netns), 'rule');
  return chain ? rules.filter((r) => r.chain === chain) : rules;
}

/** A TCP server in a namespace that answers each connection with the peer's address and closes. */
export class PeerAddressServer {
  private constructor(private readonly child: ChildProcess) {}

  static async start(host: string, port: number, netns: string): Promise<PeerAddressServer> {
    const code = `require('net').createServer((s) => s.end(s.remoteAddress)).listen(${port}, ${JSON.stringify(host)}, () => console.log('ready'))`;
    const child = spawn('nsenter', [`--net=${netns}`, process.execPath, '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      child.once('exit', (status) => reject(new Error(`server exited with ${status}`)));
      child.stdout!.once('data', () => resolve());
    });
    return new PeerAddressServer(child);
  }

  stop(): void {
    this.child.kill('SIGKILL');
  }
}

/**
 * A node script that connects to host:port, sends "hello" and prints what the server sent back,
 * or 'refused' / 'timeout' (a dropped SYN) / the error code when no connection was made.
 */
export function tcpClientScript(host: string, port: number, timeoutMs: number): string {
  return (
    `const s = require('net').connect({ host: ${JSON.stringify(host)}, port: ${port} }, () => s.end('hello'));` +
    `s.setTimeout(${timeoutMs}, () => { process.stdout.write('timeout'); process.exit(0); });` +
    `let d = ''; s.on('data', (x) => (d += x)); s.on('end', () => { process.stdout.write(d); process.exit(0); });` +
    `s.on('error', (e) => { process.stdout.write(e.code === 'ECONNREFUSED' ? 'refused' : String(e.code)); process.exit(0); });`
  );
}

/** tcpClientScript run from a namespace, waited for. */
export function tcpAttempt(host: string, port: number, netns: string, timeoutMs = 1500): string {
  return execFileSync('nsenter', [`--net=${netns}`, process.execPath, '-e', tcpClientScript(host, port, timeoutMs)], { encoding: 'utf8' });
}

/** The conntrack table of a namespace, one entry a line (/proc/net/nf_conntrack). */
export function conntrackEntries(netns: string): string[] {
  return execFileSync('nsenter', [`--net=${netns}`, 'cat', '/proc/net/nf_conntrack'], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean);
}
