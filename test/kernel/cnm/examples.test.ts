// Every example runs, says what it should, and leaves nothing behind.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { describeKernel, expectBackTo, snapshot } from '../../helpers/kernel';

const examples = path.resolve(__dirname, '..', '..', '..', 'examples');

/** Runs an example to its end and returns its output; its temp directory must be gone. */
function run(name: string): string {
  const out = execFileSync(process.execPath, [path.join(examples, `${name}.js`)], { encoding: 'utf8' });
  expectTempDirRemoved(out);
  return out;
}

/** The examples print their private state directory first and remove it at the end. */
function expectTempDirRemoved(out: string): void {
  const tmp = /state in (\S+)\)/.exec(out)?.[1];
  expect(tmp).toBeDefined();
  expect(existsSync(tmp!)).toBe(false);
  expect(out).toContain('cleaned up: controller.stop({ removeAll: true }), temp dir removed');
}

describeKernel('examples', () => {
  it('container-pair: B and the host reach A over TCP', async () => {
    const before = snapshot();
    const out = execFileSync(process.execPath, [path.join(examples, 'container-pair.js')], { encoding: 'utf8' });
    expect(out).toContain('B -> A over TCP, echoed: "hello from B"');
    expect(out).toContain('host -> A over TCP, echoed: "hello from the host"');
    expect(out).toContain('cleaned up');
    await expectBackTo(before);
  });

  it('by-name: the client finds web through the embedded DNS server and reaches it', async () => {
    const before = snapshot();
    const out = run('by-name');
    const web = /container web: \S+, (\d+\.\d+\.\d+\.\d+)/.exec(out)?.[1];
    expect(out).toContain("client's resolv.conf: nameserver 127.0.0.11; options ndots:0");
    expect(out).toContain(`client resolved web to ${web} and reached it over TCP, echoed: "hello web"`);
    await expectBackTo(before);
  });

  it('null-mode: the sandbox has only lo and no routes', async () => {
    const before = snapshot();
    const out = run('null-mode');
    expect(out).toMatch(/sandbox \/run\/netns\/cnm-[\w-]+ joined network 'none'/);
    expect(out).toContain('links: lo (up)\n');
    expect(out).toContain('routes: none\n');
    await expectBackTo(before);
  });

  it('bridge-mode: B and the host reach A over the default bridge network', async () => {
    const before = snapshot();
    const out = run('bridge-mode');
    const a = /container A: \/run\/netns\/cnm-[\w-]+, eth0 (\d+\.\d+\.\d+\.\d+)\/\d+/.exec(out);
    const b = /container B: \/run\/netns\/cnm-[\w-]+, eth0 (\d+\.\d+\.\d+\.\d+)\/\d+/.exec(out);
    expect(a && b && a[1] !== b[1]).toBe(true);
    expect(out).toContain(`echo server listening in A on ${a![1]}:8080`);
    expect(out).toContain('B -> A over TCP, echoed: "hello from B"');
    expect(out).toContain('host -> A over TCP, echoed: "hello from the host"');
    await expectBackTo(before);
  });

  it('published-port: the host reaches the container through a port published on 127.0.0.1, until it leaves', async () => {
    const before = snapshot();
    const out = run('published-port');
    const port = /published: container tcp\/8080 on host 127\.0\.0\.1:(\d+)/.exec(out)?.[1];
    expect(Number(port)).toBeGreaterThan(0);
    expect(out).toContain(`host -> 127.0.0.1:${port} -> container, echoed: "hello through the published port"`);
    expect(out).toContain(`after leave, 127.0.0.1:${port}: connection refused`);
    await expectBackTo(before);
  });

  it('host-mode: the sandbox is the host namespace and sees its interfaces', async () => {
    const before = snapshot();
    const out = run('host-mode');
    expect(out).toMatch(/sandbox key \/proc\/\d+\/ns\/net \(mode host\) joined network 'host'/);
    expect(out).toContain('netnsInfo(key).isHost: true');
    expect(out).toMatch(/interfaces it sees: lo, .*cnm-ex\w+/);
    expect(out).toContain("same as the host's: true");
    await expectBackTo(before);
  });

  it("container-mode: B shares A's key, addresses and loopback", async () => {
    const before = snapshot();
    const out = run('container-mode');
    const keys = [...out.matchAll(/^[AB] \(mode (\w+)\) key: (\S+)$/gm)].map((m) => [m[1], m[2]]);
    expect(keys).toEqual([
      ['namespace', keys[0][1]],
      ['container', keys[0][1]],
    ]);
    expect(out).toContain('same key: true');
    expect(out).toMatch(/addresses in B: lo 127\.0\.0\.1\/8, eth0 \d+\.\d+\.\d+\.\d+\/\d+/);
    expect(out).toContain('same addresses: true');
    expect(out).toContain('B -> localhost:8081 over TCP, echoed: "hello from B via localhost"');
    await expectBackTo(before);
  });

  it('libnetwork-flow: prints each step, from create to delete', async () => {
    const before = snapshot();
    const out = run('libnetwork-flow');
    const steps = [
      /1\. NetworkController\.create: predefined networks none \(null\), host \(host\), bridge \(bridge\)/,
      /2\. newNetwork demo-net: bridge (br-\w+), subnet 10\.214\.0\.0\/24, gateway 10\.214\.0\.1\/24/,
      /3\. createEndpoint ep1: address 10\.214\.0\.2\/24, MAC 02:42:0a:d6:00:02/,
      /4\. newSandbox container1: key \/run\/netns\/cnm-[\w-]+, hosts file \S+\/hosts/,
      /5\. join: eth0 10\.214\.0\.2\/24, default via 10\.214\.0\.1 dev eth0, hosts "10\.214\.0\.2 c1"/,
      /6\. leave: links in the sandbox now lo\n/,
      /7\. endpoint delete: demo-net has 0 endpoints/,
      /8\. sandbox delete: \S+ exists: false, hosts file exists: false/,
      /9\. network delete: bridge br-\w+ exists: false, networks none, host, bridge\n/,
    ];
    let at = 0;
    for (const step of steps) {
      const m = step.exec(out.slice(at));
      expect([step, m !== null]).toEqual([step, true]);
      at += m!.index + m![0].length;
    }
    await expectBackTo(before);
  });

  it('an example whose step fails still removes everything', async () => {
    const before = snapshot();
    // The step after join fails: the sandbox, its veth pair, demo-net and its bridge exist by then.
    const code =
      `const cnm = require(${JSON.stringify(path.dirname(examples))});` +
      'const join = cnm.Endpoint.prototype.join;' +
      "cnm.Endpoint.prototype.join = async function (...args) { await join.apply(this, args); throw new Error('injected failure'); };" +
      `require(${JSON.stringify(path.join(examples, 'libnetwork-flow.js'))});`;
    const child = spawnSync(process.execPath, ['-e', code], { encoding: 'utf8' });
    expect(child.status).toBe(1);
    expect(child.stdout).toContain('4. newSandbox container1');
    expect(child.stdout).not.toContain('5. join');
    expect(child.stderr).toContain('injected failure');
    expectTempDirRemoved(child.stdout);
    await expectBackTo(before);
  });

  it('an example interrupted with SIGINT still removes everything', async () => {
    const before = snapshot();
    const child = spawn(process.execPath, [path.join(examples, 'bridge-mode.js')], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let interrupted = false;
    child.stderr.on('data', (d) => (out += d));
    child.stdout.on('data', (d) => {
      out += d;
      if (!interrupted && out.includes('container B:')) interrupted = child.kill('SIGINT'); // before the echo server is up
    });
    const status = await new Promise((resolve) => child.once('exit', resolve));
    expect(out).toContain('interrupted: cleaning up');
    expect(out).not.toContain('echoed');
    expect(status).toBe(130);
    expectTempDirRemoved(out);
    await expectBackTo(before);
  });
});
