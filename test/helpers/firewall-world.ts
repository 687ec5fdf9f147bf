// The firewall tests' world, shared by their files: clients and servers run with `node` in
// namespaces the test made (null: the test's own namespace, which stands for the host), the host's
// nf_tables tables as `nft` lists them, and a Scope that undoes what one test made.
import { execFile, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { CnmError, type Endpoint, type EndpointOptions, type Network, type NetworkController, type Sandbox } from '../../lib';
import { bare, useControllers } from './cnm';
import { ip, NETNS_DIR, uniqueName } from './kernel';
import { nftJson, tcpClientScript } from './nft';

const run = promisify(execFile);

/** Connections expected to work get this long; those expected to fail, this short. */
export const WORKS_MS = 3000;
export const FAILS_MS = 1000;

/** `node -e CODE` inside `netns` (by path), or in the test's own namespace (the host) for null. */
export async function nodeIn(netns: string | null, code: string): Promise<string> {
  const argv = netns ? ['nsenter', `--net=${netns}`, process.execPath, '-e', code] : [process.execPath, '-e', code];
  const { stdout } = await run(argv[0], argv.slice(1), { encoding: 'utf8', timeout: 20000 });
  return stdout;
}

/**
 * A TCP client in `netns` (null: the host) that connects to host:port, sends "hello" and returns
 * what the server sent back; or 'timeout' / 'refused' / the error code when no connection was made.
 */
export function tcp(host: string, port: number, netns: string | null, timeoutMs = WORKS_MS): Promise<string> {
  return nodeIn(netns, tcpClientScript(host, port, timeoutMs));
}

/** A TCP connection attempt that must not get through (dropped, refused or unreachable). */
export async function expectBlocked(host: string, port: number, netns: string | null): Promise<void> {
  expect(await tcp(host, port, netns, FAILS_MS)).toMatch(/^(timeout|refused|E[A-Z]+)$/);
}

/** A UDP client in `netns`: sends `message` from `sourcePort` (0: any) and returns the first reply, or 'timeout'. */
export function udp(host: string, port: number, netns: string | null, message: string, sourcePort = 0, timeoutMs = WORKS_MS): Promise<string> {
  return nodeIn(
    netns,
    `const s = require('dgram').createSocket('${host.includes(':') ? 'udp6' : 'udp4'}');` +
      `s.on('message', (m) => { process.stdout.write(String(m)); process.exit(0); });` +
      `s.on('error', (e) => { process.stdout.write(String(e.code)); process.exit(0); });` +
      `setTimeout(() => { process.stdout.write('timeout'); process.exit(0); }, ${timeoutMs});` +
      `s.bind(${sourcePort}, () => s.send(${JSON.stringify(message)}, ${port}, ${JSON.stringify(host)}));`,
  );
}

/** Server programs: each prints "ready" once it listens. */
export const servers = {
  /** TCP echo. */
  echo: (host: string, port: number) => `require('net').createServer((s) => s.pipe(s)).listen(${port}, ${JSON.stringify(host)}, () => console.log('ready'))`,
  /** TCP: answers each connection with the peer's address ("who connected"). */
  peer: (host: string, port: number) =>
    `require('net').createServer((s) => s.end(s.remoteAddress)).listen(${port}, ${JSON.stringify(host)}, () => console.log('ready'))`,
  /** UDP echo, each reply prefixed with `tag` (on IPv6 for host "::"). */
  udpEcho: (port: number, tag: string, host = '0.0.0.0') =>
    `require('dgram').createSocket('${host.includes(':') ? 'udp6' : 'udp4'}').on('message', function (m, r) { this.send(${JSON.stringify(tag)} + m, r.port, r.address); })` +
    `.bind(${port}, ${JSON.stringify(host)}, () => console.log('ready'))`,
  /** TCP: just holds a port (listening, never answering). */
  holder: (port: number) => `require('net').createServer().listen(${port}, '0.0.0.0', () => console.log('ready'))`,
};

/** The outside namespace's name, the veth pair's ends, and the addresses on each end. */
export interface OutsideOptions {
  name: string;
  hostIfname: string;
  outsideIfname: string;
  hostAddresses: string[];
  outsideAddresses: string[];
}

/**
 * An "outside" namespace (the internet) linked to the host by a veth pair `hostIfname` <->
 * `outsideIfname`, with the addresses given for each end ("CIDR" and `ip addr add` flags after it,
 * "2001:db8::1/64 nodad"); `later` gets the steps that remove them, after the controllers are gone.
 */
export function makeOutside(later: (step: () => unknown) => void, o: OutsideOptions): void {
  ip(['netns', 'add', o.name]);
  later(() => ip(['netns', 'delete', o.name]));
  ip(['link', 'add', o.hostIfname, 'type', 'veth', 'peer', 'name', o.outsideIfname]);
  later(() => ip(['link', 'delete', o.hostIfname]));
  ip(['link', 'set', o.outsideIfname, 'netns', o.name]);
  const netns = `${NETNS_DIR}/${o.name}`;
  for (const a of o.hostAddresses) ip(['addr', 'add', ...a.split(' ').slice(0, 1), 'dev', o.hostIfname, ...a.split(' ').slice(1)]);
  ip(['link', 'set', o.hostIfname, 'up']);
  for (const a of o.outsideAddresses) ip(['addr', 'add', ...a.split(' ').slice(0, 1), 'dev', o.outsideIfname, ...a.split(' ').slice(1)], netns);
  ip(['link', 'set', o.outsideIfname, 'up'], netns);
  ip(['link', 'set', 'lo', 'up'], netns);
}

/**
 * The world of a firewall test file (call it inside describeKernel): IPv6 forwarding on, the
 * outside namespace as makeOutside makes it (`hostIP`: the host's IPv4 address on it, which
 * Scope.outsideRoute routes through), one controller without predefined networks, and a Scope
 * closed after each test.
 */
export function useOutsideWorld(o: OutsideOptions & { hostIP: string }): {
  env: ReturnType<typeof useControllers>;
  scope: Scope;
  controller(): NetworkController;
} {
  const env = useControllers();
  const scope = new Scope({ netns: `${NETNS_DIR}/${o.name}`, hostIP: o.hostIP });
  let controller: NetworkController | undefined;
  beforeAll(async () => {
    forwardIPv6(env.later);
    makeOutside(env.later, o);
    controller = (await env.make({ predefinedNetworks: false })).controller;
  });
  afterEach(() => scope.close());
  return { env, scope, controller: () => controller! };
}

/** Switches IPv6 forwarding on in the test's namespace (the host); `later` gets the step that puts it back. */
export function forwardIPv6(later: (step: () => unknown) => void): void {
  const file = '/proc/sys/net/ipv6/conf/all/forwarding';
  const found = readFileSync(file, 'utf8').trim();
  writeFileSync(file, '1');
  later(() => writeFileSync(file, found));
}

/** The conntrack entries of the host (the test's namespace), one a line. */
export const conntrack = () => readFileSync('/proc/net/nf_conntrack', 'utf8').split('\n').filter(Boolean);

/** "family name" of every nf_tables table of the host. */
export const nftTables = () =>
  nftJson(['list', 'tables'])
    .filter((o) => 'table' in o)
    .map((o) => {
      const t = o.table as { family: string; name: string };
      return `${t.family} ${t.name}`;
    });
export const ownTables = (owner: string) => nftTables().filter((t) => t.endsWith(` cnm-ts-${owner}`));

/** The JSON objects (rules, sets, maps, chains) of the controller's inet table. */
export const ownTable = (owner: string) => nftJson(['list', 'table', 'inet', `cnm-ts-${owner}`]).filter((o) => !('metainfo' in o));

/**
 * What one test made, undone newest first after it (also when it failed): server processes,
 * routes, sandboxes, endpoints, networks, tables. What the test already removed is skipped.
 */
export class Scope {
  private steps: (() => unknown)[] = [];

  /** `outside`: the namespace (path) whose routes outsideRoute() adds, via `hostIP`. */
  constructor(private readonly outside: { netns: string; hostIP: string }) {}

  defer(step: () => unknown): void {
    this.steps.push(step);
  }

  async network(c: NetworkController, name: string, subnet: string, options: { internal?: boolean; driverOptions?: Record<string, string> } = {}) {
    const network = await c.newNetwork('bridge', name, {
      internal: options.internal,
      driverOptions: options.driverOptions ?? {},
      ipam: { config: [{ subnet }] },
    });
    this.defer(() => network.delete());
    return { network, bridge: `br-${network.id.slice(0, 12)}`, gateway: subnet.replace(/0\/24$/, '1') };
  }

  /** An endpoint on `network` joined to a new sandbox. */
  async container(c: NetworkController, network: Network, name: string, options: EndpointOptions = {}) {
    const { endpoint, sandbox } = await this.unjoined(c, network, name, options);
    await endpoint.join(sandbox);
    return { endpoint, sandbox, address: bare(endpoint.info().interface.address) };
  }

  /** TCP echo servers in two containers, each on its own address. */
  async serveBoth(a: { sandbox: Sandbox; address: string }, b: { sandbox: Sandbox; address: string }, port: number): Promise<void> {
    await this.server(a.sandbox.key, servers.echo(a.address, port));
    await this.server(b.sandbox.key, servers.echo(b.address, port));
  }

  /** An endpoint and a sandbox, not joined yet. */
  async unjoined(c: NetworkController, network: Network, name: string, options: EndpointOptions = {}): Promise<{ endpoint: Endpoint; sandbox: Sandbox }> {
    const endpoint = await network.createEndpoint(name, options);
    this.defer(() => endpoint.delete({ force: true }));
    const sandbox = await c.newSandbox(uniqueName('fw'));
    this.defer(() => sandbox.delete());
    return { endpoint, sandbox };
  }

  /** Starts a server program in `netns` (null: the host) and waits until it listens. */
  async server(netns: string | null, code: string): Promise<void> {
    const argv = netns ? ['nsenter', `--net=${netns}`, process.execPath, '-e', code] : [process.execPath, '-e', code];
    const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
    this.defer(() => child.kill('SIGKILL'));
    await new Promise<void>((resolve, reject) => {
      child.once('exit', (status) => reject(new Error(`server exited with ${status}: ${code}`)));
      child.stdout!.once('data', () => resolve());
    });
  }

  /** A route in the outside namespace to `subnet` via the host. */
  outsideRoute(subnet: string): void {
    const { netns, hostIP } = this.outside;
    ip(['route', 'add', subnet, 'via', hostIP], netns);
    this.defer(() => ip(['route', 'del', subnet, 'via', hostIP], netns));
  }

  async close(): Promise<void> {
    const errors: unknown[] = [];
    for (let step = this.steps.pop(); step; step = this.steps.pop()) {
      try {
        await step();
      } catch (err) {
        if (!(err instanceof CnmError && err.code === 'NOT_FOUND')) errors.push(err);
      }
    }
    if (errors.length > 0) throw new AggregateError(errors, 'test cleanup failed');
  }
}
