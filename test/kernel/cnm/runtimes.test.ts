// The packed package (npm pack) installed by name with each runtime's own installer (npm, `bun add`,
// `deno install`) from a loopback registry, in a fresh project with a fresh HOME and a PATH that has
// the runtime and nothing else (no compiler, no python, no make): the install runs no script and
// builds nothing, and the seed flow (null, bridge, host and container modes, a published port) runs
// in that runtime. Deno runs with the permissions the README documents (see the deno case), not -A.
// Checked from outside: the address inside the namespace (ip), the sidecar's shared namespace,
// real TCP through the published port, and nothing left afterwards.
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { packDirectories, startRegistry, type LocalRegistry } from '../../helpers/local-registry';
import { describeKernel, uniqueName } from '../../helpers/kernel';

const execFileAsync = promisify(execFile);
const root = path.resolve(__dirname, '..', '..', '..');

/** A runtime's executable: $CNM_TEST_<NAME>, the devDependency's bin, or PATH. */
function runtime(name: 'bun' | 'deno'): string {
  const fromEnv = process.env[`CNM_TEST_${name.toUpperCase()}`];
  if (fromEnv) return fromEnv;
  const bin = path.join(root, 'node_modules', '.bin', name);
  if (existsSync(bin)) return realpathSync(bin);
  const found = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).stdout.trim();
  if (!found) throw new Error(`no ${name}: install the devDependencies (npm ci) or set CNM_TEST_${name.toUpperCase()}`);
  return realpathSync(found);
}

// The Node running the tests. Under a sanitizer (npm run test:sanitizers) process.execPath is
// test/sanitizer/node, which needs variables that the fresh environment here does not carry; the
// package's prebuilt binary is not instrumented anyway.
const nodeBin = process.env.CNM_SANITIZER_NODE || process.execPath;

/** npm's own CLI script, run by this Node (so the PATH needs nothing but node). */
const npmCli = path.join(path.dirname(nodeBin), '..', 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js');

interface Ready {
  runtime: string;
  nullKey: string;
  webKey: string;
  sidecarKey: string;
  hostMode: string;
  address: string;
  hostPort: number;
  mistake: string;
}

/** Installs and runs in a fresh project for one runtime. */
interface Case {
  name: 'node' | 'bun' | 'deno';
  /** The executables its PATH holds (name -> real file). */
  tools: () => Record<string, string>;
  install: (registry: string) => string[];
  /** The command that runs the flow, with the flow's temporary folder (its state directory is `state` in it). */
  run: (tmp: string) => string[];
  /** Extra environment for install and run. */
  env: (home: string, registry: string) => Record<string, string>;
}

const FLOW = path.join(root, 'test', 'fixtures', 'runtime-flow.mjs');

const CASES: Case[] = [
  {
    name: 'node',
    tools: () => ({ node: nodeBin }),
    install: (registry) => ['node', npmCli, 'install', 'cnm-ts', `--registry=${registry}`, '--no-audit', '--no-fund'],
    run: () => ['node', 'flow.mjs'],
    env: (home) => ({ npm_config_cache: path.join(home, 'npm-cache'), npm_config_update_notifier: 'false' }),
  },
  {
    name: 'bun',
    tools: () => ({ bun: runtime('bun') }),
    install: (registry) => ['bun', 'add', 'cnm-ts', `--registry=${registry}`],
    run: () => ['bun', 'flow.mjs'],
    env: (home) => ({ BUN_INSTALL_CACHE_DIR: path.join(home, 'bun-cache') }),
  },
  {
    name: 'deno',
    tools: () => ({ deno: runtime('deno') }),
    install: () => ['deno', 'install'],
    // The README's flags: the addon, the state directory's owner, and reading the state and run
    // directories, the namespace folder and the host's resolv.conf files; no write, env, net or run
    // permission.
    // --no-prompt: anything more fails instead of waiting for an answer.
    run: (tmp) => [
      'deno',
      'run',
      '--no-prompt',
      '--allow-ffi=node_modules',
      '--allow-sys=uid',
      `--allow-read=${path.join(tmp, 'state')},${path.join(tmp, 'run')},/run/netns,/etc/resolv.conf,/run/systemd/resolve/resolv.conf`,
      'flow.mjs',
    ],
    env: (home, registry) => ({ NPM_CONFIG_REGISTRY: registry, DENO_DIR: path.join(home, 'deno-dir'), DENO_NO_UPDATE_CHECK: '1' }),
  },
];

/** Runs `argv` in `cwd` with exactly `env` (async: the registry answers from this process). */
async function run(argv: string[], cwd: string, env: Record<string, string>): Promise<{ stdout: string; ms: number }> {
  const started = Date.now();
  try {
    const { stdout } = await execFileAsync(argv[0], argv.slice(1), { cwd, env, encoding: 'utf8', timeout: 180_000 });
    return { stdout, ms: Date.now() - started };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${argv.join(' ')} failed: ${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`);
  }
}

/** Sends `text` to 127.0.0.1:port and returns what comes back before the peer closes. */
function tcpEcho(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.end(text));
    let answer = '';
    socket.setTimeout(10_000, () => socket.destroy(new Error('timed out')));
    socket.on('data', (chunk) => (answer += chunk.toString()));
    socket.on('end', () => resolve(answer));
    socket.on('error', reject);
  });
}

/** The names of the links in the namespace at `key` (or the host's), through ip(8). */
async function links(key?: string): Promise<{ ifname: string; addr_info?: { local: string; prefixlen: number }[] }[]> {
  const argv = key ? ['nsenter', `--net=${key}`, 'ip', '-j', 'addr'] : ['ip', '-j', 'addr'];
  return JSON.parse((await execFileAsync(argv[0], argv.slice(1), { encoding: 'utf8' })).stdout);
}

const PREBUILT = path.join(root, 'prebuilds', 'linux-x64-glibc', 'cnm.node');
const inCi = process.env.CI === 'true' || process.env.CI === '1';
// The packed package carries the prebuilt binaries (`npm run prebuilds`, which CI runs): without
// them this is skipped outside CI, and a failure in CI.
const describeWithPrebuilds = existsSync(PREBUILT) || inCi ? describeKernel : describe.skip;

describeWithPrebuilds('the packed package in Node, Bun and Deno', () => {
  let tmp: string;
  let registry: LocalRegistry;

  beforeAll(async () => {
    if (!existsSync(PREBUILT)) throw new Error('no prebuilds/linux-x64-glibc/cnm.node: run `npm run prebuilds` first');
    tmp = mkdtempSync(path.join(os.tmpdir(), 'cnm-runtimes-'));
    // The package's dependencies come from the same registry (the runtimes reach no other).
    const deps = ['debug', 'ms', 'dns-packet', '@leichtgewicht/ip-codec'].map((name) => path.join(root, 'node_modules', name));
    registry = await startRegistry(await packDirectories([root, ...deps], tmp));
  }, 120_000);

  afterAll(async () => {
    await registry?.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  it.each(CASES.map((c, i) => [c.name, c, i] as const))(
    '%s: installs with no script and no compiler, and runs the seed flow',
    async (_name, c, index) => {
      const app = path.join(tmp, `app-${c.name}`);
      const home = path.join(tmp, `home-${c.name}`);
      const bin = path.join(tmp, `bin-${c.name}`);
      for (const dir of [app, home, bin]) mkdirSync(dir, { recursive: true });
      for (const [name, file] of Object.entries(c.tools())) symlinkSync(file, path.join(bin, name));
      const deps = c.name === 'deno' ? { dependencies: { 'cnm-ts': '*' } } : {};
      writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: `app-${c.name}`, private: true, type: 'module', ...deps }));
      // A copy, not an import: from test/fixtures, 'cnm-ts' would resolve to this checkout itself.
      copyFileSync(FLOW, path.join(app, 'flow.mjs'));
      const env = { PATH: bin, HOME: home, TMPDIR: os.tmpdir(), ...c.env(home, registry.url) };

      const install = await run(c.install(registry.url), app, env);
      console.log(`${c.name}: install took ${install.ms} ms`);
      const installed = path.join(app, 'node_modules', 'cnm-ts');
      expect(readdirSync(path.join(installed, 'prebuilds'))).toContain('linux-x64-glibc');
      expect(existsSync(path.join(installed, 'build'))).toBe(false);

      // Own names per runtime: a bridge left by one run cannot be taken for another's.
      const bridge = uniqueName('br-rt');
      const flowTmp = mkdtempSync(path.join(tmp, 'state-'));
      // The state directory exists, as on a restart: its owner and mode are checked.
      mkdirSync(path.join(flowTmp, 'state'), { mode: 0o700 });
      const flowArgs = [flowTmp, uniqueName('cnm-rt'), bridge, `10.${91 + index}.0.0/24`];
      const argv = c.run(flowTmp);
      const child: ChildProcess = spawn(argv[0], [...argv.slice(1), ...flowArgs], { cwd: app, env, stdio: ['pipe', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout?.on('data', (chunk) => (out += chunk.toString()));
      child.stderr?.on('data', (chunk) => (err += chunk.toString()));
      const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
      let server: ChildProcess | undefined;
      try {
        const ready = await new Promise<Ready>((resolve, reject) => {
          const poll = setInterval(() => {
            const line = /^READY (.*)$/m.exec(out);
            if (line) resolve(JSON.parse(line[1]) as Ready);
          }, 50);
          void exited.then((code) => reject(new Error(`flow exited (${code}) before READY:\n${out}\n${err}`)));
          void exited.finally(() => clearInterval(poll));
          setTimeout(() => reject(new Error(`no READY after 120 s:\n${out}\n${err}`)), 120_000).unref();
        }).finally(() => undefined);
        expect(ready).toMatchObject({ runtime: c.name, sidecarKey: ready.webKey, hostMode: 'host', mistake: 'NOT_FOUND' });

        const nullLinks = await links(ready.nullKey);
        expect(nullLinks.map((l) => l.ifname)).toEqual(['lo']);
        const webLinks = await links(ready.webKey);
        const eth = webLinks.find((l) => l.ifname !== 'lo');
        expect(eth?.addr_info?.map((a) => `${a.local}/${a.prefixlen}`)).toContain(ready.address);

        // A server in the web sandbox's namespace, reached from here through the published port.
        const serverCode = "require('net').createServer((s) => s.pipe(s)).listen(8080, '0.0.0.0', () => console.log('up'))";
        server = spawn('nsenter', [`--net=${ready.webKey}`, process.execPath, '-e', serverCode], { stdio: ['ignore', 'pipe', 'inherit'] });
        await new Promise((resolve) => server?.stdout?.once('data', resolve));
        expect(await tcpEcho(ready.hostPort, `hello from ${c.name}`)).toBe(`hello from ${c.name}`);
      } finally {
        server?.kill('SIGKILL');
        child.stdin?.end('go\n');
        await exited;
      }
      expect(out).toContain('DONE');
      expect((await links()).map((l) => l.ifname)).not.toContain(bridge);

      if (c.name === 'node') {
        // Without a binary for the platform: the error names a command that works in an application.
        rmSync(path.join(installed, 'prebuilds'), { recursive: true });
        const probe = "import('cnm-ts').then((m) => m.NetworkController.create()).catch((e) => console.log(e.code + '\\n' + e.message))";
        const { stdout } = await run(['node', '-e', probe], app, env);
        expect(stdout).toMatch(/^NATIVE_UNAVAILABLE\ncannot load the cnm-ts addon; tried:\n/);
        expect(stdout).toContain('npm install --no-save node-addon-api@8 && npm explore cnm-ts -- npm run build:native');
      }
      if (c.name === 'deno') {
        // Without --allow-ffi: the error says which flag loads the addon, not how to build one.
        const probe = "import('cnm-ts').then((m) => m.NetworkController.create()).catch((e) => console.log(e.code + '\\n' + e.message))";
        writeFileSync(path.join(app, 'probe.mjs'), probe);
        const { stdout } = await run(['deno', 'run', '--no-prompt', 'probe.mjs'], app, env);
        expect(stdout).toMatch(/^NATIVE_UNAVAILABLE\ncannot load the cnm-ts addon; tried:\n/);
        expect(stdout).toContain('run with --allow-ffi=node_modules');
      }
    },
    420_000,
  );
});
