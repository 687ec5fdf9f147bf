// A sandbox's resolv.conf on a host with systemd-resolved: the controller's hostResolvConf lists
// only the stub 127.0.0.53, its systemdResolvConf the real upstream servers. Checked through glibc
// inside the sandbox: the file bind-mounted on /etc/resolv.conf (as `ip netns exec` does) and
// `getent hosts`, whose queries a small DNS server on the first upstream address records.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { NetworkController, Sandbox } from '../../../lib';
import { useControllers, type CnmFixture } from '../../helpers/cnm';
import { describeKernel, eventually, ip, uniqueName } from '../../helpers/kernel';

const STUB =
  '# This is /run/systemd/resolve/stub-resolv.conf managed by man:systemd-resolved(8).\nnameserver 127.0.0.53\noptions edns0 trust-ad\nsearch corp.example\n';
const UPSTREAM = '# This is /run/systemd/resolve/resolv.conf\nnameserver 10.77.0.53\nnameserver 10.77.0.54\nsearch corp.example lab.example\n';

/**
 * A DNS server on `address`:53 inside a namespace that answers every query NXDOMAIN at once and
 * prints each query's name.
 */
class RecordingDnsServer {
  private output = '';
  private constructor(private readonly child: ChildProcess) {
    child.stdout!.on('data', (d: Buffer) => (this.output += d.toString()));
  }

  static async start(address: string, netns: string): Promise<RecordingDnsServer> {
    const code = `
      const socket = require('dgram').createSocket('udp4');
      socket.on('message', (query, from) => {
        const labels = [];
        let at = 12;
        while (query[at] > 0) { labels.push(query.toString('latin1', at + 1, at + 1 + query[at])); at += query[at] + 1; }
        console.log(labels.join('.'));
        const reply = Buffer.from(query.subarray(0, at + 5)); // the header and the question only
        reply.writeUInt16BE(0x8183, 2); // a response, recursion available, NXDOMAIN
        reply.writeUInt32BE(0, 6);
        reply.writeUInt16BE(0, 10);
        socket.send(reply, from.port, from.address);
      });
      socket.bind(53, ${JSON.stringify(address)}, () => console.log('ready'));`;
    const child = spawn('nsenter', [`--net=${netns}`, process.execPath, '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      child.once('exit', (status) => reject(new Error(`DNS server exited with ${status}`)));
      child.stdout!.once('data', () => resolve());
    });
    return new RecordingDnsServer(child);
  }

  /** The names asked so far, in order. */
  names(): string[] {
    return this.output.split('\n').filter((l) => l !== '' && l !== 'ready');
  }

  stop(): void {
    this.child.kill('SIGKILL');
  }
}

/** Looks `name` up with glibc inside the sandbox, `resolvConf` bind-mounted on /etc/resolv.conf; returns getent's status. */
function getentInSandbox(sandbox: Sandbox, resolvConf: string, name: string): number | null {
  const script = 'mount --bind "$0" /etc/resolv.conf && exec getent hosts "$1"';
  const run = spawnSync('nsenter', [`--net=${sandbox.key}`, 'unshare', '--mount', '--propagation', 'private', 'sh', '-c', script, resolvConf, name], {
    encoding: 'utf8',
    timeout: 20000,
  });
  if (run.error) throw run.error;
  return run.status;
}

describeKernel('resolv.conf on a systemd-resolved host', () => {
  const env = useControllers();
  let f: CnmFixture;
  let c: NetworkController;
  let upstreamDir: string;

  beforeAll(async () => {
    upstreamDir = mkdtempSync(path.join(tmpdir(), 'cnm-systemd-'));
    const systemdResolvConf = path.join(upstreamDir, 'resolv.conf');
    writeFileSync(systemdResolvConf, UPSTREAM);
    f = await env.make({ predefinedNetworks: false, systemdResolvConf }, STUB);
    c = f.controller;
  });
  afterAll(() => rmSync(upstreamDir, { recursive: true, force: true }));

  const folders = (s: Sandbox) => [path.join(f.runFolder, 'sandboxes', s.id), path.join(f.etcNetnsDir, path.basename(s.key))];

  /**
   * Looks `name` up with glibc in the sandbox, its own file on /etc/resolv.conf, and expects the
   * first upstream server to see queries for `expected` (each name once, in order).
   */
  async function expectQueries(sandbox: Sandbox, name: string, expected: string[]): Promise<void> {
    ip(['addr', 'add', '10.77.0.53/32', 'dev', 'lo'], sandbox.key);
    const server = await RecordingDnsServer.start('10.77.0.53', sandbox.key);
    try {
      expect(getentInSandbox(sandbox, path.join(folders(sandbox)[1], 'resolv.conf'), name)).toBe(2); // not found
      // The server's output is read once the event loop runs again.
      await eventually(() => [...new Set(server.names())], expected);
    } finally {
      server.stop();
    }
  }

  it("gives a sandbox the real upstream servers and the host's search domains, and glibc in it uses them", async () => {
    const sandbox = await c.newSandbox(uniqueName('ctr'));
    try {
      for (const folder of folders(sandbox)) {
        expect(readFileSync(path.join(folder, 'resolv.conf'), 'utf8')).toBe('nameserver 10.77.0.53\nnameserver 10.77.0.54\nsearch corp.example lab.example\n');
      }
      // A name without a dot is tried with each search domain first (ndots:1), then as it is.
      await expectQueries(sandbox, 'web', ['web.corp.example', 'web.lab.example', 'web']);
    } finally {
      await sandbox.delete();
    }
  });

  it("lets a sandbox's dnsSearch and dnsOptions replace the host's, glibc reading them", async () => {
    const sandbox = await c.newSandbox(uniqueName('ctr'), { dnsSearch: ['own.example'], dnsOptions: ['ndots:2'] });
    try {
      for (const folder of folders(sandbox)) {
        expect(readFileSync(path.join(folder, 'resolv.conf'), 'utf8')).toBe(
          'nameserver 10.77.0.53\nnameserver 10.77.0.54\nsearch own.example\noptions ndots:2\n',
        );
      }
      // With ndots:2 a name with one dot is tried with the search domain first.
      await expectQueries(sandbox, 'web.svc', ['web.svc.own.example', 'web.svc']);
    } finally {
      await sandbox.delete();
    }
  });
});
